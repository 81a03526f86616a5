"""The manual's time rules: same-day fixes (日清日结), callbacks, overdue work, silent robots."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from core.clock import format_local, local_date, local_midnight
from core.db import Conn
from core.hours import expand
from scheduler import repository as repo
from scheduler.notify import NotifyConfig, enqueue
from service import repository as orders_repo


@dataclass
class SlaReport:
    escalated: list[int] = field(default_factory=list)
    overdue: list[int] = field(default_factory=list)
    due_soon: list[int] = field(default_factory=list)
    callbacks_due: list[int] = field(default_factory=list)
    offline: list[str] = field(default_factory=list)
    back_online: int = 0


def _alert(
    conn: Conn, notify: NotifyConfig | None, *, now: datetime, event: str, **alert: Any
) -> bool:
    """Open an alert once, and notify the region when it is new."""
    new = orders_repo.raise_alert(conn, now=now, **alert)
    if new and notify is not None:
        enqueue(
            conn,
            config=notify,
            event=event,
            now=now,
            region=alert.get("region"),
            payload={
                "message": alert["message"],
                "robot_id": alert.get("robot_id"),
                "work_order_id": alert.get("work_order_id"),
            },
        )
    return new


def check(
    conn: Conn,
    *,
    now: datetime,
    offline_after: timedelta = timedelta(minutes=30),
    notify: NotifyConfig | None = None,
) -> SlaReport:
    """Raise (deduplicated) alerts and escalations; safe to run every few minutes."""
    rep = SlaReport()
    _same_day(conn, now=now, rep=rep, notify=notify)
    for oid, number, region in repo.overdue_orders(conn, now=now):
        if _alert(
            conn,
            notify,
            now=now,
            event="work_order_overdue",
            kind="overdue",
            region=region,
            work_order_id=oid,
            dedup_key=f"overdue:{oid}",
            message=f"{number} is overdue",
        ):
            rep.overdue.append(oid)
    # Reminder the day before: the visit window (or the due date) is within 24 hours.
    for oid, number, region, at, tz in repo.visits_between(
        conn, start=now, end=now + timedelta(hours=24)
    ):
        if _alert(
            conn,
            notify,
            now=now,
            event="work_order_due",
            kind="due_soon",
            region=region,
            work_order_id=oid,
            dedup_key=f"due:{oid}",
            message=f"{number} 24小时内到期 due within 24 h ({format_local(at, tz)})",
        ):
            rep.due_soon.append(oid)
    for oid, number, region, kind, due_at in repo.callbacks_due(conn, now=now):
        rep.callbacks_due.append(oid)
        _alert(
            conn,
            notify,
            now=now,
            event="callback_overdue",
            kind="callback_overdue",
            region=region,
            work_order_id=oid,
            dedup_key=f"callback:{oid}:{kind}",
            message=f"{number}: 回访逾期 callback ({kind}) due {format_local(due_at, None)}",
        )
    _offline(conn, now=now, after=offline_after, rep=rep, notify=notify)
    return rep


def _same_day(conn: Conn, *, now: datetime, rep: SlaReport, notify: NotifyConfig | None) -> None:
    """日清日结: a repair not completed by the end of its day (site time) goes to the HQ
    after-sales manager."""
    manager = repo.hq_manager(conn)
    for oid, number, region, tz, created in repo.open_repairs_not_escalated(conn):
        end_of_day = local_midnight(local_date(created, tz) + timedelta(days=1), tz)
        if now < end_of_day:
            continue
        repo.escalate(conn, order_id=oid, to=manager, now=now)
        _alert(
            conn,
            notify,
            now=now,
            event="escalation",
            kind="escalation",
            region=region,
            work_order_id=oid,
            dedup_key=f"escalation:{oid}",
            message=f"{number}: repair not fixed the same day (日清日结) — "
            "escalated to the after-sales manager",
        )
        rep.escalated.append(oid)


def _offline(
    conn: Conn, *, now: datetime, after: timedelta, rep: SlaReport, notify: NotifyConfig | None
) -> None:
    """A robot silent while its kitchen is open (past the power-up buffer) raises an alert."""
    hours = repo.site_hours(conn)
    rows = repo.robots_last_seen(conn)
    recovered = []
    for robot, site, region, tz, last_seen in rows:
        silent = now - last_seen
        key = f"offline:{robot}"
        if silent <= after:
            recovered.append(key)
            continue
        open_now = any(
            a + after <= now < b
            for a, b in expand(
                hours.get(site, {}), tz, now - timedelta(days=1), now + timedelta(seconds=1)
            )
        )
        if open_now and _alert(
            conn,
            notify,
            now=now,
            event="robot_offline",
            kind="robot_offline",
            region=region,
            robot_id=robot,
            dedup_key=key,
            message=f"robot {robot} silent for {int(silent.total_seconds() // 60)} min "
            "during service hours",
        ):
            rep.offline.append(robot)
    rep.back_online = (
        orders_repo.resolve_alerts(conn, dedup_keys=recovered, now=now) if recovered else 0
    )
