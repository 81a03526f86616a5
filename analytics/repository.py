"""SQL of analytics: feature windows read, anomalies, fault models.

The heavy aggregation of telemetry into feature windows (percentiles per robot and
window, heat-up times from state transitions) runs in PostgreSQL, in
``analytics.features_repository``; detectors work on the small feature table.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from analytics.ttf import Degradation
from core.db import Conn

FEATURES = (
    "igbt_rise_per_kw",
    "stir_vib_p90",
    "stir_current_p50",
    "pressure_per_flow",
    "power_per_degree",
    "heatup_s",
    "fan_rpm_p50",
)


def load_features(
    conn: Conn,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    hours: int = 24,
    robots: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Feature rows ordered by robot and window.

    Read in binary with the cyclic garbage collector paused: a fleet's history is a few
    hundred thousand small dicts, and collections triggered by their allocation (none of
    them can be garbage) had been half of the load time (1.4–2.0 s → 0.85 s for 189k rows).
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        with conn.cursor(row_factory=dict_row, binary=True) as cur:
            return cur.execute(
                """SELECT * FROM robot_features
                   WHERE window_hours = %(hours)s
                     AND (%(from)s::timestamptz IS NULL OR window_start >= %(from)s)
                     AND (%(to)s::timestamptz IS NULL OR window_start < %(to)s)
                     AND (%(robots)s::text[] IS NULL OR robot_id = ANY(%(robots)s))
                   ORDER BY robot_id, window_start""",
                {"hours": hours, "from": start, "to": end, "robots": robots},
            ).fetchall()
    finally:
        if paused:
            gc.enable()


@dataclass(frozen=True)
class AnomalyRow:
    robot_id: str
    detector: str
    model_version: str
    component: str
    kind: str
    window_start: datetime
    window_end: datetime
    score: float
    severity: str
    predicted_failure: datetime | None
    failure_low: datetime | None
    failure_high: datetime | None
    evidence: dict[str, Any]


def insert_anomalies(conn: Conn, *, rows: list[AnomalyRow], now: datetime) -> int:
    """Insert anomalies found at ``now``; one per (robot, detector, component, window):
    re-runs add nothing."""
    if not rows:
        return 0
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO anomalies (robot_id, detector, model_version, component, kind,
                   window_start, window_end, score, severity, predicted_failure, failure_low,
                   failure_high, evidence, created_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (robot_id, detector, component, window_start) DO NOTHING""",
            [
                (
                    r.robot_id,
                    r.detector,
                    r.model_version,
                    r.component,
                    r.kind,
                    r.window_start,
                    r.window_end,
                    r.score,
                    r.severity,
                    r.predicted_failure,
                    r.failure_low,
                    r.failure_high,
                    Jsonb(r.evidence),
                    now,
                )
                for r in rows
            ],
            returning=False,
        )
        return cur.rowcount


def ground_truth(conn: Conn, *, run_id: str) -> list[dict[str, Any]]:
    """A run's labelled faults, each with ``reported_at``: the robot's first reading at or
    after the failure (None if it sent nothing since)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT g.*, (SELECT min(t.ts) FROM telemetry t
                            WHERE t.robot_id = g.robot_id AND t.ts >= g.failure) AS reported_at
               FROM fault_ground_truth g WHERE g.run_id = %s ORDER BY g.robot_id""",
            (run_id,),
        ).fetchall()


def evaluation_inputs(
    conn: Conn, *, run_id: str, start: datetime | None = None, end: datetime | None = None
) -> dict[str, Any]:
    """Ground truth of a simulator run, the anomalies of the period, and the period and
    robot count (the scored feature windows' span unless given)."""
    with conn.cursor(row_factory=dict_row) as cur:
        span = cur.execute(
            """SELECT count(DISTINCT robot_id) AS robots,
                      coalesce(%(start)s, min(window_start)) AS start,
                      coalesce(%(end)s, max(window_start) + interval '1 day') AS end
               FROM robot_features
               WHERE (%(start)s::timestamptz IS NULL OR window_start >= %(start)s)
                 AND (%(end)s::timestamptz IS NULL OR window_start < %(end)s)""",
            {"start": start, "end": end},
        ).fetchone()
        assert span is not None
        anomalies = cur.execute(
            """SELECT robot_id, kind, detector, window_start, window_end, predicted_failure,
                      failure_low, evidence->>'error_code' AS error_code
               FROM anomalies
               WHERE (%(start)s::timestamptz IS NULL OR window_start >= %(start)s)
                 AND (%(end)s::timestamptz IS NULL OR window_start < %(end)s)""",
            {"start": span["start"], "end": span["end"]},
        ).fetchall()
    return {"truth": ground_truth(conn, run_id=run_id), "anomalies": anomalies, **span}


def registered_robots(conn: Conn) -> list[str]:
    """Every robot in the registry (telemetry of others is quarantined)."""
    return [str(r[0]) for r in conn.execute("SELECT robot_id FROM robots ORDER BY robot_id")]


def robots_with_windows_in(conn: Conn, *, start: datetime, end: datetime) -> list[str]:
    """Robots with a feature window reaching into [start, end)."""
    return [
        str(r[0])
        for r in conn.execute(
            """SELECT DISTINCT robot_id FROM robot_features
               WHERE window_start + make_interval(hours => window_hours) > %s
                 AND window_start < %s ORDER BY robot_id""",
            (start, end),
        )
    ]


def anomalies_between(conn: Conn, *, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Anomalies whose window starts in [start, end), for an evaluation."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT robot_id, kind, detector, window_start, window_end, predicted_failure,"
            " failure_low, evidence->>'error_code' AS error_code FROM anomalies WHERE window_start >= %s AND window_start < %s",
            (start, end),
        ).fetchall()


def robots_with_features(conn: Conn, *, start: datetime, end: datetime) -> int:
    row = conn.execute(
        "SELECT count(DISTINCT robot_id) FROM robot_features"
        " WHERE window_start >= %s AND window_start < %s",
        (start, end),
    ).fetchone()
    return int(row[0]) if row else 0


def store_failure_level(
    conn: Conn,
    *,
    kind: str,
    model: Degradation,
    n_faults: int,
    low: float,
    high: float,
    error: float | None,
    fitted_from: str,
    now: datetime,
) -> None:
    conn.execute(
        """INSERT INTO failure_levels (kind, level, n_faults, spread_low, spread_high,
               trend_power, saturation, trend_windows, early_ratio, late_ratio, fit_error,
               fitted_from, fitted_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (kind) DO UPDATE SET level = EXCLUDED.level,
               n_faults = EXCLUDED.n_faults, spread_low = EXCLUDED.spread_low,
               spread_high = EXCLUDED.spread_high, trend_power = EXCLUDED.trend_power,
               saturation = EXCLUDED.saturation, trend_windows = EXCLUDED.trend_windows,
               early_ratio = EXCLUDED.early_ratio, late_ratio = EXCLUDED.late_ratio,
               fit_error = EXCLUDED.fit_error,
               fitted_from = EXCLUDED.fitted_from, fitted_at = EXCLUDED.fitted_at""",
        (
            kind,
            model.level,
            n_faults,
            low,
            high,
            model.power,
            model.saturation,
            model.windows,
            model.early,
            model.late,
            error,
            fitted_from,
            now,
        ),
    )


def failure_levels(conn: Conn) -> list[tuple[str, Degradation]]:
    """(kind, degradation model) of every fitted kind."""
    rows = conn.execute(
        """SELECT kind, level, trend_power, saturation, trend_windows, early_ratio, late_ratio
           FROM failure_levels ORDER BY kind"""
    ).fetchall()
    return [(str(r[0]), Degradation(*r[1:])) for r in rows]


def anomaly_counts(conn: Conn) -> list[tuple[str, str, int, int]]:
    """(kind, detector, windows, robots) of the stored anomalies."""
    return conn.execute(
        "SELECT kind, detector, count(*), count(DISTINCT robot_id) FROM anomalies"
        " GROUP BY 1, 2 ORDER BY 1, 2"
    ).fetchall()


Norms = dict[tuple[str, str, str | None, str | None], list[float | None]]


def stored_norms(conn: Conn, *, config: str, since: datetime, now: datetime) -> Norms | None:
    """The fleet norms stored for ``config`` between ``since`` and ``now``, keyed by (kind,
    model, old firmware or None, firmware or None); None if there are none that fresh (the
    caller recomputes them)."""
    rows = conn.execute(
        """SELECT kind, model, fw_from, fw, value, computed_at FROM fleet_norms
           WHERE config = %s""",
        (config,),
    ).fetchall()
    if not rows or not all(since < r[5] <= now for r in rows):
        return None
    return {(k, m, f0 or None, f or None): list(v) for k, m, f0, f, v, _ in rows if v}


def store_norms(conn: Conn, *, config: str, norms: Norms, now: datetime) -> None:
    """Replace the stored norms of ``config`` (with a marker row when the fleet has none
    yet, so that an empty result is not recomputed every run)."""
    conn.execute("DELETE FROM fleet_norms WHERE config = %s", (config,))
    rows = [(k, m, f0 or "", f or "", config, v, now) for (k, m, f0, f), v in norms.items()]
    rows.append(("scale", "", "", "", config, [], now))
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO fleet_norms (kind, model, fw_from, fw, config, value, computed_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s)""",
            rows,
        )


def alarm_resets(conn: Conn, *, robots: list[str]) -> dict[str, list[tuple[datetime, str]]]:
    """Per robot, (when, component) of every alarm acknowledged or cleared (a repair
    clears its component's alarms): scoring starts that component's CUSUMs again after."""
    rows = conn.execute(
        """SELECT DISTINCT robot_id, component, at FROM anomalies,
                  unnest(ARRAY[acknowledged_at, cleared_at]) AS at
           WHERE status IN ('acknowledged', 'cleared') AND at IS NOT NULL
             AND robot_id = ANY(%s)
           ORDER BY robot_id, at""",
        (robots,),
    ).fetchall()
    out: dict[str, list[tuple[datetime, str]]] = {}
    for robot, component, at in rows:
        out.setdefault(robot, []).append((at, component))
    return out
