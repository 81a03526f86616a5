"""Time-series upkeep: partitions ahead, incremental rollups (late data too), retention.

Every time comes from the test: ``received_at`` is written as ingest would (from its clock)
and the refresh and retention take ``now`` from the caller, never the database's ``now()``.
Each test runs on whichever dialect the server speaks (plain PostgreSQL here and in CI;
TimescaleDB when ``AIC_TEST_DATABASE_URL`` points at a server that preloads it) and states
where the two differ.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from core.clock import FixedClock
from core.db import Conn
from core.dialect import current
from core.maintenance import ensure_partitions, refresh_rollups, run_maintenance
from core.migrate import migrate

pytestmark = pytest.mark.clock


@pytest.fixture
def db(empty_database_url: str) -> Iterator[Conn]:
    """A migrated database of its own, autocommit (TimescaleDB refreshes outside transactions)."""
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        migrate(conn)
        yield conn


def _insert(conn: Conn, ts: datetime, seq: int, temp: float, *, received: datetime) -> None:
    conn.execute(
        "INSERT INTO telemetry (ts, robot_id, seq, state, wok_temp_c, cycles_total, err,"
        " received_at) VALUES (%s, 'aic-t-00001', %s, 'cooking', %s, %s, %s, %s)",
        (ts, seq, temp, seq, ["E203"] if seq == 3 else [], received),
    )


def _minutes(conn: Conn) -> list[tuple[object, ...]]:
    return conn.execute(
        "SELECT n, wok_temp_c_avg, wok_temp_c_max, cycles_total, err_count"
        " FROM telemetry_1m WHERE robot_id = 'aic-t-00001' ORDER BY bucket"
    ).fetchall()


def test_rollups_are_incremental_and_take_late_data(db: Conn, clock: FixedClock) -> None:
    """A refresh aggregates rows received up to the caller's ``now``; rows received later
    wait for the next refresh; a reading a week late, received after a refresh, updates
    its old minute and hour at the next one — the same on both dialects."""
    got = clock.now()
    base = got.replace(minute=0, second=10, microsecond=0) - timedelta(hours=1)
    week_ago = base - timedelta(days=7)
    ensure_partitions(db, start=week_ago, end=base)
    _insert(db, week_ago, 1, 200.0, received=got - timedelta(days=7))
    assert refresh_rollups(db, now=got - timedelta(days=7), lag=timedelta(0)) == 1
    _insert(db, base, 2, 200.0, received=got)
    _insert(db, base + timedelta(seconds=20), 3, 210.0, received=got)
    _insert(db, base + timedelta(minutes=1), 4, 100.0, received=got)
    # Received after this refresh's bound: the next refresh takes it.
    _insert(db, base + timedelta(minutes=2), 5, 1.0, received=got + timedelta(minutes=1))
    assert refresh_rollups(db, now=got, lag=timedelta(0)) == 2
    assert _minutes(db)[1:3] == [(2, 205.0, 210.0, 3, 1), (1, 100.0, 100.0, 4, 0)]
    if current(db) == "plain":  # TimescaleDB refreshes whole days: it has seq 5 already
        assert len(_minutes(db)) == 3
    assert refresh_rollups(db, now=got, lag=timedelta(0)) == 0  # nothing new
    db.execute("DELETE FROM telemetry WHERE seq = 5")
    # Late data: for the first minute of the hour, and for the reading a week ago.
    late = got + timedelta(seconds=30)
    _insert(db, base + timedelta(seconds=40), 6, 220.0, received=late)
    _insert(db, week_ago + timedelta(seconds=30), 7, 100.0, received=late)
    refresh_rollups(db, now=got + timedelta(minutes=2), lag=timedelta(0))
    assert _minutes(db)[0][:2] == (2, 150.0)  # the week-old minute, re-aggregated
    assert _minutes(db)[1][:2] == (3, 210.0)
    hour = db.execute(
        "SELECT n, round(wok_temp_c_avg::numeric, 3), err_count FROM telemetry_1h"
        " WHERE robot_id = 'aic-t-00001' AND bucket = %s",
        (base.replace(second=0),),
    ).fetchone()
    assert hour is not None and hour[0] == 4 and float(hour[1]) == 182.5 and hour[2] == 1


def test_rows_for_a_day_without_partition(db: Conn) -> None:
    """Plain PostgreSQL refuses a row for a day without a partition, loudly (ingest creates
    partitions first); TimescaleDB creates the chunk and stores it."""
    old = datetime(1999, 1, 1, tzinfo=UTC)
    if current(db) == "plain":
        with pytest.raises(psycopg.errors.CheckViolation):
            _insert(db, old, 1, 1.0, received=old)
    else:
        _insert(db, old, 1, 1.0, received=old)
        assert db.execute("SELECT count(*) FROM telemetry").fetchone() == (1,)


def test_maintenance_creates_ahead_and_drops_expired(db: Conn, clock: FixedClock) -> None:
    """Partitions exist a week ahead of the caller's ``now`` (plain; TimescaleDB makes chunks
    as rows come); data past retention is dropped with its partition or chunk on both; a
    row inside retention stays; the rollups are refreshed in the same run."""
    now = clock.now()
    old = now - timedelta(days=500)
    kept = now - timedelta(days=390)
    ensure_partitions(db, start=old, end=old)
    ensure_partitions(db, start=kept, end=kept)
    _insert(db, old, 1, 1.0, received=old)
    _insert(db, kept, 2, 1.0, received=kept)
    report = run_maintenance(db, now=now, retention_days=400, ahead_days=7)
    assert report.partitions_dropped >= 1
    assert report.minutes_refreshed == 1  # the kept row; the dropped one is gone
    if current(db) == "plain":
        ahead = (now + timedelta(days=7)).strftime("telemetry_p%Y%m%d")
        assert db.execute("SELECT to_regclass(%s) IS NOT NULL", (ahead,)).fetchone() == (True,)
    left = db.execute("SELECT seq FROM telemetry WHERE robot_id = 'aic-t-00001'").fetchall()
    assert left == [(2,)]


def test_timescale_refresh_needs_no_open_transaction(db: Conn, clock: FixedClock) -> None:
    """On TimescaleDB a refresh inside an open transaction is refused with a message (the
    continuous-aggregate refresh cannot run in one); on plain PostgreSQL it is allowed."""
    with db.transaction():
        if current(db) == "plain":
            assert refresh_rollups(db, now=clock.now(), lag=timedelta(0)) == 0
        else:
            with pytest.raises(ValueError, match="outside a transaction"):
                refresh_rollups(db, now=clock.now(), lag=timedelta(0))


def test_timescale_jobs_are_watched(db: Conn, empty_database_url: str) -> None:
    """On TimescaleDB the jobs the rollups, compression and retention depend on are listed
    with their last run and last error, and `aic db status` exits 1 when one is failing
    (a server whose jobs all failed went unnoticed before); plain PostgreSQL has none."""
    from typer.testing import CliRunner

    from cli.main import app
    from core.maintenance import timescale_jobs

    jobs = timescale_jobs(db)
    result = CliRunner().invoke(app, ["db", "status"], env={"AIC_DATABASE_URL": empty_database_url})
    metrics = _api_metrics(empty_database_url)
    if current(db) == "plain":
        assert jobs == [] and result.exit_code == 0 and "TimescaleDB jobs" not in result.output
        assert "aic_timescale_job_failing{" not in metrics
        return
    for j in jobs:  # the API's /metrics carries the same, for alerting
        assert f'aic_timescale_job_failing{{job_id="{j.job_id}"' in metrics
    assert {(j.name, j.target) for j in jobs} >= {
        ("policy_compression", "telemetry"),
        ("policy_retention", "telemetry"),
        ("policy_refresh_continuous_aggregate", "telemetry_1m"),
        ("policy_refresh_continuous_aggregate", "telemetry_1h"),
    }
    assert "TimescaleDB jobs" in result.output
    assert result.exit_code == (1 if any(j.failing for j in jobs) else 0)
    assert all(j.last_error for j in jobs if j.failing)


def _api_metrics(url: str) -> str:
    from fastapi.testclient import TestClient
    from psycopg_pool import ConnectionPool

    from api.app import create_app
    from api.security import Tokens

    with ConnectionPool(url, min_size=1, max_size=2) as pool:
        app = create_app(pool, Tokens.with_secret("metrics-test-secret-key-long-enough-0"))
        with TestClient(app) as client:
            return client.get("/metrics").text
