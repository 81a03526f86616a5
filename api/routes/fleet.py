"""Fleet: regions, robots with a health summary, telemetry series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from api import repository as repo
from api.deps import DbConn, Now, User
from api.schemas import RegionRead, RobotRead, TelemetryRead
from core.errors import NotFoundError

router = APIRouter(tags=["fleet"])
RobotId = Annotated[str, Query(pattern=r"^[a-z0-9-]{3,64}$")]


@router.get("/regions")
def regions(conn: DbConn, user: User) -> list[RegionRead]:
    """Regions (区域) the caller may see."""
    return [RegionRead.model_validate(r) for r in repo.regions(conn, p=user)]


@router.get("/robots")
def robots(
    conn: DbConn,
    user: User,
    now: Now,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[RobotRead]:
    """Robots with state, last seen, online, open anomalies, next maintenance and warranty
    (on the site's local date)."""
    rows = repo.robots(conn, p=user, limit=limit, offset=offset, now=now)
    return [RobotRead.model_validate(r) for r in rows]


@router.get("/robots/{robot_id}")
def robot(robot_id: str, conn: DbConn, user: User, now: Now) -> RobotRead:
    row = repo.robot(conn, p=user, robot_id=robot_id, now=now)
    if row is None:
        raise NotFoundError("robot", robot_id)
    return RobotRead.model_validate(row)


@router.get("/robots/{robot_id}/telemetry")
def telemetry(
    robot_id: str,
    conn: DbConn,
    user: User,
    now: Now,
    metric: Annotated[str, Query(pattern=r"^[a-z_]{3,40}$")],
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
    max_points: Annotated[int, Query(ge=10, le=5000)] = 500,
) -> TelemetryRead:
    """A series downsampled from the rollups (avg, min, max per bucket)."""
    if repo.robot(conn, p=user, robot_id=robot_id, now=now) is None:
        raise NotFoundError("robot", robot_id)
    end = end or now
    end = end if end.tzinfo else end.replace(tzinfo=UTC)
    start = start or end - timedelta(days=1)
    start = start if start.tzinfo else start.replace(tzinfo=UTC)
    if start >= end:
        raise ValueError("'from' must be before 'to'")
    points = repo.telemetry(
        conn, robot_id=robot_id, metric=metric, start=start, end=end, max_points=max_points
    )
    return TelemetryRead.model_validate(
        {"robot_id": robot_id, "metric": metric, "from": start, "to": end, "points": points}
    )
