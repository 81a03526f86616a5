"""Time-series upkeep through the dialect-neutral SQL functions of migration 0002."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from psycopg.pq import TransactionStatus

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
