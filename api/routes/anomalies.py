"""Anomalies: list and filter; leads and engineers acknowledge and clear."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from api import repository as repo
from api.deps import DbConn, Now, User, require
from api.schemas import AnomalyRead, AnomalyStatusRead
from api.security import Principal
from core.db import Conn
from core.errors import NotFoundError

router = APIRouter(prefix="/anomalies", tags=["anomalies"])
Editor = Annotated[Principal, Depends(require("admin", "engineer", "lead"))]


@router.get("")
def list_anomalies(
    conn: DbConn,
    user: User,
    status: Literal["open", "acknowledged", "cleared"] | None = None,
    robot_id: Annotated[str | None, Query(pattern=r"^[a-z0-9-]{3,64}$")] = None,
    kind: Annotated[str | None, Query(pattern=r"^[a-z_]{3,40}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[AnomalyRead]:
    rows = repo.anomalies(
        conn, p=user, status=status, robot_id=robot_id, kind=kind, limit=limit, offset=offset
    )
    return [AnomalyRead.model_validate(r) for r in rows]


AnomalyId = Annotated[int, Path(ge=1, le=2**62)]


def _set_status(
    conn: Conn, user: Principal, anomaly_id: int, status: str, now: datetime
) -> AnomalyStatusRead:
    row = repo.set_anomaly_status(conn, p=user, anomaly_id=anomaly_id, status=status, now=now)
    if row is None:
        raise NotFoundError("anomaly", anomaly_id)
    return AnomalyStatusRead.model_validate(row)


@router.post("/{anomaly_id}/acknowledge")
def acknowledge(anomaly_id: AnomalyId, conn: DbConn, user: Editor, now: Now) -> AnomalyStatusRead:
    return _set_status(conn, user, anomaly_id, "acknowledged", now)


@router.post("/{anomaly_id}/clear")
def clear(anomaly_id: AnomalyId, conn: DbConn, user: Editor, now: Now) -> AnomalyStatusRead:
    return _set_status(conn, user, anomaly_id, "cleared", now)
