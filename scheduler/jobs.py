"""The scheduler process: named, idempotent APScheduler jobs run by the one leader."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from psycopg_pool import ConnectionPool

from core.clock import BUSINESS_TZ, Clock, SystemClock, format_local, zone
from scheduler.leader import LeaderLock
from scheduler.notify import NotifyConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobContext:
    pool: ConnectionPool
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    clock: Clock = field(default_factory=SystemClock)


def job_maintenance(ctx: JobContext) -> str:
    from core.maintenance import run_maintenance

    with ctx.pool.connection() as conn:
        r = run_maintenance(conn, now=ctx.clock.now(), retention_days=400, ahead_days=7)
    return (
        f"partitions +{r.partitions_created}/-{r.partitions_dropped}, rollups {r.minutes_refreshed}"
    )


def job_scoring(ctx: JobContext) -> str:
    """Live scoring: the feature windows of the hours that received readings since the
    last run, then the robots whose windows changed (late readings of any age included)."""
    from analytics.service import score_live

    with ctx.pool.connection() as conn:
        r = score_live(conn, now=ctx.clock.now())
    steps = ", ".join(f"{k} {v:.2f} s" for k, v in r.seconds.items())
    return f"{r.feature_rows} windows, {r.anomalies_inserted} new anomalies ({steps})"


def job_predictive(ctx: JobContext) -> str:
    from scheduler.orders import generate_predictive

    with ctx.pool.connection() as conn:
        r = generate_predictive(conn, now=ctx.clock.now(), notify=ctx.notify)
    return f"{len(r.created)} predictive orders, {r.merged} merged"


def job_preventive(ctx: JobContext) -> str:
    from scheduler.orders import generate_preventive

    with ctx.pool.connection() as conn:
        r = generate_preventive(conn, now=ctx.clock.now(), notify=ctx.notify)
    return (
        f"{len(r.created)} preventive orders, {r.merged} merged, "
        f"{len(r.robots_without_data)} robots without recent data"
    )


def job_service_records(ctx: JobContext) -> str:
    """Commissioning orders for new installations, software-update records from the
    robots' events, replenishment alerts."""
    from scheduler import commissioning
    from service import parts, software

    now = ctx.clock.now()  # one instant for the whole job
    with ctx.pool.connection() as conn:
        created = commissioning.generate(conn, now=now)
        synced = software.sync_from_events(conn, now=now)
        opened, resolved = parts.check_levels(conn, now=now)
    return (
        f"{len(created)} commissioning orders, {synced} software updates recorded, "
        f"parts alerts +{opened}/-{resolved}"
    )


def job_sla(ctx: JobContext) -> str:
    from scheduler.sla import check

    with ctx.pool.connection() as conn:
        r = check(conn, now=ctx.clock.now(), notify=ctx.notify)
    return (
        f"{len(r.escalated)} escalated, {len(r.overdue)} overdue, "
        f"{len(r.offline)} offline, {len(r.callbacks_due)} callbacks due"
    )


def job_notify(ctx: JobContext) -> str:
    from scheduler.notify import deliver

    with ctx.pool.connection() as conn:
        r = deliver(conn, config=ctx.notify, now=ctx.clock.now())
    return f"{r.sent} sent, {r.retried} to retry, {r.failed} failed"


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: Callable[[JobContext], str]
    trigger: str
    args: dict[str, Any]


# Cron triggers are in the department's working day, China time (SCHEDULER_TZ): the
# preventive run at 02:00 so the day's new orders are there when the leads start work.
SCHEDULER_TZ = BUSINESS_TZ
JOBS = (
    JobSpec("maintenance", job_maintenance, "interval", {"minutes": 5}),
    JobSpec("scoring", job_scoring, "interval", {"minutes": 5}),
    JobSpec("predictive-orders", job_predictive, "interval", {"minutes": 15}),
    JobSpec("preventive-orders", job_preventive, "cron", {"hour": 2, "minute": 0}),
    JobSpec("sla-callbacks-escalations", job_sla, "interval", {"minutes": 5}),
    JobSpec("service-records", job_service_records, "interval", {"minutes": 30}),
    JobSpec("notifications", job_notify, "interval", {"minutes": 1}),
)


def _run(spec: JobSpec, ctx: JobContext) -> None:
    try:
        logger.info("job %s: %s", spec.id, spec.func(ctx))
    except Exception:
        logger.exception("job %s failed; it runs again at its next time", spec.id)


def build(ctx: JobContext) -> BackgroundScheduler:
    sched = BackgroundScheduler(timezone=zone(SCHEDULER_TZ))
    for spec in JOBS:
        sched.add_job(
            _run,
            spec.trigger,
            args=(spec, ctx),
            id=spec.id,
            name=spec.id,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=3600,
            **spec.args,
        )
    return sched


def next_runs(now: datetime) -> list[tuple[str, datetime]]:
    """Each job's next run after ``now``, aware in the scheduler's zone.

    Interval jobs run first when the leader starts, then every interval.
    """
    from apscheduler.triggers.cron import CronTrigger

    local_now = now.astimezone(zone(SCHEDULER_TZ))
    out = []
    for spec in JOBS:
        if spec.trigger == "cron":
            at = CronTrigger(timezone=zone(SCHEDULER_TZ), **spec.args).get_next_fire_time(
                None, local_now
            )
        else:
            at = local_now + timedelta(**spec.args)
        if at is not None:
            out.append((spec.id, at))
    return out


def describe_next_runs(now: datetime) -> list[str]:
    """``preventive-orders: daily 02:00, next 2026-12-03 02:00 (UTC+08:00)`` for each job."""
    lines = []
    for spec, (jid, at) in zip(JOBS, next_runs(now), strict=True):
        every = (
            f"daily {spec.args.get('hour', 0):02d}:{spec.args.get('minute', 0):02d}"
            if spec.trigger == "cron"
            else "every " + ", ".join(f"{v} {k}" for k, v in spec.args.items())
        )
        lines.append(f"{jid}: {every}, next {format_local(at, SCHEDULER_TZ)}")
    return lines


def run(
    ctx: JobContext,
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
        sched = build(ctx)
        sched.start()
        for line in describe_next_runs(ctx.clock.now()):
            logger.info("job %s", line)
        if run_now:
            for spec in JOBS:
                # When a job fires is APScheduler's business, on the machine's clock (a time
                # in the past would count as a misfire and be skipped); what a job decides
                # takes its `now` from ctx.clock.
                sched.modify_job(spec.id, next_run_time=datetime.now(zone(SCHEDULER_TZ)))
        while not stop.is_set() and lock.still_held():
            stop.wait(heartbeat_s)
        sched.shutdown(wait=True)
        if not stop.is_set():
            logger.warning("leader lock lost; standing by")
    lock.release()
