"""Commissioning orders (AIC客户处设备调试): one per robot pending or failed commissioning."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from core.clock import local_date
from core.db import Conn
from scheduler import repository as repo
from scheduler.planner import Planner, Policy
from service import repository as orders_repo
from service.commissioning import CHECKLIST

DURATION = timedelta(minutes=180)
DUE_AFTER = timedelta(days=3)


def generate(
    conn: Conn, *, now: datetime, robot_ids: list[str] | None = None, actor: str = "scheduler"
) -> list[int]:
    """One commissioning order per robot pending or failed commissioning (idempotent)."""
    planner = Planner(conn, now=now, policy=Policy())
    status = repo.commissioning_due(conn)
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
        planner.place(fields, ctx, due_at=due_at, duration=DURATION)
        order_id = orders_repo.insert_order(
            conn, fields=fields, actor=actor, now=now, day=local_date(now, ctx.timezone)
        )
        if order_id is not None:
            planner.open_keys.add(key)
            created.append(order_id)
    return created
