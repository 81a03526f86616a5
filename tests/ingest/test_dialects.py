"""Exactly once on either dialect: redelivered readings into old data — compressed chunks
on TimescaleDB, daily partitions on plain PostgreSQL — store nothing twice and keep new rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest

from core.clock import FixedClock
from core.db import Conn
from core.dialect import current
from core.migrate import migrate
from ingest import repository as repo
from ingest.messages import Reading, parse_message
from tests.ingest.helpers import reading

ROBOT = "aic-bj-00001"


@pytest.fixture
def db(empty_database_url: str) -> Iterator[Conn]:
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        migrate(conn)
        repo.prepare_session(conn)
        yield conn


def _readings(clock: FixedClock, seqs: range) -> list[Reading]:
    at = clock.now() - timedelta(days=10)
    out: list[Reading] = []
    for seq in seqs:
        body = json.dumps(reading(ROBOT, seq, at + timedelta(seconds=seq))).encode()
        out.extend(parse_message(f"aic/v1/{ROBOT}/telemetry", body, now=clock.now()).readings)
    return out


def _store(db: Conn, readings: list[Reading], clock: FixedClock) -> list[tuple[str, int]]:
    with db.transaction():
        repo.ensure_days(db, days=sorted({r.ts.date() for r in readings}))
        return repo.insert_readings(db, readings=readings, now=clock.now())


def test_redelivery_into_old_and_compressed_data_is_stored_once(
    db: Conn, clock: FixedClock
) -> None:
    """100 readings 10 days old are stored; on TimescaleDB their chunk is compressed. A
    redelivery of all of them plus 20 new ones stores exactly the 20 new ones."""
    first = _readings(clock, range(1, 101))
    assert len(_store(db, first, clock)) == 100
    if current(db) == "timescale":
        compressed = db.execute(
            "SELECT count(compress_chunk(c, if_not_compressed => true))"
            " FROM show_chunks('telemetry') c"
        ).fetchone()
        assert compressed is not None and compressed[0] >= 1
    again = _store(db, [*first, *_readings(clock, range(101, 121))], clock)
    assert sorted(seq for _, seq in again) == list(range(101, 121))
    rows = db.execute(
        "SELECT count(*), count(DISTINCT seq) FROM telemetry WHERE robot_id = %s", (ROBOT,)
    ).fetchone()
    assert rows == (120, 120)
