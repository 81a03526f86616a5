"""Service records: parts stock and faulty returns, warranty cards, customer files,
software-update entries. Leads act on their own region; HQ reads everything."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from api import repository as repo
from api.deps import DbConn, Now, User, require
from api.schemas import (
    ConsultationRead,
    CreatedRead,
    CustomerFileEntryRead,
    FaultyReturnRead,
    StockRead,
    WarrantyCardRead,
)
from api.security import Principal
from core.errors import NotFoundError
from reports.repository import customer_entries
from service import parts, software, warranty
from service.parts import PART_CODE as PART
from service.software import VERSION

router = APIRouter(tags=["service records"])
Writer = Annotated[Principal, Depends(require("admin", "lead"))]
REGION = r"^[a-z][a-z0-9_-]{1,31}$"


def _region(user: Principal, region: str) -> str:
    """A lead works in their own region; anything else is not found for them."""
    if user.regional and region != user.region:
        raise NotFoundError("region", region)
    return region


class Receipt(BaseModel):
    region: str = Field(pattern=REGION)
    part_code: str = Field(pattern=PART)
    qty: int = Field(ge=1, le=100_000)
    note: str | None = Field(default=None, max_length=500)


@router.post("/parts/receipts")
def receive(body: Receipt, conn: DbConn, user: Writer, now: Now) -> StockRead:
    """A delivery to the regional warehouse (物料补充备存)."""
    on_hand = parts.receive(
        conn,
        region=_region(user, body.region),
        part_code=body.part_code,
        qty=body.qty,
        actor=user.staff_id,
        note=body.note,
        now=now,
    )
    return StockRead(region=body.region, part_code=body.part_code, on_hand=on_hand)


class ReturnReceived(BaseModel):
    note: str | None = Field(default=None, max_length=500)


@router.post("/parts/returns/{return_id}/received")
def faulty_part_back(
    return_id: Annotated[int, Path(ge=1, le=2**62)],
    body: ReturnReceived,
    conn: DbConn,
    user: Writer,
    now: Now,
) -> FaultyReturnRead:
    """坏料回仓: the faulty part removed on a work order is back in the warehouse."""
    back = parts.receive_faulty_return(
        conn,
        return_id=return_id,
        actor=user.staff_id,
        note=body.note,
        region=user.region if user.regional else None,
        now=now,
    )
    return FaultyReturnRead.model_validate(back)


@router.get("/robots/{robot_id}/warranty-card")
def warranty_card(
    robot_id: Annotated[str, Path(pattern=r"^[a-z0-9-]{3,64}$")],
    conn: DbConn,
    user: User,
    now: Now,
) -> WarrantyCardRead:
    """保修卡: warranty dates, usage cap and a line per service visit."""
    if repo.robot(conn, p=user, robot_id=robot_id, now=now) is None:
        raise NotFoundError("robot", robot_id)
    c = warranty.card(conn, robot_id=robot_id)
    if c is None:
        raise NotFoundError("warranty card", robot_id)
    return WarrantyCardRead.model_validate(c)


@router.get("/customers/{customer_id}/file")
def customer_file(
    customer_id: Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")],
    conn: DbConn,
    user: User,
) -> list[CustomerFileEntryRead]:
    """用户档案: the customer's service lines (the caller's region only for leads)."""
    visible = {c["id"] for c in repo.customers(conn, p=user)}
    if customer_id not in visible:
        raise NotFoundError("customer", customer_id)
    rows = customer_entries(
        conn, customer_id=customer_id, region=user.region if user.regional else None
    )
    return [CustomerFileEntryRead.model_validate(r) for r in rows]


class SoftwareUpdate(BaseModel):
    site_id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")
    model: str = Field(pattern=r"^[A-Z0-9][A-Z0-9-]{1,31}$")
    updated_on: date
    quantity: int = Field(ge=1, le=10_000)
    version: str = Field(pattern=VERSION)
    from_version: str | None = Field(default=None, pattern=VERSION)
    operator: str = Field(min_length=1, max_length=100)


@router.post("/software-updates", status_code=201)
def record_update(body: SoftwareUpdate, conn: DbConn, user: Writer, now: Now) -> CreatedRead:
    """软件更新记录: an update done on site by hand."""
    rid = software.record_manual(
        conn,
        site_id=body.site_id,
        model=body.model,
        updated_on=body.updated_on,
        quantity=body.quantity,
        version=body.version,
        operator=body.operator,
        now=now,
        from_version=body.from_version,
        region=user.region if user.regional else None,
    )
    return CreatedRead(id=rid)


class ConsultationCreate(BaseModel):
    """A customer's question (咨询) and the answer given."""

    robot_id: str = Field(pattern=r"^[a-z0-9-]{3,64}$")
    channel: Literal["phone", "wechat", "email", "walk_in"] = "phone"
    question: str = Field(min_length=1, max_length=2000)
    answer: str = Field(min_length=1, max_length=4000)


@router.post("/consultations", status_code=201)
def consult(body: ConsultationCreate, conn: DbConn, user: Writer, now: Now) -> ConsultationRead:
    """咨询: record a question answered (leads, HQ); listed in the consultations report."""
    from service.consultations import record

    row = record(
        conn,
        robot_id=body.robot_id,
        question=body.question,
        answer=body.answer,
        channel=body.channel,
        actor=user.staff_id,
        now=now,
    )
    return ConsultationRead.model_validate(row)
