"""What one order-generation run needs: the policy, staff, calendars, routing and windows."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Any

from core.clock import format_local, local_date
from core.db import Conn
from core.hours import weekly_pattern
from scheduler import repository as repo
from scheduler.notify import NotifyConfig, enqueue
from scheduler.routing import route
from scheduler.windows import Booked, Visit, busy_intervals, least_bad, propose
from service import repository as orders_repo


@dataclass(frozen=True)
class Policy:
    horizon: timedelta = timedelta(days=14)  # create preventive orders due within this
    merge_within: timedelta = timedelta(days=7)  # merge preventive into open predictive
    failure_margin: timedelta = timedelta(days=2)  # predictive due before predicted failure
    no_data_after: timedelta = timedelta(days=3)  # counters older than this are not used
    lead_time: timedelta = timedelta(hours=2)  # earliest visit after creation
    horizon_days: int = 30  # how far ahead a visit window is looked for


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
        self.taken = {who: Booked(windows) for who, windows in repo.all_taken_windows(conn).items()}
        self.open_keys = orders_repo.open_dedup_keys(conn)
        # Service intervals per weekly hours and time zone (sites with the same hours share
        # them), computed once per run for every proposal.
        self._site_busy: dict[tuple[object, str], tuple[datetime, Booked]] = {}
        # The least-bad slot depends on the site's hours, working hours and duration only
        # (not on anyone's bookings): once per run for each.
        self._least_bad_slots: dict[tuple[object, str, time, time, timedelta], Any] = {}
        self._patterns: dict[str, tuple[object, ...]] = {}

    def _pattern(self, ctx: repo.RobotCtx) -> tuple[object, ...]:
        if ctx.site_id not in self._patterns:
            self._patterns[ctx.site_id] = weekly_pattern(self.hours.get(ctx.site_id, {}))
        return self._patterns[ctx.site_id]

    def schedule(
        self, ctx: repo.RobotCtx, *, due_at: datetime, duration: timedelta
    ) -> dict[str, Any]:
        """Lead, technician and a proposed visit window for a new order.

        The region's technicians are tried from the least busy: the first who can visit
        before the order is due takes it, so no one gets work that makes it late while a
        colleague is free. Only when no technician can make the due date is the region's
        lead tried too, and the earliest of those late windows is taken. With no window at all (a long job at a
        kitchen open all day) the order stays ``new`` and says why, for the lead to agree a
        time with the customer.
        """
        r = route(self.staff, region=ctx.region)
        fields: dict[str, Any] = {"lead_id": r.lead.id if r.lead else None, "status": "new"}
        techs = sorted(
            (s for s in self.staff if s.role == "technician" and s.region == ctx.region),
            key=lambda s: (s.open_orders, s.id),
        )
        options: list[tuple[Visit | None, repo.StaffCtx]] = []
        for t in techs:  # the least busy first; the first who makes the due date takes it
            visit = self._propose(t, ctx, due_at, duration)
            if visit is not None and not visit.late:
                options = [(visit, t)]
                break
            options.append((visit, t))
        else:
            if r.lead is not None:  # no technician can make it in time: the lead covers
                options.append((self._propose(r.lead, ctx, due_at, duration), r.lead))
        found = [(v, t) for v, t in options if v is not None]
        if not found:
            who = r.technician or r.lead
            fields["technician_id"] = who.id if who else None
            fields["no_window"] = (
                f"no {int(duration.total_seconds() // 60)}-minute window outside the kitchen's "
                f"service hours in the next {self.policy.horizon_days} days: agree a time with "
                "the customer 营业时间外无可用时段，请与客户商定"
            )
            slot = None if who is None else self._least_bad(who, ctx, duration)
            if slot is not None:
                fields["no_window"] += (
                    f"; quietest slot 建议时段 {format_local(slot[0], ctx.timezone)[:16]}–"
                    f"{format_local(slot[1], ctx.timezone)[11:16]}, "
                    f"{int(slot[2].total_seconds() // 60)} min in service"
                )
            return fields
        visit, tech = min(found, key=lambda f: (f[0].late, f[0].end, f[1].open_orders, f[1].id))
        fields.update(
            technician_id=tech.id,
            window_start=visit.start,
            window_end=visit.end,
            window_late=visit.late,
            status="scheduled",
        )
        self.taken.setdefault(tech.id, Booked()).add(visit.start, visit.end)
        # Keep the workload current so the next order weighs it.
        self.staff = [
            replace(s, open_orders=s.open_orders + 1) if s.id == tech.id else s for s in self.staff
        ]
        return fields

    def place(
        self, fields: dict[str, Any], ctx: repo.RobotCtx, *, due_at: datetime, duration: timedelta
    ) -> None:
        """Add the lead, technician and window to a new order's ``fields``; why there is no
        window goes into its evidence."""
        planned = self.schedule(ctx, due_at=due_at, duration=duration)
        reason = planned.pop("no_window", None)
        fields.update(planned)
        if reason:
            fields["evidence"] = {**(fields.get("evidence") or {}), "no_window": reason}

    def _least_bad(
        self, who: repo.StaffCtx, ctx: repo.RobotCtx, duration: timedelta
    ) -> tuple[datetime, datetime, timedelta] | None:
        key = (self._pattern(ctx), ctx.timezone, who.work_start, who.work_end, duration)
        if key not in self._least_bad_slots:
            self._least_bad_slots[key] = least_bad(**self._visit_terms(who, ctx, duration))
        slot: tuple[datetime, datetime, timedelta] | None = self._least_bad_slots[key]
        return slot

    def _visit_terms(
        self, who: repo.StaffCtx, ctx: repo.RobotCtx, duration: timedelta
    ) -> dict[str, Any]:
        """What a visit must fit: the site's hours, the person's working hours, its length,
        and the run's earliest start."""
        return {
            "hours": self.hours.get(ctx.site_id, {}),
            "timezone": ctx.timezone,
            "work_start": who.work_start,
            "work_end": who.work_end,
            "duration": duration,
            "earliest": self.now + self.policy.lead_time,
        }

    def _busy(self, ctx: repo.RobotCtx, until: datetime) -> Booked:
        """The site's service intervals from the run's earliest visit to at least ``until``."""
        key = (self._pattern(ctx), ctx.timezone)
        cached = self._site_busy.get(key)
        if cached is None or cached[0] < until:
            span_end = until + timedelta(days=30)
            busy = busy_intervals(
                self.hours.get(ctx.site_id, {}),
                ctx.timezone,
                self.now + self.policy.lead_time,
                span_end,
            )
            cached = self._site_busy[key] = (span_end, Booked(busy))
        return cached[1]

    def _propose(
        self, who: repo.StaffCtx, ctx: repo.RobotCtx, due_at: datetime, duration: timedelta
    ) -> Visit | None:
        earliest = self.now + self.policy.lead_time
        horizon = timedelta(days=self.policy.horizon_days)
        return propose(
            **self._visit_terms(who, ctx, duration),
            due=due_at,
            taken=self.taken.get(who.id, ()),
            horizon=horizon,
            site_busy=self._busy(ctx, max(due_at, earliest) + horizon),
        )


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
