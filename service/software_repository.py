"""SQL of the software-update records (软件更新记录) and of per-version behaviour.

Repositories never commit: callers own the transaction.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from psycopg.rows import dict_row

from core.db import Conn


def sync_from_events(conn: Conn, *, now: datetime) -> int:
    """Record every ``firmware_updated`` event not yet recorded; return how many were new."""
    cur = conn.execute(
        r"""INSERT INTO software_updates (site_id, robot_id, model, updated_on, quantity, version,
                                          from_version, operator, source, event_key, recorded_at)
            SELECT r.site_id, e.robot_id, r.model, (e.ts AT TIME ZONE s.timezone)::date, 1,
                   coalesce(nullif(split_part(e.detail, ' -> ', 2), ''), e.fw),
                   nullif(split_part(e.detail, ' -> ', 1), ''), 'ota', 'event',
                   e.robot_id || '/' || e.ts || '/' || e.seq, %s
            FROM robot_events e JOIN robots r ON r.robot_id = e.robot_id
            JOIN sites s ON s.id = r.site_id
            WHERE e.type = 'firmware_updated'
            ON CONFLICT (event_key) DO NOTHING""",
        (now,),
    )
    return cur.rowcount


def records(
    conn: Conn, *, region: str | None = None, start: date | None = None, end: date | None = None
) -> list[dict[str, Any]]:
    """The manual's record: site, date, model, quantity, version, operator."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT s.region, u.site_id, s.name AS site, u.updated_on, u.model,
                      sum(u.quantity)::int AS quantity, u.version,
                      string_agg(DISTINCT u.from_version, ', ') AS from_version,
                      u.operator, string_agg(DISTINCT u.source, ', ') AS source
               FROM software_updates u JOIN sites s ON s.id = u.site_id
               WHERE (%(region)s::text IS NULL OR s.region = %(region)s)
                 AND (%(start)s::date IS NULL OR u.updated_on >= %(start)s)
                 AND (%(end)s::date IS NULL OR u.updated_on < %(end)s)
               GROUP BY s.region, u.site_id, s.name, u.updated_on, u.model, u.version, u.operator
               ORDER BY u.updated_on, s.region, u.site_id, u.version""",
            {"region": region, "start": start, "end": end},
        ).fetchall()


def site_region_zone(conn: Conn, *, site_id: str) -> tuple[str, str] | None:
    """(region, time zone) of a site, None if there is no such site."""
    row = conn.execute("SELECT region, timezone FROM sites WHERE id = %s", (site_id,)).fetchone()
    return None if row is None else (str(row[0]), str(row[1]))


def model_exists(conn: Conn, *, model: str) -> bool:
    return (
        conn.execute("SELECT 1 FROM robot_models WHERE code = %s", (model,)).fetchone() is not None
    )


def insert_manual(
    conn: Conn,
    *,
    site_id: str,
    model: str,
    updated_on: date,
    quantity: int,
    version: str,
    from_version: str | None,
    operator: str,
    now: datetime,
) -> int:
    row = conn.execute(
        """INSERT INTO software_updates (site_id, model, updated_on, quantity, version,
               from_version, operator, source, recorded_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, 'manual', %s) RETURNING id""",
        (site_id, model, updated_on, quantity, version, from_version, operator, now),
    ).fetchone()
    assert row is not None
    return int(row[0])


def insert_from_order(
    conn: Conn, *, order: dict[str, Any], version: str, actor: str, at: datetime, on: date
) -> None:
    """The update done on a software-update order; the robot's registry firmware follows."""
    model = conn.execute(
        "SELECT model, firmware FROM robots WHERE robot_id = %s", (order["robot_id"],)
    ).fetchone()
    assert model is not None
    conn.execute(
        """INSERT INTO software_updates (site_id, robot_id, model, updated_on, quantity, version,
               from_version, operator, source, work_order_id, recorded_at)
           VALUES (%s, %s, %s, %s, 1, %s, %s, %s, 'work_order', %s, %s)""",
        (
            order["site_id"],
            order["robot_id"],
            model[0],
            on,
            version,
            model[1],
            actor,
            order["id"],
            at,
        ),
    )
    conn.execute(
        "UPDATE robots SET firmware = %s WHERE robot_id = %s", (version, order["robot_id"])
    )


def robots_per_version(conn: Conn, *, region: str | None) -> list[dict[str, Any]]:
    """Robots per region, model and the firmware they run now (reported, else registry)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT s.region, r.model, coalesce(st.fw, r.firmware) AS version, count(*) AS robots
               FROM robots r JOIN sites s ON s.id = r.site_id
               LEFT JOIN robot_state st ON st.robot_id = r.robot_id
               WHERE r.active AND (%(region)s::text IS NULL OR s.region = %(region)s)
               GROUP BY 1, 2, 3""",
            {"region": region},
        ).fetchall()


def activity_per_version(conn: Conn, *, region: str | None) -> list[dict[str, Any]]:
    """Robot-days, functional failures and anomalies per model and firmware version."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """WITH days AS (
                   SELECT f.model, f.fw AS version, count(*) AS robot_days
                   FROM robot_features f JOIN robots r ON r.robot_id = f.robot_id
                   JOIN sites s ON s.id = r.site_id
                   WHERE f.fw IS NOT NULL AND f.n_readings > 0
                     AND (%(region)s::text IS NULL OR s.region = %(region)s)
                   GROUP BY 1, 2),
               faults AS (
                   SELECT r.model, e.fw AS version, count(*) AS failures
                   FROM robot_events e JOIN robots r ON r.robot_id = e.robot_id
                   JOIN sites s ON s.id = r.site_id
                   WHERE e.type = 'fault' AND e.fw IS NOT NULL
                     AND (%(region)s::text IS NULL OR s.region = %(region)s)
                   GROUP BY 1, 2),
               anomalies_ AS (
                   SELECT f.model, f.fw AS version, count(DISTINCT (a.robot_id, a.component))
                          AS anomalies
                   FROM anomalies a
                   JOIN robot_features f ON f.robot_id = a.robot_id
                        AND f.window_start = a.window_start
                   JOIN robots r ON r.robot_id = a.robot_id JOIN sites s ON s.id = r.site_id
                   WHERE f.fw IS NOT NULL
                     AND (%(region)s::text IS NULL OR s.region = %(region)s)
                   GROUP BY 1, 2)
               SELECT d.model, d.version, d.robot_days,
                      coalesce(fa.failures, 0) AS failures, coalesce(an.anomalies, 0) AS anomalies
               FROM days d
               LEFT JOIN faults fa ON fa.model = d.model AND fa.version = d.version
               LEFT JOIN anomalies_ an ON an.model = d.model AND an.version = d.version""",
            {"region": region},
        ).fetchall()


def indicator_medians(
    conn: Conn, *, region: str | None, features: list[str]
) -> dict[tuple[str, str], dict[str, float]]:
    """Fleet median of each feature per model and firmware (cooking windows)."""
    cols = ", ".join(
        f"percentile_cont(0.5) WITHIN GROUP (ORDER BY f.{name}) AS {name}" for name in features
    )
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"""SELECT f.model, f.fw, {cols}
                FROM robot_features f JOIN robots r ON r.robot_id = f.robot_id
                JOIN sites s ON s.id = r.site_id
                WHERE f.fw IS NOT NULL AND f.n_cooking >= 20
                  AND (%(region)s::text IS NULL OR s.region = %(region)s)
                GROUP BY 1, 2""",
            {"region": region},
        ).fetchall()
    return {(r["model"], r["fw"]): {k: r[k] for k in features if r[k] is not None} for r in rows}


def robots_at_site(conn: Conn, *, site_id: str, model: str) -> int:
    """Active robots of ``model`` at the site."""
    row = conn.execute(
        "SELECT count(*) FROM robots WHERE site_id = %s AND model = %s AND active",
        (site_id, model),
    ).fetchone()
    return int(row[0]) if row else 0
