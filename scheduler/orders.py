"""Order generation: preventive orders from the plans, predictive orders from anomalies."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from core.clock import local_date
from core.db import Conn
from scheduler import repository as repo
from scheduler.due import Due, LastDone, Usage, due
from scheduler.notify import NotifyConfig
from scheduler.planner import Generated, Planner, Policy, announce, warranty_status
from service import repository as orders_repo

logger = logging.getLogger(__name__)

# Anomaly kind -> (task code, order type, title zh, title en)
PREDICTIVE_TASKS: dict[str, tuple[str, str, str, str]] = {
    "cooling_degradation": (
        "coil-cooling-inspect",
        "predictive",
        "清洁或更换IGBT风扇及滤网",
        "Clean or replace the IGBT fan and filter",
    ),
    "stir_bearing_wear": (
        "stir-bearing-replace",
        "predictive",
        "更换搅拌轴承并润滑齿轮箱",
        "Replace the stir bearing and lubricate the gearbox",
    ),
    "dosing_tube_clog": (
        "dosing-tube-replace",
        "predictive",
        "疏通或更换投料泵软管",
        "Clear or replace the dosing-pump tubing",
    ),
    "wok_sensor_drift": (
        "wok-sensor-calibrate",
        "predictive",
        "锅温传感器校准或更换",
        "Calibrate or replace the wok temperature sensor",
    ),
    "heating_coil_degradation": (
        "coil-inspect",
        "predictive",
        "检修电磁加热线圈",
        "Inspect and repair the induction coil",
    ),
    "exhaust_fan_failure": (
        "exhaust-fan-replace",
        "repair",
        "更换排烟风机",
        "Replace the exhaust fan",
    ),
}
PRIORITY = {"critical": 1, "high": 2, "medium": 3, "low": 4}
DUE_BY_PRIORITY = {
    1: timedelta(hours=12),
    2: timedelta(days=3),
    3: timedelta(days=7),
    4: timedelta(days=14),
}


def _since_plan(loaded_at: datetime, installed: datetime, usage: Usage, now: datetime) -> LastDone:
    """No completion on record: count from when the plan came into force (or the install).

    Counters at that moment are estimated from their current value and growth rate,
    so a new deployment does not open an order for every task ever due.
    """
    start = max(loaded_at, installed)
    days = max(0.0, (now - start).total_seconds() / 86400)

    def back(value: float | None, rate: float) -> float | None:
        return None if value is None else max(0.0, value - rate * days)

    return LastDone(
        start,
        back(usage.cycles_total, usage.cycles_per_day),
        back(usage.run_hours, usage.run_hours_per_day),
        back(usage.heater_hours, usage.heater_hours_per_day),
    )


def upcoming_preventive(
    conn: Conn,
    *,
    now: datetime,
    policy: Policy = Policy(),
    robot_ids: list[str] | None = None,
    stale: list[str] | None = None,
) -> Iterator[tuple[repo.RobotCtx, str, Due]]:
    """(robot, task code, due) for every plan task due within the policy's horizon.

    Robots whose counters are older than ``policy.no_data_after`` are appended to
    ``stale``: calendar intervals still apply to them, usage is reported, not guessed.
    """
    plans = repo.active_plans(conn)
    last = repo.last_completions(conn)
    for ctx in repo.robots(conn, now=now, robot_ids=robot_ids):
        plan = plans.get(ctx.model)
        if plan is None:
            continue
        usage = ctx.usage
        if ctx.last_seen is None or now - ctx.last_seen > policy.no_data_after:
            if stale is not None:
                stale.append(ctx.robot_id)
            usage = Usage(None, None, None)
        installed = datetime.combine(ctx.install_date, datetime.min.time(), now.tzinfo)
        for task in plan.tasks:
            done = last.get((ctx.robot_id, task.code)) or _since_plan(
                plan.loaded_at, installed, usage, now
            )
            d = due(task, now=now, installed=installed, last=done, usage=usage)
            if d.at <= now + policy.horizon:
                yield ctx, task.code, d


def generate_preventive(
    conn: Conn,
    *,
    now: datetime,
    policy: Policy = Policy(),
    robot_ids: list[str] | None = None,
    notify: NotifyConfig | None = None,
) -> Generated:
    """Create preventive orders for tasks due within the horizon (idempotent)."""
    out = Generated()
    tasks = {
        (model, t.code): t for model, plan in repo.active_plans(conn).items() for t in plan.tasks
    }
    planner = Planner(conn, now=now, policy=policy)
    hosts = orders_repo.open_orders_by_robot(conn, types=("predictive", "repair"))
    pending: list[tuple[dict[str, Any], repo.RobotCtx]] = []
    for ctx, code, d in upcoming_preventive(
        conn, now=now, policy=policy, robot_ids=robot_ids, stale=out.robots_without_data
    ):
        task = tasks[(ctx.model, code)]
        predictive = hosts.get(ctx.robot_id, [])
        host = next((p for p in predictive if abs(p["due_at"] - d.at) <= policy.merge_within), None)
        if host is not None:
            if task.code not in host["tasks"]:
                host["tasks"].append(task.code)
                orders_repo.update_order(
                    conn,
                    order_id=host["id"],
                    changes={"tasks": host["tasks"]},
                    actor="scheduler",
                    from_status=None,
                    note=None,
                    at=now,
                )
                out.merged += 1
            continue
        key = f"pm:{ctx.robot_id}:{task.code}"
        if key in planner.open_keys:
            out.existing += 1
            continue
        fields = {
            "type": "preventive",
            "dedup_key": key,
            "robot_id": ctx.robot_id,
            "site_id": ctx.site_id,
            "region": ctx.region,
            "customer_id": ctx.customer_id,
            "title": f"{task.title_zh} / {task.title_en}",
            "tasks": [task.code],
            "priority": 2 if d.at < now else 3,
            "due_at": d.at,
            "warranty": warranty_status(ctx, now),
            "evidence": {"due_by": d.reason, "plan_task": task.code},
        }
        planner.place(
            fields,
            ctx,
            due_at=max(d.at, now + policy.lead_time),
            duration=timedelta(minutes=task.duration_min),
        )
        planner.open_keys.add(key)  # taken for this run, whatever the insert finds
        pending.append((fields, ctx))
        if len(pending) >= INSERT_BATCH:
            _insert_pending(conn, pending, out, notify=notify, now=now)
    _insert_pending(conn, pending, out, notify=notify, now=now)
    return out


INSERT_BATCH = 500


def _insert_pending(
    conn: Conn,
    pending: list[tuple[dict[str, Any], repo.RobotCtx]],
    out: Generated,
    *,
    notify: NotifyConfig | None,
    now: datetime,
) -> None:
    """Insert the run's new orders in one pipelined batch. The unique index still decides:
    another scheduler may have inserted one meanwhile (then it counts as existing)."""
    ids = repo.insert_orders(
        conn,
        orders=[(f, local_date(now, ctx.timezone)) for f, ctx in pending],
        actor="scheduler",
        now=now,
    )
    for order_id, (_, ctx) in zip(ids, pending, strict=True):
        if order_id is None:
            out.existing += 1
        else:
            out.created.append(order_id)
            announce(conn, notify, order_id, now=now, tz=ctx.timezone)
    pending.clear()


def generate_predictive(
    conn: Conn, *, now: datetime, policy: Policy = Policy(), notify: NotifyConfig | None = None
) -> Generated:
    """Turn open anomalies into predictive (or repair) orders, one open per robot and component."""
    out = Generated()
    planner = Planner(conn, now=now, policy=policy)
    ctxs = {c.robot_id: c for c in repo.robots(conn, now=now)}
    for a in repo.open_anomalies(conn):
        mapping = PREDICTIVE_TASKS.get(a["kind"])
        ctx = ctxs.get(a["robot_id"])
        if mapping is None or ctx is None or a["severity"] == "low":
            continue
        priority = PRIORITY[a["severity"]]
        pred = a["predicted_failure"]
        if pred is not None and pred - now <= timedelta(days=3):
            priority = 1
        # The early end of the estimate's interval: a visit planned for the median estimate
        # comes after the failure half of the time.
        early = min(pred, a.get("failure_low") or pred) if pred is not None else None
        due_at = (
            (early - policy.failure_margin)
            if early is not None
            else now + DUE_BY_PRIORITY[priority]
        )
        due_at = max(due_at, now + policy.lead_time)
        key = f"pd:{a['robot_id']}:{a['component']}"
        if key in planner.open_keys:
            out.existing += 1
            continue
        fields = _predictive_fields(a, ctx, key=key, priority=priority, due_at=due_at, now=now)
        planner.place(fields, ctx, due_at=due_at, duration=timedelta(minutes=90))
        order_id = orders_repo.insert_order(
            conn, fields=fields, actor="scheduler", now=now, day=local_date(now, ctx.timezone)
        )
        if order_id is None:
            out.existing += 1
            continue
        planner.open_keys.add(key)
        out.created.append(order_id)
        announce(conn, notify, order_id, now=now, tz=ctx.timezone)
        # Preventive tasks due near this visit ride along instead of a second trip.
        out.merged += _absorb_preventive(conn, order_id, ctx.robot_id, due_at, policy, now)
    return out


def _predictive_fields(
    a: dict[str, Any],
    ctx: repo.RobotCtx,
    *,
    key: str,
    priority: int,
    due_at: datetime,
    now: datetime,
) -> dict[str, Any]:
    """The new order's fields from the anomaly: task, title, symptom and evidence."""
    task, kind, title_zh, title_en = PREDICTIVE_TASKS[a["kind"]]
    pred = a["predicted_failure"]
    return {
        "type": kind,
        "dedup_key": key,
        "robot_id": ctx.robot_id,
        "site_id": ctx.site_id,
        "region": ctx.region,
        "customer_id": ctx.customer_id,
        "title": f"{title_zh} / {title_en}",
        "tasks": [task],
        "symptom": f"{a['kind']} ({a['detector']} {a['model_version']}, score {a['score']:.1f})",
        "priority": priority,
        "due_at": due_at,
        "warranty": warranty_status(ctx, now),
        "anomaly_id": a["id"],
        "evidence": {
            "kind": a["kind"],
            "detector": a["detector"],
            "model_version": a["model_version"],
            "score": a["score"],
            "window": [a["window_start"].isoformat(), a["window_end"].isoformat()],
            "predicted_failure": pred.isoformat() if pred else None,
            **a["evidence"],
        },
    }


def _absorb_preventive(
    conn: Conn, order_id: int, robot_id: str, due_at: datetime, policy: Policy, now: datetime
) -> int:
    """Move the robot's not-yet-confirmed preventive tasks due near ``due_at`` into the new
    order and cancel their orders; return how many were merged."""
    merged = 0
    for p in orders_repo.open_orders(conn, robot_id=robot_id, types=("preventive",)):
        if (
            p["status"] not in ("new", "scheduled")
            or abs(p["due_at"] - due_at) > policy.merge_within
        ):
            continue
        host = orders_repo.get_order(conn, order_id=order_id, lock=True)
        assert host is not None
        orders_repo.update_order(
            conn,
            order_id=order_id,
            changes={"tasks": host["tasks"] + p["tasks"]},
            actor="scheduler",
            from_status=None,
            note=None,
            at=now,
        )
        orders_repo.update_order(
            conn,
            order_id=p["id"],
            changes={"status": "cancelled"},
            actor="scheduler",
            from_status=p["status"],
            note=f"并入工单 {order_id} · merged into order {order_id}",
            at=now,
        )
        merged += 1
    return merged
