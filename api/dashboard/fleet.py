"""The fleet: robots with health badges, one robot's telemetry chart with markers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api import repository as repo
from api.dashboard.common import DbConn, PageUser, templates
from api.deps import Now
from core.clock import zone_label
from core.errors import NotFoundError

router = APIRouter(include_in_schema=False)


@router.get("/ui/robots", response_class=HTMLResponse)
def robots(request: Request, conn: DbConn, user: PageUser, now: Now) -> Response:
    rows = repo.robots(conn, p=user, limit=500, offset=0, now=now)
    for r in rows:
        seen = r["last_seen"]
        r["badge"] = (
            "fault"
            if r["state"] == "fault" or r["err"]
            else "alert"
            if r["open_anomalies"]
            else "offline"
            if seen is None or (now - seen).total_seconds() > 3600
            else "ok"
        )
    return templates.TemplateResponse(request, "robots.html", {"user": user, "robots": rows})


@router.get("/ui/robots/{robot_id}", response_class=HTMLResponse)
def robot(robot_id: str, request: Request, conn: DbConn, user: PageUser, now: Now) -> Response:
    row = repo.robot(conn, p=user, robot_id=robot_id, now=now)
    if row is None:
        raise NotFoundError("robot", robot_id)
    anomalies = repo.anomalies(
        conn, p=user, status=None, robot_id=robot_id, kind=None, limit=50, offset=0
    )
    orders = repo.work_orders(
        conn,
        p=user,
        status=None,
        type_=None,
        robot_id=robot_id,
        sort="created_at",
        descending=True,
        limit=50,
        offset=0,
    )
    markers: list[dict[str, Any]] = [
        {"t": a["window_end"].timestamp(), "label": a["kind"], "kind": "anomaly"} for a in anomalies
    ] + [{"t": o["created_at"].timestamp(), "label": o["number"], "kind": "order"} for o in orders]
    return templates.TemplateResponse(
        request,
        "robot.html",
        {
            "user": user,
            "robot": row,
            "now_ts": now.timestamp(),
            "zone_label": zone_label(now, row["timezone"]),
            "anomalies": anomalies,
            "orders": orders,
            "markers": markers,
            "metrics": repo.ROBOT_METRICS,
        },
    )
