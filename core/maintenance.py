"""Time-series upkeep through the dialect-neutral SQL functions of migration 0002."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from psycopg.pq import TransactionStatus
from psycopg.rows import class_row

from core import dialect
from core.db import Conn


@dataclass(frozen=True)
class MaintenanceReport:
    partitions_created: int
    partitions_dropped: int
    minutes_refreshed: int


def ensure_partitions(conn: Conn, *, start: object, end: object) -> int:
    """Make sure telemetry can take rows with ``start <= ts <= end``; return partitions created."""
    row = conn.execute("SELECT aic_ensure_partitions(%s, %s)", (start, end)).fetchone()
    return int(row[0]) if row else 0


def refresh_rollups(conn: Conn, *, now: datetime, lag: timedelta) -> int:
    """Refresh the 1-minute and 1-hour rollups for rows received up to ``now - lag``;
    return the robot-minutes touched.

    ``received_at`` is written by ingest from its clock, so the bound comes from the
    caller's clock too, never from the database's ``now()``. Late data of any age
    re-aggregates its old buckets on both dialects. On TimescaleDB the continuous
    aggregates are refreshed day by day, which must happen outside a transaction: the
    connection must not be inside one (autocommit, or idle).
    """
    upto = now - lag
    idle = conn.info.transaction_status == TransactionStatus.IDLE
    autocommit = conn.autocommit
    if idle:  # each statement its own transaction: what TimescaleDB's refresh needs
        conn.autocommit = True
    try:
        if dialect.current(conn) == "plain":
            row = conn.execute("SELECT aic_refresh_rollups_upto(%s)", (upto,)).fetchone()
            return int(row[0]) if row else 0
        if not idle:
            raise ValueError(
                "on TimescaleDB the rollups are refreshed outside a transaction: commit first"
            )
        days = conn.execute(
            "SELECT day_start, minutes FROM aic_rollup_dirty_days(%s)", (upto,)
        ).fetchall()
        for day, _ in days:
            for view in ("telemetry_1m", "telemetry_1h"):  # the hour view reads the minute one
                conn.execute(
                    "CALL refresh_continuous_aggregate(%s, %s, %s)",
                    (view, day, day + timedelta(days=1)),
                )
        conn.execute(
            "UPDATE rollup_watermark SET upto = greatest(upto, %s) WHERE name = 'telemetry'",
            (upto,),
        )
    finally:
        if idle:
            conn.autocommit = autocommit
    return sum(int(n) for _, n in days)


def run_maintenance(
    conn: Conn,
    *,
    now: datetime,
    retention_days: int,
    ahead_days: int,
    rollup_lag: timedelta = timedelta(seconds=30),
) -> MaintenanceReport:
    """Create partitions ahead and drop expired ones (one transaction), then refresh the
    rollups (on TimescaleDB outside a transaction, so ``conn`` must not be in one)."""
    with conn.transaction():
        created = ensure_partitions(conn, start=now, end=now + timedelta(days=ahead_days))
        row = conn.execute(
            "SELECT aic_drop_partitions_before(%s)", (now - timedelta(days=retention_days),)
        ).fetchone()
        dropped = int(row[0]) if row else 0
    minutes = refresh_rollups(conn, now=now, lag=rollup_lag)
    return MaintenanceReport(created, dropped, minutes)


@dataclass(frozen=True)
class JobHealth:
    """One TimescaleDB background job (rollup refresh, compression, retention) and how it runs."""

    job_id: int
    name: str
    target: str | None
    last_status: str | None
    last_success: datetime | None
    failures: int
    next_start: datetime | None
    last_error: str | None

    @property
    def failing(self) -> bool:
        return self.last_status == "Failed"


def timescale_jobs(conn: Conn) -> list[JobHealth]:
    """The TimescaleDB jobs the schema depends on, with their last run and last error; an
    empty list on plain PostgreSQL (the scheduler's maintenance job does that work there)."""
    if dialect.current(conn) != "timescale":
        return []
    with conn.cursor(row_factory=class_row(JobHealth)) as cur:
        return cur.execute(
            """SELECT j.job_id, j.proc_name AS name, j.hypertable_name AS target,
                      s.last_run_status AS last_status,
                      nullif(s.last_successful_finish, '-infinity') AS last_success,
                      coalesce(s.total_failures, 0)::int AS failures, s.next_start,
                      e.err_message AS last_error
               FROM timescaledb_information.jobs j
               LEFT JOIN timescaledb_information.job_stats s USING (job_id)
               LEFT JOIN LATERAL (
                   SELECT err_message FROM timescaledb_information.job_errors x
                   WHERE x.job_id = j.job_id ORDER BY x.start_time DESC LIMIT 1) e ON true
               WHERE j.hypertable_name IN ('telemetry', 'telemetry_1m', 'telemetry_1h')
               ORDER BY j.job_id"""
        ).fetchall()
