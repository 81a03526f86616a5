"""Engineers: the model registry and the evaluation of a simulator run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api import repository as repo
from api.dashboard.common import DbConn, PageUser, templates
from core.db import Conn

router = APIRouter(include_in_schema=False)


@router.get("/ui/models", response_class=HTMLResponse)
def models_page(request: Request, conn: DbConn, user: PageUser, run: str | None = None) -> Response:
    """Engineers: the model registry and an evaluation against a simulator run's ground truth."""
    from analytics.registry import list_models
    from analytics.service import evaluate_run

    if user.role not in ("admin", "engineer", "viewer"):
        return RedirectResponse("/ui/orders?error=engineers only", status_code=303)
    runs = repo.ground_truth_runs(conn)
    report = None
    lead_hours: dict[str, list[float]] = {}
    timelines: list[dict[str, Any]] = []
    chosen = run or (runs[0]["run_id"] if runs else None)
    if chosen:
        try:
            report, data = evaluate_run(conn, run_id=chosen)
        except ValueError:
            report = None  # no ground truth or nothing scored: the page says so
        else:
            lead_hours = {k: r.lead_hours for k, r in report.kinds.items() if r.lead_hours}
            timelines = _timelines(conn, data)
    return templates.TemplateResponse(
        request,
        "models.html",
        {
            "user": user,
            "models": list_models(conn),
            "runs": runs,
            "run": chosen,
            "report": report,
            "lead_hours": lead_hours,
            "timelines": timelines,
        },
    )


def _timelines(conn: Conn, data: dict[str, Any]) -> list[dict[str, Any]]:
    """Score timelines for the engineer page: one failed fault per kind, as epoch seconds."""
    from analytics.plots import one_fault_per_kind, timeline
    from analytics.repository import load_features

    robots = sorted({f["robot_id"] for f in data["truth"] if f.get("failure")})
    features = load_features(conn, start=data["start"], end=data["end"], robots=robots)
    out = []
    for fault, rows, anomalies in one_fault_per_kind(data["truth"], features, data["anomalies"]):
        t = timeline(fault, rows, anomalies)
        assert t is not None

        def ts(d: datetime) -> float:
            return d.timestamp()

        out.append(
            {
                "robot_id": t.robot_id,
                "kind": t.kind,
                "feature": t.feature,
                "level": t.failure_level,
                "x": [ts(d) for d in t.times],
                "y": [round(h, 4) for h in t.health],
                "onset": ts(t.onset),
                "failure": ts(t.failure) if t.failure else None,
                "anomalies": [[ts(a), ts(b)] for a, b in t.anomalies],
            }
        )
    return out
