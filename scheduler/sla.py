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
    manager = conn.execute(
        "SELECT id FROM staff WHERE role = 'manager' AND active ORDER BY id LIMIT 1"
    ).fetchone()
    # 日清日结: a repair not completed by the end of its day (site time) goes to the HQ manager.
    for oid, number, region, tz, created in conn.execute(
        f"""SELECT w.id, w.number, w.region, s.timezone, w.created_at FROM work_orders w
            JOIN sites s ON s.id = w.site_id
            WHERE w.type = 'repair' AND w.status IN {orders_repo.OPEN_SQL} AND w.escalated_at IS NULL"""
    ).fetchall():
        end_of_day = local_midnight(local_date(created, tz) + timedelta(days=1), tz)
        if now >= end_of_day:
            conn.execute(
                "UPDATE work_orders SET escalated_at = %s, escalated_to = %s WHERE id = %s",
                (now, manager[0] if manager else None, oid),
            )
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
    for oid, number, region in conn.execute(
        f"""SELECT id, number, region FROM work_orders
            WHERE status IN {orders_repo.OPEN_SQL} AND due_at < %s""",
        (now,),
    ).fetchall():
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
    for oid, number, region, at, tz in conn.execute(
        f"""SELECT w.id, w.number, w.region, coalesce(w.window_start, w.due_at), s.timezone
            FROM work_orders w JOIN sites s ON s.id = w.site_id
            WHERE w.status IN {orders_repo.OPEN_SQL} AND coalesce(w.window_start, w.due_at) > %s
              AND coalesce(w.window_start, w.due_at) <= %s""",
        (now, now + timedelta(hours=24)),
    ).fetchall():
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
    rep.callbacks_due = [
        r[0]
        for r in conn.execute(
            "SELECT work_order_id FROM callbacks WHERE done_at IS NULL AND due_at <= %s", (now,)
        ).fetchall()
    ]
    _offline(conn, now=now, after=offline_after, rep=rep, notify=notify)
    return rep


def _offline(
    conn: Conn, *, now: datetime, after: timedelta, rep: SlaReport, notify: NotifyConfig | None
) -> None:
    """A robot silent while its kitchen is open (past the power-up buffer) raises an alert."""
    hours = repo.site_hours(conn)
    rows = conn.execute(
        """SELECT r.robot_id, r.site_id, s.region, s.timezone, st.last_seen
           FROM robots r JOIN sites s ON s.id = r.site_id
           LEFT JOIN robot_state st ON st.robot_id = r.robot_id
           WHERE r.active AND st.last_seen IS NOT NULL"""
    ).fetchall()
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
