"""The scheduler process: named, idempotent APScheduler jobs run by the one leader."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from psycopg_pool import ConnectionPool

from scheduler.leader import LeaderLock

logger = logging.getLogger(__name__)


def job_maintenance(pool: ConnectionPool) -> str:
    from core.maintenance import run_maintenance

    with pool.connection() as conn:
        r = run_maintenance(conn, retention_days=400, ahead_days=7)
    return (
        f"partitions +{r.partitions_created}/-{r.partitions_dropped}, rollups {r.minutes_refreshed}"
    )


def job_scoring(pool: ConnectionPool) -> str:
    from analytics.service import score

    now = datetime.now(UTC)
    with pool.connection() as conn:
        r = score(conn, start=now - timedelta(days=2), end=now)
    return f"{r.anomalies_inserted} new anomalies"


def job_predictive(pool: ConnectionPool) -> str:
    from scheduler.orders import generate_predictive

    with pool.connection() as conn:
        r = generate_predictive(conn, now=datetime.now(UTC))
    return f"{len(r.created)} predictive orders, {r.merged} merged"


def job_preventive(pool: ConnectionPool) -> str:
    from scheduler.orders import generate_preventive

    with pool.connection() as conn:
        r = generate_preventive(conn, now=datetime.now(UTC))
    return (
        f"{len(r.created)} preventive orders, {r.merged} merged, "
        f"{len(r.robots_without_data)} robots without recent data"
    )


def job_sla(pool: ConnectionPool) -> str:
    from scheduler.sla import check

    with pool.connection() as conn:
        r = check(conn, now=datetime.now(UTC))
    return (
        f"{len(r.escalated)} escalated, {len(r.overdue)} overdue, "
        f"{len(r.offline)} offline, {len(r.callbacks_due)} callbacks due"
    )


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: Callable[[ConnectionPool], str]
    trigger: str
    args: dict[str, Any]


JOBS = (
    JobSpec("maintenance", job_maintenance, "interval", {"minutes": 5}),
    JobSpec("scoring", job_scoring, "interval", {"minutes": 15}),
    JobSpec("predictive-orders", job_predictive, "interval", {"minutes": 15}),
    JobSpec("preventive-orders", job_preventive, "cron", {"hour": 2, "minute": 0}),
    JobSpec("sla-callbacks-escalations", job_sla, "interval", {"minutes": 5}),
)


def _run(spec: JobSpec, pool: ConnectionPool) -> None:
    try:
        logger.info("job %s: %s", spec.id, spec.func(pool))
    except Exception:
        logger.exception("job %s failed; it runs again at its next time", spec.id)


def build(pool: ConnectionPool) -> BackgroundScheduler:
    sched = BackgroundScheduler(timezone="UTC")
    for spec in JOBS:
        sched.add_job(
            _run,
            spec.trigger,
            args=(spec, pool),
            id=spec.id,
            name=spec.id,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=3600,
            **spec.args,
        )
    return sched


def run(
    pool: ConnectionPool,
    database_url: str,
    stop: threading.Event,
    *,
    heartbeat_s: float = 2.0,
    run_now: bool = True,
) -> None:
    """Stand by until this process holds the leader lock, then run the jobs while it does."""
    lock = LeaderLock(database_url)
    while not stop.is_set():
        if not lock.try_acquire():
            stop.wait(heartbeat_s)
            continue
        logger.info("this scheduler is the leader")
        sched = build(pool)
        sched.start()
        if run_now:
            for spec in JOBS:
                sched.modify_job(spec.id, next_run_time=datetime.now(UTC))
        while not stop.is_set() and lock.still_held():
            stop.wait(heartbeat_s)
        sched.shutdown(wait=True)
        if not stop.is_set():
            logger.warning("leader lock lost; standing by")
    lock.release()
