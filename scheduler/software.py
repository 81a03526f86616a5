"""软件更新记录: software-update records and how each firmware version behaves.

Records come from the robots' ``firmware_updated`` events (over the air, operator
``ota``), from software-update work orders and from manual entries by the lead
(site, date, model, quantity, version, operator — the manual's list). Version
distribution is the firmware each robot reports now (registry value until it
reports). Per version: robot-days on it (daily feature windows), functional
failures and anomalies per 100 robot-days; a version is flagged when its rate is
at least 1.5× its predecessor's (same model) with at least 3 events.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from psycopg.rows import dict_row

from core.db import Conn
from core.errors import NotFoundError

WORSE_RATIO = 1.5
MIN_EVENTS = 3


def sync_from_events(conn: Conn) -> int:
    """Record every ``firmware_updated`` event not yet recorded; return how many were new."""
    cur = conn.execute(
        r"""INSERT INTO software_updates (site_id, robot_id, model, updated_on, quantity, version,
                                          from_version, operator, source, event_key)
            SELECT r.site_id, e.robot_id, r.model, (e.ts AT TIME ZONE s.timezone)::date, 1,
                   coalesce(nullif(split_part(e.detail, ' -> ', 2), ''), e.fw),
                   nullif(split_part(e.detail, ' -> ', 1), ''), 'ota', 'event',
                   e.robot_id || '/' || e.ts || '/' || e.seq
            FROM robot_events e JOIN robots r ON r.robot_id = e.robot_id
            JOIN sites s ON s.id = r.site_id
            WHERE e.type = 'firmware_updated'
            ON CONFLICT (event_key) DO NOTHING"""
    )
    return cur.rowcount


def record_manual(
    conn: Conn,
    *,
    site_id: str,
    model: str,
    updated_on: date,
    quantity: int,
    version: str,
    operator: str,
    from_version: str | None = None,
    region: str | None = None,
) -> int:
    """A lead's entry for an update done by hand (USB stick, service laptop)."""
    if quantity < 1:
        raise ValueError("quantity must be at least 1")
    if not re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z._+-]{0,31}", version):
        raise ValueError(f"version must look like 2.4.1, got {version!r}")
    site = conn.execute("SELECT region FROM sites WHERE id = %s", (site_id,)).fetchone()
    if site is None or (region is not None and site[0] != region):
        raise NotFoundError("site", site_id)
    if conn.execute("SELECT 1 FROM robot_models WHERE code = %s", (model,)).fetchone() is None:
        raise NotFoundError("robot model", model)
    row = conn.execute(
        """INSERT INTO software_updates (site_id, model, updated_on, quantity, version,
               from_version, operator, source) VALUES (%s, %s, %s, %s, %s, %s, %s, 'manual')
           RETURNING id""",
        (site_id, model, updated_on, quantity, version, from_version, operator),
    ).fetchone()
    assert row is not None
    return int(row[0])


def record_from_order(
    conn: Conn, *, order: dict[str, Any], version: str, actor: str, on: date
) -> None:
    model = conn.execute(
        "SELECT model, firmware FROM robots WHERE robot_id = %s", (order["robot_id"],)
    ).fetchone()
    assert model is not None
    conn.execute(
        """INSERT INTO software_updates (site_id, robot_id, model, updated_on, quantity, version,
               from_version, operator, source, work_order_id)
           VALUES (%s, %s, %s, %s, 1, %s, %s, %s, 'work_order', %s)""",
        (order["site_id"], order["robot_id"], model[0], on, version, model[1], actor, order["id"]),
    )
    conn.execute(
        "UPDATE robots SET firmware = %s WHERE robot_id = %s", (version, order["robot_id"])
    )


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


def version_distribution(conn: Conn, *, region: str | None = None) -> list[dict[str, Any]]:
    """Robots per region, model and the firmware they run now."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            """SELECT s.region, r.model, coalesce(st.fw, r.firmware) AS version, count(*) AS robots
               FROM robots r JOIN sites s ON s.id = r.site_id
               LEFT JOIN robot_state st ON st.robot_id = r.robot_id
               WHERE r.active AND (%(region)s::text IS NULL OR s.region = %(region)s)
               GROUP BY 1, 2, 3""",
            {"region": region},
        ).fetchall()
    totals: dict[tuple[str, str], int] = {}
    for r in rows:
        totals[(r["region"], r["model"])] = totals.get((r["region"], r["model"]), 0) + r["robots"]
    for r in rows:
        r["share"] = round(r["robots"] / totals[(r["region"], r["model"])], 3)
    return sorted(rows, key=lambda r: (r["region"], r["model"], version_key(r["version"])))


def version_key(version: str) -> tuple[tuple[int, str], ...]:
    """Sort key: numeric parts numerically ('2.10' after '2.9').

    >>> sorted(["2.10.0", "2.9.1", "2.9"], key=version_key)
    ['2.9', '2.9.1', '2.10.0']
    """
    return tuple((int(p), "") if p.isdigit() else (-1, p) for p in re.split(r"[.\-+]", version))


def version_rates(conn: Conn, *, region: str | None = None) -> list[dict[str, Any]]:
    """Failures and anomalies per 100 robot-days for each model and firmware version;
    ``worse`` marks a version doing worse than its predecessor."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
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
    rows.sort(key=lambda r: (r["model"], version_key(r["version"])))
    previous: dict[str, dict[str, Any]] = {}
    for r in rows:
        events = r["failures"] + r["anomalies"]
        r["failures_per_100d"] = round(100 * r["failures"] / r["robot_days"], 2)
        r["anomalies_per_100d"] = round(100 * r["anomalies"] / r["robot_days"], 2)
        rate = events / r["robot_days"]
        prev = previous.get(r["model"])
        r["predecessor"] = prev["version"] if prev else None
        prev_rate = (prev["failures"] + prev["anomalies"]) / prev["robot_days"] if prev else None
        r["worse"] = bool(
            prev_rate is not None
            and events >= MIN_EVENTS
            and rate >= WORSE_RATIO * max(prev_rate, 1e-9)
        )
        previous[r["model"]] = r
    return rows
