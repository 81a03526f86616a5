"""Names and labels: every code a lead, technician or HQ reader sees, with its Chinese and
English label, in one place for the dashboard, the CLI tables and the XLSX reports.

Codes stay the stored values and the API's vocabulary; people read labels. Chinese comes
first (leads and technicians work in Chinese), English for engineers. Regions and staff
come from the fleet registry, so their labels are loaded from the database
(``Labels.load``); the rest is fixed here and checked against the code that uses it
(``tests/core/test_labels.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from core.db import Conn

Lang = Literal["zh", "en"]
Pair = tuple[str, str]  # (中文, English)

STATUS: dict[str, Pair] = {
    "new": ("新建", "New"),
    "scheduled": ("已排期", "Scheduled"),
    "confirmed": ("已确认", "Confirmed"),
    "dispatched": ("已派工", "Dispatched"),
    "in_progress": ("维修中", "In progress"),
    "completed": ("已完工", "Completed"),
    "verified": ("已回访", "Verified"),
    "on_hold": ("暂停", "On hold"),
    "cancelled": ("已取消", "Cancelled"),
}
ORDER_TYPE: dict[str, Pair] = {
    "repair": ("维修工单", "Repair"),
    "preventive": ("维护保养工作单", "Preventive maintenance"),
    "predictive": ("预测性维护", "Predictive maintenance"),
    "commissioning": ("设备调试单", "Commissioning"),
    "software_update": ("软件更新单", "Software update"),
}
# The manual's form each order type is written on (维修工单, 维护保养工作单, …).
ORDER_FORM: dict[str, Pair] = {
    "repair": ("维修工单", "Repair order"),
    "preventive": ("维护保养工作单", "Maintenance work order"),
    "predictive": ("维护保养工作单", "Maintenance work order"),
    "commissioning": ("设备调试单", "Commissioning sheet"),
    "software_update": ("软件更新单", "Software update sheet"),
}
WARRANTY: dict[str, Pair] = {
    "in_warranty": ("保内", "In warranty"),
    "out_of_warranty": ("保外", "Out of warranty"),
}
FAULT_KIND: dict[str, Pair] = {
    "cooling_degradation": ("IGBT散热不良", "IGBT cooling degradation"),
    "stir_bearing_wear": ("搅拌轴承磨损", "Stir bearing wear"),
    "dosing_tube_clog": ("投料软管堵塞", "Dosing tube clog"),
    "wok_sensor_drift": ("锅温传感器漂移", "Wok temperature sensor drift"),
    "heating_coil_degradation": ("加热线圈老化", "Heating coil degradation"),
    "exhaust_fan_failure": ("排烟风机故障", "Exhaust fan failure"),
}
COMPONENT: dict[str, Pair] = {
    "igbt_cooling": ("IGBT散热", "IGBT cooling"),
    "stir_drive": ("搅拌驱动", "Stir drive"),
    "dosing_pump": ("投料泵", "Dosing pump"),
    "wok_temp_sensor": ("锅温传感器", "Wok temperature sensor"),
    "induction_coil": ("电磁加热线圈", "Induction coil"),
    "exhaust_fan": ("排烟风机", "Exhaust fan"),
}
SEVERITY: dict[str, Pair] = {
    "low": ("低", "Low"),
    "medium": ("中", "Medium"),
    "high": ("高", "High"),
    "critical": ("紧急", "Critical"),
}
# The robot's reported state (docs/telemetry.md) and the dashboard's health badge.
ROBOT_STATE: dict[str, Pair] = {
    "idle": ("待机", "Idle"),
    "preheat": ("预热", "Preheating"),
    "cooking": ("烹饪中", "Cooking"),
    "cleaning": ("清洗中", "Cleaning"),
    "fault": ("故障", "Fault"),
    "maintenance": ("维护中", "Maintenance"),
}
HEALTH: dict[str, Pair] = {
    "ok": ("正常", "OK"),
    "alert": ("预警", "Alert"),
    "fault": ("故障", "Fault"),
    "offline": ("离线", "Offline"),
}
CALLBACK_KIND: dict[str, Pair] = {
    "phone_guided": ("电话指导回访", "Phone-guided fix"),
    "uncertain_fix": ("未彻底修复回访", "Uncertain fix"),
    "verification": ("完工回访", "Verification"),
}
ANOMALY_STATUS: dict[str, Pair] = {
    "open": ("待处理", "Open"),
    "acknowledged": ("已确认", "Acknowledged"),
    "cleared": ("已解除", "Cleared"),
}
# The robots' measurements (docs/telemetry.md), with their units.
METRIC: dict[str, Pair] = {
    "wok_temp_c": ("锅温 (°C)", "Wok temperature (°C)"),
    "heater_power_w": ("加热功率 (W)", "Heater power (W)"),
    "igbt_temp_c": ("IGBT温度 (°C)", "IGBT temperature (°C)"),
    "stir_current_a": ("搅拌电流 (A)", "Stir current (A)"),
    "stir_rpm": ("搅拌转速 (rpm)", "Stir speed (rpm)"),
    "stir_vib_mm_s": ("搅拌振动 (mm/s)", "Stir vibration (mm/s)"),
    "pump_pressure_kpa": ("投料泵压力 (kPa)", "Pump pressure (kPa)"),
    "dose_flow_ml_s": ("投料流量 (ml/s)", "Dosing flow (ml/s)"),
    "exhaust_fan_rpm": ("排烟风机转速 (rpm)", "Exhaust fan speed (rpm)"),
    "cabinet_temp_c": ("机柜温度 (°C)", "Cabinet temperature (°C)"),
}
# Where a customer's report or question came from (work_orders.origin, consultations.channel).
CHANNEL: dict[str, Pair] = {
    "scheduler": ("系统排程", "Scheduler"),
    "phone": ("电话", "Phone"),
    "wechat": ("微信", "WeChat"),
    "email": ("邮件", "E-mail"),
    "complaint": ("投诉", "Complaint"),
    "walk_in": ("到店", "Walk-in"),
    "revisit": ("回访返修", "Revisit"),
}
ROLE: dict[str, Pair] = {
    "admin": ("总部", "HQ"),
    "engineer": ("工程师", "Engineer"),
    "lead": ("组长", "Lead"),
    "technician": ("维保技工", "Technician"),
    "viewer": ("只读", "Viewer"),
}
BOOLEAN: dict[bool, Pair] = {True: ("是", "Yes"), False: ("否", "No")}

VOCABULARIES: dict[str, Mapping[str, Pair]] = {
    "status": STATUS,
    "order_type": ORDER_TYPE,
    "order_form": ORDER_FORM,
    "warranty": WARRANTY,
    "fault_kind": FAULT_KIND,
    "component": COMPONENT,
    "severity": SEVERITY,
    "robot_state": ROBOT_STATE,
    "health": HEALTH,
    "callback_kind": CALLBACK_KIND,
    "anomaly_status": ANOMALY_STATUS,
    "role": ROLE,
    "metric": METRIC,
    "channel": CHANNEL,
}


# Report columns whose values are codes, and the vocabulary that names them.
CODE_COLUMNS: dict[str, str] = {
    "type": "order_type",
    "status": "status",
    "component": "component",
    "kind": "order_type",
    "fault_kind": "fault_kind",
    "warranty": "warranty",
    "channel": "channel",
    "origin": "channel",
}


def pick(pair: Pair, lang: Lang) -> str:
    return pair[0] if lang == "zh" else pair[1]


def label(vocabulary: str, code: str | None, lang: Lang = "zh") -> str:
    """The label of ``code`` in ``vocabulary``; an unknown code is shown as it is.

    >>> label("status", "in_progress"), label("status", "in_progress", "en")
    ('维修中', 'In progress')
    >>> label("fault_kind", "exhaust_fan_failure")
    '排烟风机故障'
    """
    if code is None:
        return "-"
    pair = VOCABULARIES[vocabulary].get(code)
    return code if pair is None else pick(pair, lang)


def both(vocabulary: str, code: str | None) -> str:
    """'中文 English', for the places both readers share (CLI tables, XLSX headers).

    >>> both("order_type", "repair")
    '维修工单 Repair'
    """
    if code is None:
        return "-"
    pair = VOCABULARIES[vocabulary].get(code)
    return code if pair is None else f"{pair[0]} {pair[1]}"


def yes_no(value: bool | None, lang: Lang = "zh") -> str:
    return "-" if value is None else pick(BOOLEAN[bool(value)], lang)


@dataclass(frozen=True)
class Labels:
    """The registry's names: regions (华北 North China) and staff (曾广阔), by code."""

    regions: dict[str, Pair] = field(default_factory=dict)
    staff: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, conn: Conn) -> Labels:
        from core.fleet_repository import region_names, staff_names

        return cls(region_names(conn), staff_names(conn))

    def region(self, code: str | None, lang: Lang = "zh") -> str:
        if code is None:
            return "-"
        pair = self.regions.get(code)
        return code if pair is None else pick(pair, lang)

    def value(self, column: str, value: object, lang: Lang = "zh") -> object:
        """A report cell in words: regions and coded columns by name, yes/no for flags;
        numbers, dates and free text as they are."""
        if isinstance(value, bool):
            return yes_no(value, lang)
        if column == "region" and isinstance(value, str):
            return self.region(value, lang)
        if column in CODE_COLUMNS and isinstance(value, str):
            return label(CODE_COLUMNS[column], value, lang)
        return value

    def person(self, staff_id: str | None) -> str:
        """A staff member's display name (曾广阔), or the id of a system actor."""
        if staff_id is None:
            return "-"
        return self.staff.get(staff_id, staff_id)
