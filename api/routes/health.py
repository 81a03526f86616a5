"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.schemas import HealthRead

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model_exclude_none=True)
def healthz() -> HealthRead:
    return HealthRead(status="ok")


@router.get("/readyz", response_model_exclude_none=True)
def readyz(request: Request, response: Response) -> HealthRead:
    """Ready when the database answers."""
    try:
        with request.app.state.pool.connection(timeout=2) as conn:
            conn.execute("SELECT 1 FROM schema_migrations LIMIT 1")
    except Exception as exc:  # any failure means not ready; say why
        response.status_code = 503
        return HealthRead(status="not ready", reason=type(exc).__name__)
    return HealthRead(status="ready")


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition format",
            "content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
        }
    },
)
def metrics(request: Request) -> Response:
    """Prometheus metrics: requests, and on TimescaleDB the health of its background jobs."""
    _timescale_jobs(request)
    return Response(generate_latest(request.app.state.metrics), media_type=CONTENT_TYPE_LATEST)


def _timescale_jobs(request: Request) -> None:
    """Refresh the job gauges from the database (skipped quietly if it does not answer)."""
    from core.maintenance import timescale_jobs

    gauges = request.app.state.job_gauges
    clock = request.app.state.clock
    try:
        with request.app.state.pool.connection(timeout=2) as conn:
            jobs = timescale_jobs(conn)
    except Exception:  # the database is down: /readyz says so; keep the last values
        return
    now = clock.now()
    for j in jobs:
        labels = (str(j.job_id), j.name, j.target or "")
        gauges["failing"].labels(*labels).set(1 if j.failing else 0)
        gauges["failures"].labels(*labels).set(j.failures)
        age = (now - j.last_success).total_seconds() if j.last_success else -1
        gauges["since_success"].labels(*labels).set(age)
