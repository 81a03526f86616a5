"""Customers, sites, events, plans, fault models (engineers) and quarantine (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from api import repository as repo
from api.deps import DbConn, Now, User, require
from api.schemas import (
    CustomerRead,
    EventRead,
    FaultModelRead,
    PlanTaskRead,
    QuarantineRead,
    SiteRead,
)
from api.security import Principal
from core.errors import NotFoundError
from service.software import VERSION

router = APIRouter(tags=["fleet and models"])
Engineer = Annotated[Principal, Depends(require("admin", "engineer"))]
Admin = Annotated[Principal, Depends(require("admin"))]


@router.get("/customers")
def customers(conn: DbConn, user: User) -> list[CustomerRead]:
    return [CustomerRead.model_validate(r) for r in repo.customers(conn, p=user)]


@router.get("/sites")
def sites(conn: DbConn, user: User) -> list[SiteRead]:
    """Sites with address, contact and weekly service hours (site time zone)."""
    return [SiteRead.model_validate(r) for r in repo.sites(conn, p=user)]


@router.get("/robots/{robot_id}/events")
def events(
    robot_id: Annotated[str, Path(pattern=r"^[a-z0-9-]{3,64}$")],
    conn: DbConn,
    user: User,
    now: Now,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[EventRead]:
    if repo.robot(conn, p=user, robot_id=robot_id, now=now) is None:
        raise NotFoundError("robot", robot_id)
    return [EventRead.model_validate(r) for r in repo.events(conn, robot_id=robot_id, limit=limit)]


@router.get("/plans")
def plans(conn: DbConn, user: User) -> list[PlanTaskRead]:
    """The active maintenance plan tasks per robot model."""
    return [PlanTaskRead.model_validate(r) for r in repo.plans(conn)]


@router.get("/fault-models")
def fault_models(conn: DbConn, user: Engineer) -> list[FaultModelRead]:
    from analytics.registry import list_models

    return [FaultModelRead.model_validate(m) for m in list_models(conn)]


@router.post("/fault-models/{model_id}/activate")
def activate(
    model_id: Annotated[int, Path(ge=1, le=2**62)], conn: DbConn, user: Engineer
) -> FaultModelRead:
    from analytics.registry import activate as do

    return FaultModelRead.model_validate(do(conn, model_id=model_id))


@router.post("/fault-models/rollback")
def rollback(
    conn: DbConn,
    user: Engineer,
    robot_model: Annotated[str, Query(pattern=r"^[A-Z0-9][A-Z0-9-]{1,31}$")],
    firmware: Annotated[str | None, Query(pattern=VERSION)] = None,
) -> FaultModelRead:
    """Re-activate the previous version of a robot model's (firmware-specific) model."""
    from analytics.registry import rollback as do

    return FaultModelRead.model_validate(do(conn, robot_model=robot_model, firmware=firmware))


@router.get("/quarantine")
def quarantine(
    conn: DbConn,
    user: Admin,
    reason: Annotated[str | None, Query(pattern=r"^[a-z_]{3,40}$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[QuarantineRead]:
    """Messages that broke the telemetry contract, with their reason and (truncated) payload."""
    rows = repo.quarantine(conn, reason=reason, limit=limit)
    return [QuarantineRead.model_validate(r) for r in rows]
