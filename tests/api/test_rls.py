"""Row-level security: the aic_api role sees and changes only its region's rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.types.json import Jsonb

from scheduler.orders import generate_predictive


def test_rls_backstop_without_any_where_clause(fresh_db: str) -> None:
    """Even a query without a region filter returns only the region set for the transaction."""
    now = datetime.now(UTC)
    with psycopg.connect(fresh_db) as conn:
        for robot in ("aic-bj-00001", "aic-sh-00019"):
            conn.execute(
                """INSERT INTO anomalies (robot_id, detector, model_version, component, kind,
                       window_start, window_end, score, severity, evidence)
                   VALUES (%s, 'rules', 'rules/1', 'exhaust_fan', 'exhaust_fan_failure', %s, %s,
                           1, 'critical', %s)""",
                (robot, now - timedelta(days=1), now, Jsonb({})),
            )
        generate_predictive(conn, now=now)
        conn.commit()
        assert conn.execute("SELECT count(DISTINCT region) FROM work_orders").fetchone() == (2,)

        conn.execute("SET LOCAL ROLE aic_api")
        conn.execute("SELECT set_config('aic.region', 'north', true)")
        assert conn.execute("SELECT DISTINCT region FROM work_orders").fetchall() == [("north",)]
        assert conn.execute("SELECT DISTINCT region FROM sites").fetchall() == [("north",)]
        robots = conn.execute(
            "SELECT count(*) FROM robots r JOIN sites s ON s.id = r.site_id"
            " WHERE s.region <> 'north'"
        ).fetchone()
        assert robots == (0,)
        assert conn.execute("SELECT robot_id FROM anomalies").fetchall() == [("aic-bj-00001",)]
        changed = conn.execute("UPDATE work_orders SET priority = 4 WHERE region = 'east'")
        assert changed.rowcount == 0
        conn.rollback()

        conn.execute("SET LOCAL ROLE aic_api")
        conn.execute("SELECT set_config('aic.region', '', true)")  # HQ roles: every region
        assert conn.execute("SELECT count(DISTINCT region) FROM work_orders").fetchone() == (2,)
        conn.rollback()
