"""Work orders: list (filter, allow-listed sort, pages), detail, lifecycle transitions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api import repository as repo
from api.deps import DbConn, Now, User
from api.schemas import (
    CallbackDoneRead,
    QuoteRead,
    TransitionRead,
    WorkOrderRead,
    WorkOrderSummary,
)
from service.orders import record_callback, transition
from service.parts import PART_CODE
from service.software import VERSION

router = APIRouter(prefix="/work-orders", tags=["work orders"])
Status = Literal[
    "new",
    "scheduled",
    "confirmed",
    "dispatched",
    "in_progress",
    "completed",
    "verified",
    "on_hold",
    "cancelled",
]
Sort = Literal["due_at", "priority", "created_at", "updated_at", "status", "number"]


class PartUsed(BaseModel):
    code: str = Field(pattern=PART_CODE)
    qty: int = Field(default=1, ge=1, le=1000)


class Completion(BaseModel):
    """The completed 维修工单 / 维护保养工作单. The price is not entered: it comes from the
    fee schedule (非保费用结算标准) and is charged only out of warranty."""

    cause: str = Field(min_length=1, max_length=2000)
    resolution: str = Field(min_length=1, max_length=2000)
    parts_used: list[PartUsed] = Field(default_factory=list, max_length=50)
    time_spent_min: int = Field(ge=1, le=24 * 60)
    rating: int | None = Field(default=None, ge=1, le=5, description="客户评价, if given")
    signer: str | None = Field(default=None, min_length=1, max_length=100, description="客户签名")
    customer_declined: str | None = Field(
        default=None,
        max_length=500,
        description="the customer declined to rate or sign, and why (never forced, 4.2.8C)",
    )
    training: str | None = Field(
        default=None,
        max_length=1000,
        description="what the customer was trained in after the fix (4.2.7.3C), if anything",
    )
    signature: str | None = Field(
        default=None,
        max_length=300_000,
        pattern=r"^data:image/png;base64,[A-Za-z0-9+/=]+$",
        description="the customer's signature drawn on the technician's phone (PNG data URL)",
    )
    phone_guided: bool = False
    uncertain: bool = False
    warranty_void_reason: str | None = Field(default=None, max_length=500)
    checklist: dict[str, bool] | None = Field(default=None, max_length=50)
    firmware_version: str | None = Field(default=None, pattern=VERSION)


class TransitionCreate(BaseModel):
    to: Status
    note: str | None = Field(default=None, max_length=2000)
    technician_id: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")
    window_start: datetime | None = None
    window_end: datetime | None = None
    completion: Completion | None = None
    override_reason: str | None = Field(
        default=None,
        max_length=500,
        description="why a window in the kitchen's service hours is accepted (customer agreed)",
    )
    no_callback_reason: str | None = Field(
        default=None,
        max_length=500,
        description="verified without a done callback: why none was possible",
    )


@router.get("")
def list_orders(
    conn: DbConn,
    user: User,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    type_: Annotated[
        Literal["repair", "preventive", "predictive", "commissioning", "software_update"] | None,
        Query(alias="type"),
    ] = None,
    robot_id: Annotated[str | None, Query(pattern=r"^[a-z0-9-]{3,64}$")] = None,
    sort: Sort = "due_at",
    desc: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[WorkOrderSummary]:
    """Orders the caller may see: a lead their region's, a technician their own."""
    rows = repo.work_orders(
        conn,
        p=user,
        status=status_,
        type_=type_,
        robot_id=robot_id,
        sort=sort,
        descending=desc,
        limit=limit,
        offset=offset,
    )
    return [WorkOrderSummary.model_validate(r) for r in rows]


class PhoneGuidanceCreate(BaseModel):
    resolved: bool = Field(description="the customer fixed it with the lead's guidance")
    cause: str = Field(default="", max_length=2000)
    resolution: str = Field(default="", max_length=2000)
    minutes: int = Field(default=0, ge=0, le=600)


class ReportCreate(BaseModel):
    """A customer's report (报修) or complaint: the 维修工单's fields (4.2.1A)."""

    robot_id: str = Field(pattern=r"^[a-z0-9-]{3,64}$")
    channel: Literal["phone", "wechat", "email", "complaint", "walk_in"]
    symptom: str = Field(min_length=1, max_length=2000, description="故障现象")
    customer_requests: str | None = Field(default=None, max_length=2000, description="用户要求")
    reported_by: str | None = Field(default=None, max_length=100, description="who called")
    phone_guidance: PhoneGuidanceCreate | None = None


@router.post("", status_code=201)
def open_order(body: ReportCreate, conn: DbConn, user: User, now: Now) -> WorkOrderSummary:
    """Open a repair order from a customer's call, message or complaint (leads, HQ); with
    ``phone_guidance.resolved`` it is closed at once as a phone-guided fix with a callback
    due in 2 hours (4.2.2B), otherwise routed with a proposed visit window."""
    from scheduler.intake import PhoneGuidance, Report, open_order

    g = body.phone_guidance
    order = open_order(
        conn,
        Report(
            robot_id=body.robot_id,
            channel=body.channel,
            symptom=body.symptom,
            customer_requests=body.customer_requests,
            reported_by=body.reported_by,
            guidance=PhoneGuidance(g.resolved, g.cause, g.resolution, g.minutes) if g else None,
        ),
        actor=user.staff_id,
        now=now,
    )
    return WorkOrderSummary.model_validate(order)


class SoftwareUpdateOrderCreate(BaseModel):
    robot_id: str = Field(pattern=r"^[a-z0-9-]{3,64}$")
    version: str = Field(pattern=VERSION, description="the release to install, e.g. 3.3.0")


@router.post("/software-updates", status_code=201)
def open_software_update(
    body: SoftwareUpdateOrderCreate, conn: DbConn, user: User, now: Now
) -> WorkOrderSummary:
    """Plan a software update (软件更新) of one robot as a visit (leads, HQ)."""
    from scheduler.intake import open_software_update as do_open

    order = do_open(
        conn, robot_id=body.robot_id, version=body.version, actor=user.staff_id, now=now
    )
    return WorkOrderSummary.model_validate(order)


@router.get("/{order_id}")
def get_order(
    order_id: Annotated[int, Path(ge=1, le=2**62)], conn: DbConn, user: User
) -> WorkOrderRead:
    order = repo.visible_order(conn, p=user, order_id=order_id)
    return WorkOrderRead.model_validate(order)


@router.post("/{order_id}/transitions")
def move(
    order_id: Annotated[int, Path(ge=1, le=2**62)],
    body: TransitionCreate,
    conn: DbConn,
    user: User,
    now: Now,
) -> TransitionRead:
    """Move the order. Who may is the domain's policy (service.policy): a refusal for role,
    region or assignment answers 403, a refusal of the lifecycle 409, both with the reason."""
    repo.visible_order(conn, p=user, order_id=order_id)
    window = None
    if body.window_start or body.window_end:
        if not (body.window_start and body.window_end and body.window_start < body.window_end):
            raise ValueError("a window needs window_start < window_end, with time zones")
        window = (body.window_start, body.window_end)
    order = transition(
        conn,
        order_id=order_id,
        to=body.to,
        actor=user.staff_id,
        note=body.note,
        technician_id=body.technician_id,
        window=window,
        completion=body.completion.model_dump() if body.completion else None,
        override_reason=body.override_reason,
        no_callback_reason=body.no_callback_reason,
        now=now,
    )
    return TransitionRead.model_validate(order)


class CallbackCreate(BaseModel):
    satisfied: bool
    notes: str | None = Field(default=None, max_length=2000)


@router.post("/{order_id}/callbacks/{kind}")
def callback(
    order_id: Annotated[int, Path(ge=1, le=2**62)],
    kind: Literal["phone_guided", "uncertain_fix", "verification"],
    body: CallbackCreate,
    conn: DbConn,
    user: User,
    now: Now,
) -> CallbackDoneRead:
    """Record a customer callback (客户回访); an unsatisfied customer means a new visit."""
    repo.visible_order(conn, p=user, order_id=order_id)
    done = record_callback(
        conn,
        order_id=order_id,
        kind=kind,
        actor=user.staff_id,
        satisfied=body.satisfied,
        notes=body.notes,
        now=now,
    )
    return CallbackDoneRead.model_validate(done)


class QuoteCreate(BaseModel):
    minutes: int = Field(ge=1, le=24 * 60, description="expected minutes on site")
    parts: list[PartUsed] = Field(default_factory=list, max_length=50)


class QuoteAccept(BaseModel):
    accepted_by: str = Field(min_length=1, max_length=100, description="the customer's contact")


@router.post("/{order_id}/quote")
def quote(
    order_id: Annotated[int, Path(ge=1, le=2**62)],
    body: QuoteCreate,
    conn: DbConn,
    user: User,
    now: Now,
) -> QuoteRead:
    """Price an out-of-warranty visit from the fee schedule (非保费用结算标准, 4.2.2A)."""
    from service.quotes import propose

    repo.visible_order(conn, p=user, order_id=order_id)
    q = propose(
        conn,
        order_id=order_id,
        minutes=body.minutes,
        parts=[p.model_dump() for p in body.parts],
        actor=user.staff_id,
        now=now,
    )
    return QuoteRead.model_validate(q)


@router.post("/{order_id}/quote/accept")
def accept_quote(
    order_id: Annotated[int, Path(ge=1, le=2**62)],
    body: QuoteAccept,
    conn: DbConn,
    user: User,
    now: Now,
) -> QuoteRead:
    """The customer agreed to the quote: the visit may be dispatched."""
    from service.quotes import accept

    repo.visible_order(conn, p=user, order_id=order_id)
    q = accept(conn, order_id=order_id, accepted_by=body.accepted_by, actor=user.staff_id, now=now)
    return QuoteRead.model_validate(q)
