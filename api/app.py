"""The FastAPI application: routes under /api/v1, OpenAPI at /docs."""

from __future__ import annotations

import time
from dataclasses import replace

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from psycopg_pool import ConnectionPool

from api import dashboard, errors
from api.middleware import Guard
from api.routes import admin, anomalies, auth, fleet, health, reports, service, work_orders
from api.security import Tokens
from api.throttle import LoginThrottle
from core.clock import Clock


def create_app(
    pool: ConnectionPool,
    tokens: Tokens,
    *,
    clock: Clock | None = None,
    throttle: LoginThrottle | None = None,
    statement_timeout_s: float = 5.0,
    refusal_delay_s: float = 0.5,
) -> FastAPI:
    """Build the app around an open pool; the caller owns the pool's lifecycle.

    ``refusal_delay_s`` holds the answer to a locked-out address's sign-in that long
    (without blocking anything else): a closed loop of bad sign-ins then costs the server a
    handful of cheap refusals a second instead of a thousand.

    ``clock`` is the one clock of every request (token expiry included); by default the
    tokens' clock, which is the system clock unless the caller set another.
    """
    app = FastAPI(title="AIC fleet care API", version="1", docs_url="/docs")
    if clock is not None:
        tokens = replace(tokens, clock=clock)
    app.state.pool = pool
    app.state.tokens = tokens
    app.state.clock = tokens.clock
    app.state.throttle = throttle or LoginThrottle()
    app.state.statement_timeout_s = statement_timeout_s
    app.state.refusal_delay_s = refusal_delay_s
    _metrics(app)
    errors.install(app)
    app.add_middleware(Guard)
    routers = (
        auth.router,
        fleet.router,
        admin.router,
        anomalies.router,
        work_orders.router,
        reports.router,
        service.router,
    )
    for router in routers:
        app.include_router(router, prefix="/api/v1")
    app.include_router(health.router)
    app.include_router(dashboard.router)
    app.mount("/static", StaticFiles(directory=dashboard.HERE / "static"), name="static")

    @app.exception_handler(dashboard.CsrfError)
    def bad_form(request: Request, exc: dashboard.CsrfError) -> Response:
        return HTMLResponse(
            f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><p id="csrf-error">{exc}</p>'
            '<p><a href="/ui/orders">返回 Back</a></p>',
            status_code=403,
        )

    @app.exception_handler(dashboard.LoginRequiredError)
    def to_login(request: Request, exc: dashboard.LoginRequiredError) -> Response:
        return RedirectResponse("/login", status_code=303)

    return app


def _metrics(app: FastAPI) -> None:
    """Prometheus metrics of the app: requests, latency, and TimescaleDB job health."""
    registry = CollectorRegistry()
    app.state.metrics = registry
    requests = Counter("aic_api_requests", "HTTP requests", ["method", "status"], registry=registry)
    latency = Histogram("aic_api_request_seconds", "request latency", registry=registry)
    job = ["job_id", "name", "target"]
    app.state.job_gauges = {
        "failing": Gauge(
            "aic_timescale_job_failing", "1 when the job's last run failed", job, registry=registry
        ),
        "failures": Gauge(
            "aic_timescale_job_failures", "the job's failed runs so far", job, registry=registry
        ),
        "since_success": Gauge(
            "aic_timescale_job_seconds_since_success",
            "seconds since the job last succeeded (-1: never)",
            job,
            registry=registry,
        ),
    }

    @app.middleware("http")
    async def measure(request: Request, call_next):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        response: Response = await call_next(request)
        latency.observe(time.perf_counter() - started)
        requests.labels(request.method, str(response.status_code)).inc()
        return response
