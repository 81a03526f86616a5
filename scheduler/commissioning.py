"""AIC客户处设备调试: installation and commissioning work orders with a checklist.

A robot whose commissioning is pending (new installation) or failed gets one
commissioning order; completing it records the checklist. All items ok → ``pass``
(the first result of each robot is what the out-of-box pass rate 开箱合格率 counts),
any item failed → ``fail`` and a new commissioning order on the next run.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from core.clock import local_date
from core.db import Conn
from scheduler import repository as repo

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
DURATION = timedelta(minutes=180)
DUE_AFTER = timedelta(days=3)


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


def generate(
    conn: Conn, *, now: datetime, robot_ids: list[str] | None = None, actor: str = "scheduler"
) -> list[int]:
    """One commissioning order per robot pending or failed commissioning (idempotent)."""
    from scheduler.orders import Planner, Policy

    planner = Planner(conn, now=now, policy=Policy())
    status: dict[str, str] = dict(
        conn.execute(
            "SELECT robot_id, commissioning FROM robots WHERE commissioning <> 'pass' AND active"
        ).fetchall()
    )
    created = []
    targets = [r for r in status if robot_ids is None or r in robot_ids]
    for ctx in repo.robots(conn, now=now, robot_ids=targets) if targets else []:
        key = f"cm:{ctx.robot_id}"
        if key in planner.open_keys:
            continue
        due_at = now + DUE_AFTER
        retry = status[ctx.robot_id] == "fail"
        fields: dict[str, Any] = {
            "type": "commissioning",
            "dedup_key": key,
            "robot_id": ctx.robot_id,
            "site_id": ctx.site_id,
            "region": ctx.region,
            "customer_id": ctx.customer_id,
            "title": "重新调试 / Re-commissioning"
            if retry
            else "设备安装调试 / Installation and commissioning",
            "tasks": ["commissioning"],
            "priority": 2,
            "due_at": due_at,
            "warranty": "in_warranty",
            "evidence": {"commissioning": status[ctx.robot_id], "checklist": list(CHECKLIST)},
        }
        fields.update(planner.schedule(ctx, due_at=due_at, duration=DURATION))
        order_id = repo.insert_order(
            conn, fields=fields, actor=actor, now=now, day=local_date(now, ctx.timezone)
        )
        if order_id is not None:
            planner.open_keys.add(key)
            created.append(order_id)
    return created


def record(
    conn: Conn, *, order: dict[str, Any], checklist: dict[str, bool], actor: str, at: datetime
) -> bool:
    """Store the visit's checklist and set the robot's commissioning result."""
    from psycopg.types.json import Jsonb

    from scheduler.warranty import restart_from

    passed = all(checklist.values())
    conn.execute(
        """INSERT INTO commissioning_results (robot_id, work_order_id, at, passed, checklist, actor)
           VALUES (%s, %s, %s, %s, %s, %s)""",
        (order["robot_id"], order["id"], at, passed, Jsonb(checklist), actor),
    )
    conn.execute(
        "UPDATE robots SET commissioning = %s, commissioned_at = CASE WHEN %s THEN %s"
        " ELSE commissioned_at END WHERE robot_id = %s",
        ("pass" if passed else "fail", passed, at, order["robot_id"]),
    )
    if passed:
        restart_from(conn, robot_id=order["robot_id"], start=at)
    return passed
