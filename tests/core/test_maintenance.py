"""Time-series upkeep: partitions ahead, incremental rollups (late data too), retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from core.db import Conn
from core.maintenance import ensure_partitions, refresh_rollups, run_maintenance


def _insert(conn: Conn, ts: datetime, seq: int, temp: float) -> None:
    conn.execute(
        "INSERT INTO telemetry (ts, robot_id, seq, state, wok_temp_c, cycles_total, err)"
        " VALUES (%s, 'aic-t-00001', %s, 'cooking', %s, %s, %s)",
        (ts, seq, temp, seq, ["E203"] if seq == 3 else []),
    )


def test_rollups_are_incremental_and_take_late_data(conn: Conn) -> None:
    """A refresh aggregates new rows; a late row for an old minute updates that minute."""
    base = datetime(2026, 6, 1, 12, 0, 10, tzinfo=UTC)
    ensure_partitions(conn, start=base - timedelta(days=1), end=base)
    _insert(conn, base, 1, 200.0)
    _insert(conn, base + timedelta(seconds=20), 2, 210.0)
    _insert(conn, base + timedelta(minutes=1), 3, 100.0)
    assert refresh_rollups(conn, lag=timedelta(0)) == 2
    rows = conn.execute(
        "SELECT bucket, n, wok_temp_c_avg, wok_temp_c_max, cycles_total, err_count"
        " FROM telemetry_1m WHERE robot_id = 'aic-t-00001' ORDER BY bucket"
    ).fetchall()
    assert [(r[1], r[2], r[3], r[4], r[5]) for r in rows] == [
        (2, 205.0, 210.0, 2, 0),
        (1, 100.0, 100.0, 3, 1),
    ]
    # Nothing new: nothing refreshed.
    assert refresh_rollups(conn, lag=timedelta(0)) == 0
    # Late data for the first minute. received_at is the transaction time, so move the
    # watermark back as a later transaction would see it.
    conn.execute("UPDATE rollup_watermark SET upto = now() - interval '1 microsecond'")
    _insert(conn, base + timedelta(seconds=40), 4, 220.0)
    refresh_rollups(conn, lag=timedelta(0))
    first = conn.execute(
        "SELECT n, wok_temp_c_avg FROM telemetry_1m WHERE robot_id = 'aic-t-00001' AND bucket = %s",
        (base.replace(second=0),),
    ).fetchone()
    assert first == (3, 210.0)
    hour = conn.execute(
        "SELECT n, round(wok_temp_c_avg::numeric, 3), err_count FROM telemetry_1h"
        " WHERE robot_id = 'aic-t-00001'"
    ).fetchone()
    assert hour is not None and hour[0] == 4 and float(hour[1]) == 182.5 and hour[2] == 1


def test_row_outside_partitions_is_refused(conn: Conn) -> None:
    """Without a partition the insert fails loudly (ingest creates partitions first)."""
    import pytest

    with pytest.raises(psycopg.errors.CheckViolation), conn.transaction():
        _insert(conn, datetime(1999, 1, 1, tzinfo=UTC), 1, 1.0)


def test_maintenance_creates_ahead_and_drops_expired(conn: Conn) -> None:
    """Partitions exist a week ahead; those past retention are dropped with their rows."""
    old = datetime.now(UTC) - timedelta(days=500)
    ensure_partitions(conn, start=old, end=old)
    _insert(conn, old, 1, 1.0)
    report = run_maintenance(conn, retention_days=400, ahead_days=7)
    assert report.partitions_dropped >= 1
    ahead = (datetime.now(UTC) + timedelta(days=7)).strftime("telemetry_p%Y%m%d")
    assert conn.execute("SELECT to_regclass(%s) IS NOT NULL", (ahead,)).fetchone() == (True,)
    left = conn.execute("SELECT count(*) FROM telemetry WHERE ts < now() - interval '400 days'")
    assert left.fetchone() == (0,)
