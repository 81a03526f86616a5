"""run_to_db with several processes stores exactly the rows one process stores (issue 19)."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg

from cli.sim import run_to_db
from core.fleet import Fleet
from firmware_sim.engine import build_simulation
from firmware_sim.scenario import Scenario
from tests.conftest import clone_database, drop_database

END = datetime(2026, 10, 1, tzinfo=UTC)
DIGEST = """SELECT count(*), md5(string_agg(
                (t.robot_id, t.seq, t.ts, t.state, t.igbt_temp_c, t.pump_pressure_kpa,
                 t.run_hours, t.err)::text, ',' ORDER BY t.robot_id, t.seq))
            FROM telemetry t"""


def test_forked_store_equals_one_process(
    pg_admin_url: str, fleet_template_url: str, fleet: Fleet
) -> None:
    scenario = Scenario(
        end=END,
        days=2,
        seed=9,
        sample_s=300,
        batch=10,
        max_robots=5,
        random_faults={"fraction": 1.0},
    )
    digests = []
    for workers in (1, 3):
        url = clone_database(pg_admin_url, fleet_template_url, "aic_par")
        try:
            stored = run_to_db(build_simulation(fleet, scenario), url, workers=workers)
            with psycopg.connect(url) as conn:
                digests.append((stored, *conn.execute(DIGEST).fetchone()))  # type: ignore[misc]
        finally:
            drop_database(pg_admin_url, url)
    assert digests[0][0] > 0 and digests[0][0] == digests[0][1]
    assert digests[0] == digests[1]


def test_the_backfill_parses_what_the_payload_says(fleet: Fleet) -> None:
    """The backfill hands ingest the simulator's body instead of decoding the JSON it just
    encoded (issue 19: 4 % of the engineers' loop); the readings are the payload's, field
    for field, and a malformed payload keeps no body (it is decoded — and rejected)."""
    from datetime import timedelta

    from ingest.messages import parse_message

    scenario = Scenario(
        end=END, days=1, seed=9, sample_s=120, batch=10, max_robots=3,
        random_faults={"fraction": 1.0}, network={"malformed_rate": 0.05},
    )  # fmt: skip
    now = END + timedelta(minutes=1)
    kept = malformed = 0
    for m in build_simulation(fleet, scenario).messages():
        if m.malformed:
            assert m.body is None
            malformed += 1
        if m.body is None:
            continue
        kept += 1
        assert parse_message(m.topic, m.payload, now=now, decoded=m.body) == parse_message(
            m.topic, m.payload, now=now
        )
    assert kept > 50 and malformed > 0
