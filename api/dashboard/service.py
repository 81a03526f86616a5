"""The service loop from the dashboard: a customer's report (报修), quotes for
out-of-warranty work, callbacks (客户回访) — for the region's lead and HQ."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote_plus

from fastapi import APIRouter, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api import repository as repo
from api.dashboard.common import DbConn, FormUser, PageUser, templates
from api.deps import Now
from core.errors import NotFoundError
from service.errors import ForbiddenError, InvalidTransitionError

router = APIRouter(include_in_schema=False)
OrderId = Annotated[int, PathParam(ge=1, le=2**62)]
REFUSALS = (InvalidTransitionError, ForbiddenError, NotFoundError, ValueError)


def _back(order_id: int, error: str | None = None) -> Response:
    suffix = f"?error={quote_plus(error)}" if error else ""
    return RedirectResponse(f"/ui/orders/{order_id}{suffix}", status_code=303)


@router.get("/ui/orders/new", response_class=HTMLResponse)
def report_form(
    request: Request, conn: DbConn, user: PageUser, error: str | None = None
) -> Response:
    return templates.TemplateResponse(request, "intake.html", {"user": user, "error": error})


@router.post("/ui/orders/new")
def report(
    conn: DbConn,
    user: FormUser,
    now: Now,
    robot_id: Annotated[str, Form(pattern=r"^[a-z0-9-]{3,64}$")],
    symptom: Annotated[str, Form(min_length=1, max_length=2000)],
    channel: Annotated[str, Form(max_length=16)] = "phone",
    customer_requests: Annotated[str, Form(max_length=2000)] = "",
    reported_by: Annotated[str, Form(max_length=100)] = "",
    solved: Annotated[str, Form(max_length=1)] = "",
    cause: Annotated[str, Form(max_length=2000)] = "",
    resolution: Annotated[str, Form(max_length=2000)] = "",
    minutes: Annotated[str, Form(pattern=r"^\d{0,3}$")] = "",
) -> Response:
    """Record the call as a work order; phone guidance that worked closes it at once."""
    from scheduler.intake import PhoneGuidance, Report, open_order

    guidance = PhoneGuidance(True, cause, resolution, int(minutes or 0)) if solved else None
    try:
        order = open_order(
            conn,
            Report(
                robot_id, channel, symptom, customer_requests or None, reported_by or None, guidance
            ),
            actor=user.staff_id,
            now=now,
        )
    except REFUSALS as exc:
        reason = getattr(exc, "reason", None) or str(exc)
        return RedirectResponse(f"/ui/orders/new?error={quote_plus(reason)}", status_code=303)
    return _back(order["id"])


@router.post("/ui/orders/{order_id}/callback")
def callback(
    order_id: OrderId,
    conn: DbConn,
    user: FormUser,
    now: Now,
    kind: Annotated[str, Form(pattern=r"^(phone_guided|uncertain_fix|verification)$")],
    satisfied: Annotated[str, Form(pattern=r"^(yes|no)$")],
    notes: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """客户回访: the customer's answer; not satisfied opens a revisit order."""
    from service.orders import record_callback

    repo.visible_order(conn, p=user, order_id=order_id)
    try:
        record_callback(
            conn,
            order_id=order_id,
            kind=kind,
            actor=user.staff_id,
            satisfied=satisfied == "yes",
            notes=notes.strip() or None,
            now=now,
        )
    except REFUSALS as exc:
        return _back(order_id, getattr(exc, "reason", None) or str(exc))
    return _back(order_id)


@router.post("/ui/orders/{order_id}/quote")
def quote(
    order_id: OrderId,
    conn: DbConn,
    user: FormUser,
    now: Now,
    minutes: Annotated[int, Form(ge=1, le=1440)],
    parts: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Price the visit from the fee schedule (out of warranty, 4.2.2A)."""
    from api.dashboard.orders import parse_parts
    from service.quotes import propose

    repo.visible_order(conn, p=user, order_id=order_id)
    try:
        propose(
            conn,
            order_id=order_id,
            minutes=minutes,
            parts=parse_parts(parts),
            actor=user.staff_id,
            now=now,
        )
    except REFUSALS as exc:
        return _back(order_id, getattr(exc, "reason", None) or str(exc))
    return _back(order_id)


@router.post("/ui/orders/{order_id}/quote/accept")
def accept_quote(
    order_id: OrderId,
    conn: DbConn,
    user: FormUser,
    now: Now,
    accepted_by: Annotated[str, Form(min_length=1, max_length=100)],
) -> Response:
    from service.quotes import accept

    repo.visible_order(conn, p=user, order_id=order_id)
    try:
        accept(conn, order_id=order_id, accepted_by=accepted_by, actor=user.staff_id, now=now)
    except REFUSALS as exc:
        return _back(order_id, getattr(exc, "reason", None) or str(exc))
    return _back(order_id)


@router.post("/ui/consultations")
def consultation(
    conn: DbConn,
    user: FormUser,
    now: Now,
    robot_id: Annotated[str, Form(pattern=r"^[a-z0-9-]{3,64}$")],
    question: Annotated[str, Form(min_length=1, max_length=2000)],
    answer: Annotated[str, Form(min_length=1, max_length=4000)],
    channel: Annotated[str, Form(pattern=r"^(phone|wechat|email|walk_in)$")] = "phone",
) -> Response:
    """咨询: a question answered, recorded (listed in the consultations report)."""
    from service.consultations import record

    try:
        record(
            conn,
            robot_id=robot_id,
            question=question,
            answer=answer,
            channel=channel,
            actor=user.staff_id,
            now=now,
        )
    except REFUSALS as exc:
        reason = getattr(exc, "reason", None) or str(exc)
        return RedirectResponse(f"/ui/orders/new?error={quote_plus(reason)}", status_code=303)
    return RedirectResponse("/ui/reports/consultations", status_code=303)
