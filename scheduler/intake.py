"""Orders from a customer (报修, 4.2.1A; complaints, chapter 1): a call, a WeChat message,
an e-mail or a complaint becomes a repair order with the 维修工单's fields.

The manual's flow (4.2.2B): a simple fault listed in the user manual is first guided by
phone — solved, the order is closed as a phone-guided fix with a callback due in 2 hours;
not solved, it is a visit, routed to the region's lead with a technician and a window
outside the kitchen's service hours, due by the end of the site's day (日清日结, 4.2.7.3E:
the SLA job escalates it to HQ if it is still open then). A complaint is answered within
24 hours by the region's lead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from core.clock import local_date, local_midnight
from core.db import Conn
from core.errors import NotFoundError
from scheduler import repository as repo
from scheduler.notify import NotifyConfig
from scheduler.planner import Planner, Policy, announce, warranty_status
from service import actors, policy
from service import repository as orders_repo
from service.errors import ForbiddenError, InvalidTransitionError

CHANNELS = ("phone", "wechat", "email", "complaint", "walk_in")
VISIT = timedelta(minutes=90)
COMPLAINT_ANSWER = timedelta(hours=24)
PHONE_CALLBACK = timedelta(hours=2)


@dataclass(frozen=True)
class PhoneGuidance:
    """What the phone guidance achieved (4.2.2B)."""

    resolved: bool
    cause: str
    resolution: str
    minutes: int


@dataclass(frozen=True)
class Report:
    robot_id: str
    channel: str
    symptom: str
    customer_requests: str | None = None
    reported_by: str | None = None
    guidance: PhoneGuidance | None = None


def open_order(
    conn: Conn, report: Report, *, actor: str, now: datetime, notify: NotifyConfig | None = None
) -> dict[str, Any]:
    """Record the customer's report as a work order; return it.

    Refused (ForbiddenError) unless ``actor`` is HQ or the lead of the robot's region; a
    second report while the robot's reported fault is still open is refused with the
    open order's number (add to that order instead).
    """
    if report.channel not in CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}, got {report.channel!r}")
    if not report.symptom.strip():
        raise ValueError("the symptom (故障现象) is required")
    who = actors.require(conn, actor)
    ctx = next(iter(repo.robots(conn, now=now, robot_ids=[report.robot_id])), None)
    if ctx is None:
        raise NotFoundError("robot", report.robot_id)
    reason = policy.intake_refusal(who, ctx.region)
    if reason:
        raise ForbiddenError(who.staff_id, reason)
    key = f"rp:{ctx.robot_id}"
    existing = orders_repo.open_order_by_key(conn, dedup_key=key)
    if existing is not None:
        o = orders_repo.get_order(conn, order_id=existing)
        assert o is not None
        raise InvalidTransitionError(
            o["number"], o["status"], "new", "this robot's reported fault is already open"
        )
    fields = _fields(report, ctx, key=key, now=now)
    solved = report.guidance is not None and report.guidance.resolved
    if solved:
        assert report.guidance is not None
        fields |= _phone_fix(report.guidance, ctx=ctx, now=now)
    else:
        planner = Planner(conn, now=now, policy=Policy(lead_time=timedelta(minutes=30)))
        planner.place(fields, ctx, due_at=fields["due_at"], duration=VISIT)
    order_id = orders_repo.insert_order(
        conn, fields=fields, actor=who.staff_id, now=now, day=local_date(now, ctx.timezone)
    )
    assert order_id is not None  # the key was free a moment ago, in this transaction
    if solved:
        orders_repo.add_callback(
            conn, order_id=order_id, kind="phone_guided", due=now + PHONE_CALLBACK
        )
        orders_repo.add_service_lines(
            conn,
            order={**fields, "id": order_id},
            at=now,
            summary=f"电话指导 phone guidance: {fields['completion']['resolution']}",
            in_warranty=fields["warranty"] == "in_warranty",
            charged=Decimal(0),
            rating=None,
        )
    else:
        announce(conn, notify, order_id, now=now, tz=ctx.timezone)
    order = orders_repo.get_order(conn, order_id=order_id)
    assert order is not None
    return order


def _fields(report: Report, ctx: repo.RobotCtx, *, key: str, now: datetime) -> dict[str, Any]:
    complaint = report.channel == "complaint"
    # 日清日结: a reported fault is fixed by the end of the site's day; a complaint answered
    # within 24 hours.
    end_of_day = local_midnight(local_date(now, ctx.timezone) + timedelta(days=1), ctx.timezone)
    return {
        "type": "repair",
        "dedup_key": key,
        "origin": report.channel,
        "robot_id": ctx.robot_id,
        "site_id": ctx.site_id,
        "region": ctx.region,
        "customer_id": ctx.customer_id,
        "title": ("客户投诉 / Complaint" if complaint else "客户报修 / Reported fault")
        + f": {report.symptom.strip()[:80]}",
        "tasks": ["complaint" if complaint else "reported-fault"],
        "symptom": report.symptom.strip(),
        "customer_requests": (report.customer_requests or "").strip() or None,
        "reported_by": report.reported_by,
        "priority": 1,
        "due_at": now + COMPLAINT_ANSWER if complaint else end_of_day,
        "warranty": warranty_status(ctx, now),
        "evidence": {"reported": report.channel},
    }


def _phone_fix(g: PhoneGuidance, *, ctx: repo.RobotCtx, now: datetime) -> dict[str, Any]:
    if not (g.cause.strip() and g.resolution.strip()) or g.minutes < 1:
        raise ValueError("a fix by phone needs the cause, the resolution and the minutes spent")
    return {
        "status": "completed",
        "completion": {
            "phone_guided": True,
            "cause": g.cause.strip(),
            "resolution": g.resolution.strip(),
            "time_spent_min": g.minutes,
            "parts_used": [],
            "in_warranty": warranty_status(ctx, now) == "in_warranty",
            "charged": "0",
        },
    }


def open_software_update(
    conn: Conn,
    *,
    robot_id: str,
    version: str,
    actor: str,
    now: datetime,
    due_in: timedelta = timedelta(days=7),
) -> dict[str, Any]:
    """A software-update order (软件更新) for one robot, planned by its region's lead (组长职责
    5): routed and windowed like any visit; completing it records the update."""
    from service.software import RELEASE

    if not RELEASE.match(version):
        raise ValueError(f"version must be a release number like 3.3.0, got {version!r}")
    who = actors.require(conn, actor)
    ctx = next(iter(repo.robots(conn, now=now, robot_ids=[robot_id])), None)
    if ctx is None:
        raise NotFoundError("robot", robot_id)
    reason = policy.intake_refusal(who, ctx.region)
    if reason:
        raise ForbiddenError(who.staff_id, reason)
    fields: dict[str, Any] = {
        "type": "software_update",
        "dedup_key": f"sw:{robot_id}:{version}",
        "robot_id": ctx.robot_id,
        "site_id": ctx.site_id,
        "region": ctx.region,
        "customer_id": ctx.customer_id,
        "title": f"软件更新至 {version} / Software update to {version}",
        "tasks": ["software-update"],
        "priority": 3,
        "due_at": now + due_in,
        "warranty": warranty_status(ctx, now),
        "evidence": {"target_version": version},
    }
    Planner(conn, now=now, policy=Policy()).place(
        fields, ctx, due_at=fields["due_at"], duration=timedelta(minutes=45)
    )
    order_id = orders_repo.insert_order(
        conn, fields=fields, actor=who.staff_id, now=now, day=local_date(now, ctx.timezone)
    )
    if order_id is None:
        raise InvalidTransitionError(
            fields["dedup_key"], "open", "new", f"an update of {robot_id} to {version} is open"
        )
    order = orders_repo.get_order(conn, order_id=order_id)
    assert order is not None
    return order
