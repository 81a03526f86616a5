"""Time-series upkeep through the dialect-neutral SQL functions of migration 0002."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

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
    """Refresh the 1-minute and 1-hour rollups for rows received up to ``now - lag``.

    ``received_at`` is written by ingest from its clock, so the bound comes from the
    caller's clock too, never from the database's ``now()``.
    """
    row = conn.execute("SELECT aic_refresh_rollups_upto(%s)", (now - lag,)).fetchone()
    return int(row[0]) if row else 0


def run_maintenance(
    conn: Conn,
    *,
    now: datetime,
    retention_days: int,
    ahead_days: int,
    rollup_lag: timedelta = timedelta(seconds=30),
) -> MaintenanceReport:
    """Create partitions ahead, refresh rollups and drop expired partitions, in one transaction."""
    with conn.transaction():
        created = ensure_partitions(conn, start=now, end=now + timedelta(days=ahead_days))
        minutes = refresh_rollups(conn, now=now, lag=rollup_lag)
        row = conn.execute(
            "SELECT aic_drop_partitions_before(%s)", (now - timedelta(days=retention_days),)
        ).fetchone()
        dropped = int(row[0]) if row else 0
    return MaintenanceReport(created, dropped, minutes)
