"""Checked visit windows: a window proposed by the scheduler or typed by a person is
refused, with the rule it breaks, when it falls in the kitchen's service hours, clashes
with the technician's other visits, or the technician works in another region.

The manual (4.2.2): 维保时间需同客户电话确定，以不影响客户机器正常工作为原则 — a visit
must not disturb the kitchen's service. A lead who has agreed otherwise with the
customer (they close early for it) says so explicitly, and that reason is audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.clock import format_local
from core.db import Conn
from core.hours import expand
from service import repository as repo
from service import visits_repository as vr


def _span(a: datetime, b: datetime, tz: str | None) -> str:
    return f"{format_local(a, tz, zone_suffix=False)}–{format_local(b, tz, zone_suffix=False)[11:]}"


def service_hours_problem(
    conn: Conn, *, site_id: str, window: tuple[datetime, datetime]
) -> str | None:
    """Why ``window`` disturbs the kitchen (it overlaps a service interval), or None."""
    site = vr.site_calendar(conn, site_id=site_id)
    start, end = window
    for a, b in expand(site.hours, site.timezone, start, end):
        if a < end and b > start:
            return (
                f"window {_span(start, end, site.timezone)} falls in {site.name}'s service "
                f"hours {a:%H:%M}–{b:%H:%M} 上门时间与营业时间冲突"
            )
    return None


def technician_problem(
    conn: Conn,
    *,
    order: dict[str, Any],
    technician_id: str,
    window: tuple[datetime, datetime] | None,
) -> str | None:
    """Why ``technician_id`` cannot take ``order`` in ``window``, or None."""
    staff = vr.field_member(conn, staff_id=technician_id)
    if staff is None:
        return f"no active technician {technician_id!r} 无此技工"
    if staff.role not in ("technician", "lead"):
        return f"{staff.name} ({technician_id}) is a {staff.role}, not a technician 非维修人员"
    if staff.region != order["region"]:
        return (
            f"{staff.name} works in {staff.region}, the order is in {order['region']}"
            " 技工不属于该区域"
        )
    if window is None:
        return None
    tz = repo.site_timezone(conn, site_id=order["site_id"])
    for other in vr.technician_visits(conn, technician_id=technician_id, exclude=order["id"]):
        if other.window_start < window[1] and other.window_end > window[0]:
            return (
                f"{staff.name} already visits {other.number} "
                f"{_span(other.window_start, other.window_end, tz)} 与该技工其他上门时间冲突"
            )
    return None


def check(
    conn: Conn,
    *,
    order: dict[str, Any],
    to: str,
    window: tuple[datetime, datetime] | None,
    technician_id: str | None,
    override_reason: str | None,
) -> str | None:
    """Refusal of a move that sets or confirms a visit: the reason, or None.

    A window typed by a person, and the window confirmed or dispatched, must lie outside
    the kitchen's service hours (unless the lead records why the customer agreed);
    a technician named for the order must be of its region and free in its window.
    """
    visit = window or (
        (order["window_start"], order["window_end"])
        if to in ("confirmed", "dispatched") and order.get("window_start")
        else None
    )
    if visit is not None and not (override_reason and override_reason.strip()):
        problem = service_hours_problem(conn, site_id=order["site_id"], window=visit)
        if problem:
            return (
                problem
                + " (the customer agreed? give the reason to accept it 如客户同意请注明原因)"
            )
    tech = technician_id or (order.get("technician_id") if to == "dispatched" else None)
    if tech is None:
        return None
    booked = visit if (window is not None or technician_id is not None) else None
    return technician_problem(conn, order=order, technician_id=tech, window=booked)
