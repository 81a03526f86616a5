"""What one order-generation run needs: the policy, staff, calendars, routing and windows."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from core.clock import format_local, local_date
from core.db import Conn
from scheduler import repository as repo
from scheduler.notify import NotifyConfig, enqueue
from scheduler.routing import route
from scheduler.windows import propose
from service import repository as orders_repo


@dataclass(frozen=True)
class Policy:
    horizon: timedelta = timedelta(days=14)  # create preventive orders due within this
    merge_within: timedelta = timedelta(days=7)  # merge preventive into open predictive
    failure_margin: timedelta = timedelta(days=2)  # predictive due before predicted failure
    no_data_after: timedelta = timedelta(days=3)  # counters older than this are not used
    lead_time: timedelta = timedelta(hours=2)  # earliest visit after creation


@dataclass
class Generated:
    created: list[int] = field(default_factory=list)
    merged: int = 0
    existing: int = 0
    robots_without_data: list[str] = field(default_factory=list)


class Planner:
    """What one generation run needs, loaded once: staff, workloads, calendars, open keys."""

    def __init__(self, conn: Conn, *, now: datetime, policy: Policy) -> None:
        self.now = now
        self.policy = policy
        self.staff = repo.field_staff(conn)
        self.hours = repo.site_hours(conn)
        self.taken = repo.all_taken_windows(conn)
        self.open_keys = orders_repo.open_dedup_keys(conn)

    def schedule(
        self, ctx: repo.RobotCtx, *, due_at: datetime, duration: timedelta
    ) -> dict[str, Any]:
        """Lead, suggested technician and a proposed visit window for a new order."""
        r = route(self.staff, region=ctx.region)
        fields: dict[str, Any] = {
            "lead_id": r.lead.id if r.lead else None,
            "technician_id": r.technician.id if r.technician else None,
            "status": "new",
        }
        if r.technician is None:
            return fields
        taken = self.taken.setdefault(r.technician.id, [])
        visit = propose(
            hours=self.hours.get(ctx.site_id, {}),
            timezone=ctx.timezone,
            work_start=r.technician.work_start,
            work_end=r.technician.work_end,
            duration=duration,
            earliest=self.now + self.policy.lead_time,
            due=due_at,
            taken=taken,
        )
        if visit is not None:
            fields.update(
                window_start=visit.start,
                window_end=visit.end,
                window_late=visit.late,
                status="scheduled",
            )
            taken.append((visit.start, visit.end))
        # Keep the workload current so the next order goes to the least busy technician.
        self.staff = [
            replace(s, open_orders=s.open_orders + 1) if s.id == r.technician.id else s
            for s in self.staff
        ]
        return fields


def warranty_status(ctx: repo.RobotCtx, now: datetime) -> str:
    """In warranty on the site's local day (a UTC date is a day behind before 08:00)."""
    return "in_warranty" if ctx.warranty_end >= local_date(now, ctx.timezone) else "out_of_warranty"


def announce(
    conn: Conn, notify: NotifyConfig | None, order_id: int, *, now: datetime, tz: str
) -> None:
    """Tell the region's channels about a new order (outbox, same transaction).

    Times are the site's local time with the zone stated, as the lead reads them.
    """
    if notify is None or not notify.channels:
        return
    o = orders_repo.get_order(conn, order_id=order_id)
    assert o is not None
    window = (
        f"{format_local(o['window_start'], tz, zone_suffix=False)}–"
        f"{format_local(o['window_end'], tz)[11:]}"
        if o["window_start"]
        else None
    )
    enqueue(
        conn,
        config=notify,
        event="work_order_created",
        region=o["region"],
        now=now,
        payload={
            "number": o["number"],
            "title": o["title"],
            "robot_id": o["robot_id"],
            "type": o["type"],
            "priority": o["priority"],
            "due_at": format_local(o["due_at"], tz),
            "window": window,
            "lead_id": o["lead_id"],
            "technician_id": o["technician_id"],
        },
    )
