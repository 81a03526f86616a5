"""Time-series upkeep: partitions ahead, incremental rollups (late data too), retention.

Every time comes from the test: ``received_at`` is written as ingest would (from its clock)
and the refresh and retention take ``now`` from the caller, never the database's ``now()``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from core.clock import FixedClock
from core.db import Conn
from core.maintenance import ensure_partitions, refresh_rollups, run_maintenance

pytestmark = pytest.mark.clock


def _insert(conn: Conn, ts: datetime, seq: int, temp: float, *, received: datetime) -> None:
    conn.execute(
        "INSERT INTO telemetry (ts, robot_id, seq, state, wok_temp_c, cycles_total, err,"
        " received_at) VALUES (%s, 'aic-t-00001', %s, 'cooking', %s, %s, %s, %s)",
        (ts, seq, temp, seq, ["E203"] if seq == 3 else [], received),
    )


def test_rollups_are_incremental_and_take_late_data(conn: Conn, clock: FixedClock) -> None:
    """A refresh aggregates rows received up to the caller's ``now``; a late row for an old
    minute, received after that refresh, updates that minute at the next one."""
    base = clock.now().replace(minute=0, second=10, microsecond=0) - timedelta(hours=1)
    got = clock.now()
    ensure_partitions(conn, start=base - timedelta(days=1), end=base)
    _insert(conn, base, 1, 200.0, received=got)
    _insert(conn, base + timedelta(seconds=20), 2, 210.0, received=got)
    _insert(conn, base + timedelta(minutes=1), 3, 100.0, received=got)
    # Rows received after the refresh's bound wait for the next refresh.
    _insert(conn, base + timedelta(minutes=2), 5, 1.0, received=got + timedelta(minutes=1))
    assert refresh_rollups(conn, now=got, lag=timedelta(0)) == 2
    rows = conn.execute(
        "SELECT bucket, n, wok_temp_c_avg, wok_temp_c_max, cycles_total, err_count"
        " FROM telemetry_1m WHERE robot_id = 'aic-t-00001' ORDER BY bucket"
    ).fetchall()
    assert [(r[1], r[2], r[3], r[4], r[5]) for r in rows] == [
        (2, 205.0, 210.0, 2, 0),
        (1, 100.0, 100.0, 3, 1),
    ]
    # Nothing new: nothing refreshed.
    assert refresh_rollups(conn, now=got, lag=timedelta(0)) == 0
    conn.execute("DELETE FROM telemetry WHERE seq = 5")
    # Late data for the first minute, received a little after the first refresh.
    _insert(conn, base + timedelta(seconds=40), 4, 220.0, received=got + timedelta(seconds=30))
    refresh_rollups(conn, now=got + timedelta(minutes=2), lag=timedelta(0))
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
        _insert(
            conn,
            datetime(1999, 1, 1, tzinfo=UTC),
            1,
            1.0,
            received=datetime(1999, 1, 1, tzinfo=UTC),
        )


def test_maintenance_creates_ahead_and_drops_expired(conn: Conn, clock: FixedClock) -> None:
    """Partitions exist a week ahead of the caller's ``now``; those past retention are dropped
    with their rows; a row inside retention stays."""
    now = clock.now()
    old = now - timedelta(days=500)
    kept = now - timedelta(days=390)
    ensure_partitions(conn, start=old, end=old)
    ensure_partitions(conn, start=kept, end=kept)
    _insert(conn, old, 1, 1.0, received=old)
    _insert(conn, kept, 2, 1.0, received=kept)
    report = run_maintenance(conn, now=now, retention_days=400, ahead_days=7)
    assert report.partitions_dropped >= 1
    ahead = (now + timedelta(days=7)).strftime("telemetry_p%Y%m%d")
    assert conn.execute("SELECT to_regclass(%s) IS NOT NULL", (ahead,)).fetchone() == (True,)
    left = conn.execute("SELECT seq FROM telemetry WHERE robot_id = 'aic-t-00001'").fetchall()
    assert left == [(2,)]
