"""软件更新记录: software-update records and how each firmware version behaves.

Records come from the robots' ``firmware_updated`` events (over the air, operator
``ota``), from software-update work orders and from manual entries by the lead
(site, date, model, quantity, version, operator — the manual's list). Version
distribution is the firmware each robot reports now (registry value until it
reports). Per version: robot-days on it (daily feature windows), functional
failures and anomalies per 100 robot-days, and the fleet median of each health
indicator. A version is flagged *worse* than its predecessor (the previous version
number of the same model) when

- its failures + anomalies per robot-day are at least 1.5× the predecessor's and the
  excess is significant (one-sided binomial test on the events of the two versions
  split by their robot-days, p < 0.05), or
- a health indicator's fleet median moved 10 % or more in its bad direction (the
  IGBT running hotter per kW, more vibration…): with per-version baselines the
  robots' own detectors take such a step as the new normal, so the fleet view is
  where it shows.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from psycopg.rows import dict_row

from core.clock import local_date
from core.db import Conn
from core.errors import NotFoundError

# A firmware version string, here and in the API: "3.3.0", "2.4.1-rc1".
VERSION = r"^[0-9A-Za-z][0-9A-Za-z._+-]{0,31}$"
WORSE_RATIO = 1.5
P_VALUE = 0.05
SHIFT_LIMIT = 0.10


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


def record_manual(
    conn: Conn,
    *,
    site_id: str,
    model: str,
    updated_on: date | None,
    quantity: int,
    version: str,
    operator: str,
    now: datetime,
    from_version: str | None = None,
    region: str | None = None,
) -> int:
    """A lead's entry for an update done by hand (USB stick, service laptop); with no
    ``updated_on`` it is the site's local date at ``now``."""
    if quantity < 1:
        raise ValueError("quantity must be at least 1")
    if not re.match(VERSION, version):
        raise ValueError(f"version must look like 2.4.1, got {version!r}")
    site = conn.execute("SELECT region, timezone FROM sites WHERE id = %s", (site_id,)).fetchone()
    if site is None or (region is not None and site[0] != region):
        raise NotFoundError("site", site_id)
    if conn.execute("SELECT 1 FROM robot_models WHERE code = %s", (model,)).fetchone() is None:
        raise NotFoundError("robot model", model)
    if updated_on is None:
        updated_on = local_date(now, site[1])
    row = conn.execute(
        """INSERT INTO software_updates (site_id, model, updated_on, quantity, version,
               from_version, operator, source, recorded_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, 'manual', %s) RETURNING id""",
        (site_id, model, updated_on, quantity, version, from_version, operator, now),
    ).fetchone()
    assert row is not None
    return int(row[0])


def record_from_order(
    conn: Conn, *, order: dict[str, Any], version: str, actor: str, at: datetime, on: date
) -> None:
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
    medians = _indicator_medians(conn, region=region)
    rows.sort(key=lambda r: (r["model"], version_key(r["version"])))
    previous: dict[str, dict[str, Any]] = {}
    for r in rows:
        r["failures_per_100d"] = round(100 * r["failures"] / r["robot_days"], 2)
        r["anomalies_per_100d"] = round(100 * r["anomalies"] / r["robot_days"], 2)
        prev = previous.get(r["model"])
        r["predecessor"] = prev["version"] if prev else None
        r["p_value"] = None
        r["feature_shift"] = None
        worse = False
        if prev is not None:
            a = r["failures"] + r["anomalies"]
            b = prev["failures"] + prev["anomalies"]
            rate, prev_rate = a / r["robot_days"], b / prev["robot_days"]
            if a and rate >= WORSE_RATIO * prev_rate:
                r["p_value"] = round(excess_p_value(a, b, r["robot_days"], prev["robot_days"]), 4)
                worse = r["p_value"] < P_VALUE
            shift = worst_shift(
                medians.get((r["model"], r["version"]), {}),
                medians.get((r["model"], prev["version"]), {}),
            )
            if shift is not None:
                r["feature_shift"] = f"{shift[0]} {shift[1]:+.1%}"
                worse = worse or shift[2] >= SHIFT_LIMIT
        r["worse"] = worse
        previous[r["model"]] = r
    return rows


def excess_p_value(a: int, b: int, days_a: float, days_b: float) -> float:
    """P(at least ``a`` of the a + b events fall on version A) if both versions had the
    same rate, i.e. events split in proportion to robot-days.

    >>> round(excess_p_value(6, 1, 50, 100), 4)
    0.0069
    """
    from scipy.stats import binom

    return float(binom.sf(a - 1, a + b, days_a / (days_a + days_b)))


def worst_shift(new: dict[str, float], old: dict[str, float]) -> tuple[str, float, float] | None:
    """(feature, relative change, change in the bad direction) of the indicator that moved
    furthest in its bad direction between two versions' fleet medians."""
    from analytics.components import INDICATORS

    best: tuple[str, float, float] | None = None
    for ind in INDICATORS:
        n, o = new.get(ind.feature), old.get(ind.feature)
        if n is None or not o:
            continue
        change = n / o - 1
        bad = ind.direction * change
        if best is None or bad > best[2]:
            best = (ind.feature, change, bad)
    return best


def _indicator_medians(
    conn: Conn, *, region: str | None
) -> dict[tuple[str, str], dict[str, float]]:
    """Fleet median of each health indicator per model and firmware (cooking windows)."""
    from analytics.components import INDICATORS

    features = sorted({i.feature for i in INDICATORS})
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
