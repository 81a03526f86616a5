"""The job queue and the work-order form: move, complete (leads and technicians)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import quote_plus

from fastapi import APIRouter, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api import repository as repo
from api.dashboard import repository as pages_repo
from api.dashboard.common import DbConn, FormUser, PageUser, templates
from api.deps import Now
from core.clock import zone
from service.errors import ForbiddenError, InvalidTransitionError
from service.orders import transition

router = APIRouter(include_in_schema=False)


@router.get("/ui/orders", response_class=HTMLResponse)
def orders(
    request: Request,
    conn: DbConn,
    user: PageUser,
    now: Now,
    status: str | None = None,
    technician: str | None = None,
    type: str | None = None,
    due: str | None = None,
) -> Response:
    """The job queue: open orders (or one status) with proposed visit windows and one-click
    actions, filtered by technician, type and due date (overdue, today, this week)."""
    from core.labels import ORDER_TYPE, STATUS

    rows = repo.work_orders(
        conn,
        p=user,
        status=status if status in STATUS else None,
        type_=type if type in ORDER_TYPE else None,
        robot_id=None,
        sort="priority",
        descending=False,
        limit=200,
        offset=0,
    )
    if status not in STATUS:
        rows = [r for r in rows if r["status"] not in ("completed", "verified", "cancelled")]
    if technician:
        rows = [r for r in rows if r["technician_id"] == technician]
    horizon = {"overdue": now, "today": now + timedelta(days=1), "week": now + timedelta(days=7)}
    if due in horizon:
        rows = [r for r in rows if r["due_at"] <= horizon[due]]
    sites = pages_repo.site_zones(conn)
    for r in rows:
        r["tz"] = sites.get(r["site_id"])
    filters = {"status": status, "technician": technician, "type": type, "due": due}
    field = pages_repo.region_field_staff(conn, region=user.region) if user.region else []
    return templates.TemplateResponse(
        request,
        "orders.html",
        {"user": user, "orders": rows, "filters": filters, "field": field},
    )


@router.post("/ui/orders/{order_id}/move")
def move(
    order_id: Annotated[int, PathParam(ge=1, le=2**62)],
    conn: DbConn,
    user: FormUser,
    now: Now,
    to: Annotated[str, Form(max_length=32)],
    note: Annotated[str, Form(max_length=2000)] = "",
    back: Annotated[str, Form(pattern=r"^/ui/[a-z0-9/]*$")] = "/ui/orders",
    window_start: Annotated[str, Form(max_length=32)] = "",
    window_end: Annotated[str, Form(max_length=32)] = "",
    technician_id: Annotated[str, Form(pattern=r"^([a-z0-9][a-z0-9._-]{1,63})?$")] = "",
    override_reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Move an order (confirm, dispatch, reschedule with a new window, reassign, hold,
    cancel with a reason, start …); who may is the domain's policy, as for the API and the
    CLI. A window is typed in the site's local time."""
    order = repo.visible_order(conn, p=user, order_id=order_id)
    try:
        window = _window(window_start, window_end, order["timezone"])
        transition(
            conn,
            order_id=order_id,
            to=to,
            actor=user.staff_id,
            note=note or None,
            window=window,
            technician_id=technician_id or None,
            override_reason=override_reason or None,
            now=now,
        )
    except (InvalidTransitionError, ForbiddenError) as exc:
        return RedirectResponse(f"{back}?error={quote_plus(exc.reason)}", status_code=303)
    except ValueError as exc:
        return RedirectResponse(f"{back}?error={quote_plus(str(exc))}", status_code=303)
    return RedirectResponse(back, status_code=303)


def _window(start: str, end: str, tz: str) -> tuple[datetime, datetime] | None:
    """'2026-12-03T15:00' and '16:30' or a full local time → an aware window, or None."""
    if not start and not end:
        return None
    zone_ = zone(tz)
    try:
        a = datetime.fromisoformat(start).replace(tzinfo=zone_)
        b = (
            datetime.combine(a.date(), time.fromisoformat(end), zone_)
            if len(end) <= 5
            else datetime.fromisoformat(end).replace(tzinfo=zone_)
        )
    except ValueError as exc:
        raise ValueError("window: a start like 2026-12-03T15:00 and an end like 16:30") from exc
    if b <= a:
        raise ValueError("the window must end after it starts 结束时间须晚于开始时间")
    return a, b


@router.get("/ui/today", response_class=HTMLResponse)
def today(request: Request, conn: DbConn, user: PageUser) -> Response:
    """A technician's day on the phone: visits in order, with window, address, phone, task
    and the parts to bring; start and complete from here."""
    from scheduler.repository import task_part_lines

    visits = pages_repo.my_visits(conn, p=user)
    plan_parts, repair_parts = task_part_lines(conn)
    for v in visits:
        bring: dict[str, int] = {}
        for i, task in enumerate(v["tasks"]):
            lines = (
                repair_parts.get(task) if i == 0 and v["type"] in ("repair", "predictive") else None
            ) or plan_parts.get((v["model"], task), repair_parts.get(task, []))
            for code, qty in lines:
                bring[code] = bring.get(code, 0) + qty
        v["bring"] = bring
    return templates.TemplateResponse(request, "today.html", {"user": user, "visits": visits})


@router.get("/ui/orders/{order_id}", response_class=HTMLResponse)
def order_page(
    order_id: Annotated[int, PathParam(ge=1, le=2**62)],
    request: Request,
    conn: DbConn,
    user: PageUser,
) -> Response:
    """Work-order detail (the manual's form) with the completion form while in progress."""
    order = repo.visible_order(conn, p=user, order_id=order_id)
    from service.commissioning import CHECKLIST
    from service.lifecycle import TRANSITIONS
    from service.policy import Actor, may_move

    me = Actor(user.staff_id, user.role, user.region)
    moves = [
        to
        for to in sorted(TRANSITIONS.get(order["status"], ()))
        if to != "completed" and may_move(me, order, to)
    ]
    return templates.TemplateResponse(
        request,
        "order.html",
        {
            "user": user,
            "order": order,
            "checklist": CHECKLIST,
            "moves": moves,
            "field": pages_repo.region_field_staff(conn, region=order["region"]),
        },
    )


def parse_parts(text: str) -> list[dict[str, Any]]:
    """'FAN-FILTER-120:1, GREASE:2' → [{"code": …, "qty": …}]."""
    from service.parts import PartQty

    out = []
    for item in filter(None, (x.strip() for x in text.split(","))):
        code, _, qty = item.partition(":")
        line = PartQty(code=code.strip().upper(), qty=int(qty) if qty.strip() else 1)
        out.append(line.model_dump())
    return out


@router.post("/ui/orders/{order_id}/complete")
def complete(
    order_id: Annotated[int, PathParam(ge=1, le=2**62)],
    conn: DbConn,
    user: FormUser,
    now: Now,
    cause: Annotated[str, Form(max_length=2000)],
    resolution: Annotated[str, Form(max_length=2000)],
    time_spent_min: Annotated[int, Form(ge=1, le=1440)],
    rating: Annotated[str, Form(pattern=r"^[1-5]?$")] = "",
    signer: Annotated[str, Form(max_length=100)] = "",
    customer_declined: Annotated[str, Form(max_length=500)] = "",
    training: Annotated[str, Form(max_length=1000)] = "",
    signature: Annotated[
        str, Form(max_length=300_000, pattern=r"^(data:image/png;base64,[A-Za-z0-9+/=]+)?$")
    ] = "",
    parts: Annotated[str, Form(max_length=2000)] = "",
    warranty_void_reason: Annotated[str, Form(max_length=500)] = "",
    firmware_version: Annotated[str, Form(max_length=32)] = "",
    checklist: Annotated[list[str] | None, Form()] = None,
    uncertain: Annotated[str, Form(max_length=1)] = "",
    phone_guided: Annotated[str, Form(max_length=1)] = "",
) -> Response:
    """Record the completion (cause, resolution, parts, time, rating, signer); the price
    comes from the fee schedule."""
    from service.commissioning import CHECKLIST
    from service.errors import StockError

    repo.visible_order(conn, p=user, order_id=order_id)
    try:
        used = parse_parts(parts)
    except ValueError:
        return RedirectResponse(
            f"/ui/orders/{order_id}?error=parts look like FAN-FILTER-120:1", status_code=303
        )
    ticked = set(checklist or [])
    completion: dict[str, Any] = {
        "cause": cause,
        "resolution": resolution,
        "parts_used": used,
        "time_spent_min": time_spent_min,
        "warranty_void_reason": warranty_void_reason.strip() or None,
        "firmware_version": firmware_version.strip() or None,
        "checklist": {k: k in ticked for k in CHECKLIST},
        "rating": int(rating) if rating else None,
        "signer": signer.strip() or None,
        "customer_declined": customer_declined.strip() or None,
        "training": training.strip() or None,
        "signature": signature or None,
        "uncertain": bool(uncertain),
        "phone_guided": bool(phone_guided),
    }
    try:
        transition(
            conn,
            order_id=order_id,
            to="completed",
            actor=user.staff_id,
            completion=completion,
            now=now,
        )
    except (InvalidTransitionError, StockError, ForbiddenError) as exc:
        return RedirectResponse(
            f"/ui/orders/{order_id}?error={quote_plus(exc.reason)}", status_code=303
        )
    return RedirectResponse(f"/ui/orders/{order_id}", status_code=303)
