"""Shared API fixtures: a fleet database with passwords, anomalies and orders, and a client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from api.app import create_app
from api.repository import set_password
from api.security import Tokens, hash_password
from core.clock import FixedClock

PASSWORD = "correct horse battery"
NORTH_ROBOT = "aic-bj-00001"
EAST_ROBOT = "aic-sh-00019"
USERS = {
    "hq-manager": "admin",
    "eng-fault-models": "engineer",
    "deng-keming": "lead",
    "zheng-zhuzi": "lead",
    "zeng-guangkuo": "technician",
}


@pytest.fixture
def api(fresh_db: str, clock: FixedClock) -> Iterator[tuple[TestClient, Tokens, str]]:
    """A client of the app on a fleet database; the app's clock (``tokens.clock``) stands at
    the session's instant, and so does the data made here."""
    now = clock.now()
    with psycopg.connect(fresh_db) as conn:
        conn.execute("INSERT INTO staff (id, name, role) VALUES ('hq-viewer', 'HQ 查看', 'viewer')")
        hashed = hash_password(PASSWORD)
        for staff in [*USERS, "hq-viewer"]:
            assert set_password(conn, staff_id=staff, password_hash=hashed, now=now)
        for robot, _region_order in ((NORTH_ROBOT, "north"), (EAST_ROBOT, "east")):
            conn.execute(
                """INSERT INTO anomalies (robot_id, detector, model_version, component, kind,
                       window_start, window_end, score, severity, evidence)
                   VALUES (%s, 'rules', 'rules/1', 'exhaust_fan', 'exhaust_fan_failure', %s, %s,
                           1, 'critical', %s)""",
                (robot, now - timedelta(days=1), now, Jsonb({})),
            )
        from scheduler.orders import generate_predictive

        generate_predictive(conn, now=now)
        conn.execute(
            "UPDATE work_orders SET technician_id = 'zeng-guangkuo' WHERE region = 'north'"
        )
    with ConnectionPool(fresh_db, min_size=1, max_size=4) as pool:
        tokens = Tokens.with_secret("test-secret-key-that-is-long-enough-32b", clock=clock)
        # No tarpit here (tests send 100 bad sign-ins); tests/api/test_signin.py has its own.
        with TestClient(create_app(pool, tokens, refusal_delay_s=0.0)) as client:
            yield client, tokens, fresh_db


def login(client: TestClient, staff: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": staff, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def seed_cooling_fault(
    conn: psycopg.Connection[tuple[object, ...]], *, run_id: str, now: datetime
) -> None:
    """A labelled cooling fault on aic-bj-00002 with 12 daily windows: 7 of baseline, then
    the IGBT rise climbs 10 % a day (for the engineer page's evaluation and timelines)."""
    day0 = now - timedelta(days=13)
    conn.execute(
        """INSERT INTO fault_ground_truth (run_id, robot_id, kind, component, error_code,
               onset, failure, seed)
           VALUES (%s, 'aic-bj-00002', 'cooling_degradation', 'igbt_cooling', 'E203', %s, %s, 1)""",
        (run_id, day0 + timedelta(days=7), day0 + timedelta(days=12, hours=6)),
    )
    for d in range(12):
        conn.execute(
            """INSERT INTO robot_features (robot_id, window_start, n_readings, n_cooking,
                   err_count, igbt_rise_per_kw, fw)
               VALUES ('aic-bj-00002', %s, 600, 100, 0, %s, '3.2.0')""",
            (day0 + timedelta(days=d), 8.0 if d < 7 else 8.0 * (1 + 0.1 * (d - 6))),
        )


def form_token(client: TestClient, path: str = "/ui/orders") -> str:
    """The CSRF token a page's forms carry, read from the page as a browser has it."""
    import re

    found = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get(path).text)
    assert found, f"no form token on {path}"
    return found.group(1)


def agree_quote(client: TestClient, headers: dict[str, str], order_id: int) -> None:
    """Out of warranty, the customer agrees to a quote before the visit is dispatched (4.2.2A)."""
    order = client.get(f"/api/v1/work-orders/{order_id}", headers=headers).json()
    if order["warranty"] != "out_of_warranty":
        return
    q = client.post(f"/api/v1/work-orders/{order_id}/quote", json={"minutes": 60}, headers=headers)
    assert q.status_code == 200, q.text
    a = client.post(
        f"/api/v1/work-orders/{order_id}/quote/accept",
        json={"accepted_by": "王店长"},
        headers=headers,
    )
    assert a.status_code == 200, a.text
