"""AIC客户处设备调试: installation and commissioning work orders with a checklist.

A robot whose commissioning is pending (new installation) or failed gets one
commissioning order; completing it records the checklist. All items ok → ``pass``
(the first result of each robot is what the out-of-box pass rate 开箱合格率 counts),
any item failed → ``fail`` and a new commissioning order on the next run.
"""

from __future__ import annotations

# Item code -> (zh, en). The order of the visit.
CHECKLIST: dict[str, tuple[str, str]] = {
    "site_survey": ("安装位置与通风确认", "Installation position and ventilation checked"),
    "power_supply": ("电源电压与接地检测", "Supply voltage and earthing measured"),
    "exhaust_connection": ("排烟管道连接", "Exhaust duct connected"),
    "water_dosing": ("供水与投料管路连接", "Water and dosing lines connected"),
    "heating_test": ("加热功率测试", "Heater power test"),
    "stir_test": ("搅拌电机空载/负载测试", "Stir motor unloaded and loaded test"),
    "dosing_test": ("投料泵流量测试", "Dosing-pump flow test"),
    "wok_sensor_check": (
        "锅温传感器对比校准",
        "Wok temperature sensor checked against a reference",
    ),
    "network_telemetry": ("联网与遥测上报确认", "Network and telemetry reporting confirmed"),
    "trial_cooking": ("试菜", "Trial dishes cooked"),
    "customer_training": ("客户操作与保养培训", "Customer trained in operation and care"),
}


def checklist_problems(checklist: object) -> str | None:
    """None if the checklist answers every item with true/false, else what is wrong."""
    if not isinstance(checklist, dict):
        return "commissioning needs the checklist: " + ", ".join(CHECKLIST)
    missing = [k for k in CHECKLIST if not isinstance(checklist.get(k), bool)]
    unknown = sorted(set(checklist) - set(CHECKLIST))
    if unknown:
        return "unknown checklist items: " + ", ".join(unknown)
    if missing:
        return "checklist items without a result: " + ", ".join(missing)
    return None
