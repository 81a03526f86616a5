"""Parts forecast (备件需求预测): the parts the next weeks of planned work need, per region."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from core.db import Conn
from scheduler import repository as repo
from scheduler.orders import upcoming_preventive
from scheduler.planner import Policy
from service.parts import REPAIR_TYPES, catalog, stock


def forecast(
    conn: Conn, *, now: datetime, days: int = 30, region: str | None = None
) -> list[dict[str, Any]]:
    """Parts needed by the next ``days`` of planned work, per region and part.

    Planned work = open work orders due in the period plus preventive tasks that come
    due in it and have no order yet (the scheduler's own due-date rule). The first task
    of a repair or predictive order takes its parts from ``task_parts``; preventive
    tasks (also those merged into a predictive visit) from their plan. ``to_order`` is
    what keeps the minimum after that work: max(0, needed + minimum − on hand).
    """
    plan_lines, repair_lines = repo.task_part_lines(conn)
    until = now + timedelta(days=days)

    def parts_for(model: str, task: str, repair: bool = False) -> list[tuple[str, int]]:
        if repair and task in repair_lines:
            return repair_lines[task]
        return plan_lines.get((model, task), repair_lines.get(task, []))

    need: dict[tuple[str, str], int] = defaultdict(int)
    orders: dict[tuple[str, str], set[str]] = defaultdict(set)
    open_keys = set()
    for o in repo.open_order_tasks(conn, due_before=until, region=region):
        open_keys.add(o[4])
        for i, task in enumerate(o[2]):
            for code, qty in parts_for(o[1], task, repair=i == 0 and o[5] in REPAIR_TYPES):
                need[(o[0], code)] += qty
                orders[(o[0], code)].add(o[3])
    for ctx, task_code, _ in upcoming_preventive(
        conn, now=now, policy=Policy(horizon=timedelta(days=days))
    ):
        if (region and ctx.region != region) or f"pm:{ctx.robot_id}:{task_code}" in open_keys:
            continue
        for code, qty in parts_for(ctx.model, task_code):
            need[(ctx.region, code)] += qty
    levels = {(s["region"], s["part_code"]): s for s in stock(conn, region=region)}
    parts = catalog(conn)
    out = []
    for key in sorted(set(need) | {k for k, v in levels.items() if v["below_min"]}):
        s = levels.get(key)
        on_hand = int(s["on_hand"]) if s else 0
        minimum = int(s["min_level"]) if s else 0
        needed = need.get(key, 0)
        part = parts.get(key[1], {})
        out.append(
            {
                "region": key[0],
                "part_code": key[1],
                "name_zh": part.get("name_zh"),
                "name_en": part.get("name_en"),
                "needed": needed,
                "open_orders": len(orders.get(key, ())),
                "on_hand": on_hand,
                "min_level": minimum,
                "to_order": max(0, needed + minimum - on_hand),
            }
        )
    return out
