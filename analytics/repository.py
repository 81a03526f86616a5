"""SQL of analytics: daily features from telemetry, anomalies, fault models.

The heavy aggregation (percentiles per robot and window, heat-up times from
state transitions) runs in PostgreSQL; detectors work on the small feature table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

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

_FEATURE_SQL = """
WITH w AS (
    SELECT t.*, date_bin(make_interval(hours => %(hours)s), t.ts, '2000-01-01'::timestamptz) AS win
    FROM telemetry t
    WHERE t.ts >= %(from)s AND t.ts < %(to)s
      AND (%(robots)s::text[] IS NULL OR t.robot_id = ANY(%(robots)s))
),
agg AS (
    SELECT robot_id, win,
        mode() WITHIN GROUP (ORDER BY model) AS model,
        (array_agg(fw ORDER BY ts DESC, seq DESC) FILTER (WHERE fw IS NOT NULL))[1] AS fw,
        count(DISTINCT fw) AS fw_versions,
        count(*) AS n_readings,
        count(*) FILTER (WHERE state = 'cooking') AS n_cooking,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY (igbt_temp_c - cabinet_temp_c) / (heater_power_w / 1000))
            FILTER (WHERE state = 'cooking' AND heater_power_w > 2000) AS igbt_rise_per_kw,
        percentile_cont(0.9) WITHIN GROUP (ORDER BY stir_vib_mm_s)
            FILTER (WHERE state = 'cooking') AS stir_vib_p90,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY stir_current_a)
            FILTER (WHERE state = 'cooking') AS stir_current_p50,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY pump_pressure_kpa / dose_flow_ml_s)
            FILTER (WHERE dose_flow_ml_s > 0 AND state = 'cooking') AS pressure_per_flow,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY heater_power_w / (wok_temp_c - cabinet_temp_c))
            FILTER (WHERE state = 'cooking' AND wok_temp_c > cabinet_temp_c + 50) AS power_per_degree,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY exhaust_fan_rpm)
            FILTER (WHERE heater_power_w > 0) AS fan_rpm_p50,
        count(*) FILTER (WHERE cardinality(err) > 0) AS err_count
    FROM w GROUP BY robot_id, win
),
codes AS (
    SELECT robot_id, win, array_agg(DISTINCT code ORDER BY code) AS err_codes
    FROM w, unnest(w.err) AS code GROUP BY robot_id, win
),
marks AS (
    SELECT robot_id, win, ts, state,
           lag(state) OVER (PARTITION BY robot_id ORDER BY ts, seq) AS prev
    FROM w WHERE state IN ('idle', 'preheat', 'cooking', 'cleaning', 'fault')
),
starts AS (
    SELECT robot_id, win, ts, state,
           lead(ts) OVER (PARTITION BY robot_id ORDER BY ts) AS next_ts,
           lead(state) OVER (PARTITION BY robot_id ORDER BY ts) AS next_state
    FROM marks WHERE state IS DISTINCT FROM prev
),
heat AS (
    SELECT robot_id, win,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM next_ts - ts)) AS heatup_s
    FROM starts WHERE state = 'preheat' AND next_state = 'cooking'
    GROUP BY robot_id, win
)
INSERT INTO robot_features (robot_id, window_start, window_hours, model, fw, fw_versions,
    n_readings, n_cooking,
    igbt_rise_per_kw, stir_vib_p90, stir_current_p50, pressure_per_flow, power_per_degree,
    heatup_s, fan_rpm_p50, err_count, err_codes, computed_at)
SELECT a.robot_id, a.win, %(hours)s, a.model, a.fw, greatest(a.fw_versions, 1), a.n_readings,
       a.n_cooking,
       a.igbt_rise_per_kw, a.stir_vib_p90, a.stir_current_p50, a.pressure_per_flow,
       a.power_per_degree, h.heatup_s, a.fan_rpm_p50, a.err_count,
       coalesce(c.err_codes, '{}'), %(now)s
FROM agg a LEFT JOIN heat h USING (robot_id, win) LEFT JOIN codes c USING (robot_id, win)
ON CONFLICT (robot_id, window_start, window_hours) DO UPDATE SET
    model = EXCLUDED.model, fw = EXCLUDED.fw, fw_versions = EXCLUDED.fw_versions,
    n_readings = EXCLUDED.n_readings,
    n_cooking = EXCLUDED.n_cooking, igbt_rise_per_kw = EXCLUDED.igbt_rise_per_kw,
    stir_vib_p90 = EXCLUDED.stir_vib_p90, stir_current_p50 = EXCLUDED.stir_current_p50,
    pressure_per_flow = EXCLUDED.pressure_per_flow, power_per_degree = EXCLUDED.power_per_degree,
    heatup_s = EXCLUDED.heatup_s, fan_rpm_p50 = EXCLUDED.fan_rpm_p50,
    err_count = EXCLUDED.err_count, err_codes = EXCLUDED.err_codes, computed_at = EXCLUDED.computed_at
"""


def compute_features(
    conn: Conn,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    hours: int = 24,
    robots: list[str] | None = None,
) -> int:
    """(Re)compute the feature rows of every window in [start, end) at ``now``; idempotent."""
    cur = conn.execute(
        _FEATURE_SQL, {"from": start, "to": end, "hours": hours, "robots": robots, "now": now}
    )
    return cur.rowcount


def load_features(
    conn: Conn,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    hours: int = 24,
    robots: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Feature rows ordered by robot and window."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT * FROM robot_features
               WHERE window_hours = %(hours)s
                 AND (%(from)s::timestamptz IS NULL OR window_start >= %(from)s)
                 AND (%(to)s::timestamptz IS NULL OR window_start < %(to)s)
                 AND (%(robots)s::text[] IS NULL OR robot_id = ANY(%(robots)s))
               ORDER BY robot_id, window_start""",
            {"hours": hours, "from": start, "to": end, "robots": robots},
        ).fetchall()


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
    level: float,
    n_faults: int,
    low: float,
    high: float,
    power: float,
    fitted_from: str,
    now: datetime,
) -> None:
    conn.execute(
        """INSERT INTO failure_levels (kind, level, n_faults, spread_low, spread_high,
               trend_power, fitted_from, fitted_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (kind) DO UPDATE SET level = EXCLUDED.level,
               n_faults = EXCLUDED.n_faults, spread_low = EXCLUDED.spread_low,
               spread_high = EXCLUDED.spread_high, trend_power = EXCLUDED.trend_power,
               fitted_from = EXCLUDED.fitted_from, fitted_at = EXCLUDED.fitted_at""",
        (kind, level, n_faults, low, high, power, fitted_from, now),
    )


def failure_levels(conn: Conn) -> list[tuple[str, float, float]]:
    """(kind, level, trend power) of every fitted failure level."""
    return [
        (str(k), float(v), float(p))
        for k, v, p in conn.execute(
            "SELECT kind, level, trend_power FROM failure_levels ORDER BY kind"
        )
    ]


def anomaly_counts(conn: Conn) -> list[tuple[str, str, int, int]]:
    """(kind, detector, windows, robots) of the stored anomalies."""
    return conn.execute(
        "SELECT kind, detector, count(*), count(DISTINCT robot_id) FROM anomalies"
        " GROUP BY 1, 2 ORDER BY 1, 2"
    ).fetchall()
