"""SQL of the feature windows: raw telemetry → per-hour parts → windows.

Each hour of a robot's readings is summarised once in ``feature_hours`` (counts, codes,
firmware, the values the window percentiles are taken over, the state changes); a
window (a day by default) is derived from its hours. An explicit period
(``compute_features``: back-tests, the CLI) re-reads every raw hour of the windows it
touches; the live refresh (``refresh_features``) re-reads only the hours that received
readings since its watermark, so a run every few minutes reads minutes of raw
telemetry, not days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from core.db import Conn

_STATES = "('idle', 'preheat', 'cooking', 'cleaning', 'fault')"

# The raw readings of the hours to summarise: a period, or listed (robot, hour) pairs.
_RAW_PERIOD = """SELECT t.*, date_trunc('hour', t.ts) AS hr FROM telemetry t
    WHERE t.ts >= %(from)s AND t.ts < %(to)s
      AND (%(robots)s::text[] IS NULL OR t.robot_id = ANY(%(robots)s))"""
_RAW_PAIRS = """SELECT t.*, d.hr
    FROM unnest(%(pair_robots)s::text[], %(pair_hours)s::timestamptz[]) AS d(robot_id, hr)
    CROSS JOIN LATERAL (SELECT * FROM telemetry t WHERE t.robot_id = d.robot_id
                        AND t.ts >= d.hr AND t.ts < d.hr + interval '1 hour') t"""
# (lateral: one index range scan per listed hour, whatever the statistics say)

_HOURS_SQL = """
WITH w AS ({raw}),
agg AS (
    SELECT robot_id, hr,
        mode() WITHIN GROUP (ORDER BY model) AS model,
        (array_agg(fw ORDER BY ts DESC, seq DESC) FILTER (WHERE fw IS NOT NULL))[1] AS fw,
        max(ts) FILTER (WHERE fw IS NOT NULL) AS fw_ts,
        coalesce(array_agg(DISTINCT fw) FILTER (WHERE fw IS NOT NULL), '{{}}') AS fws,
        count(*) AS n_readings,
        count(*) FILTER (WHERE state = 'cooking') AS n_cooking,
        count(*) FILTER (WHERE cardinality(err) > 0) AS err_count,
        array_agg((igbt_temp_c - cabinet_temp_c) / (heater_power_w / 1000))
            FILTER (WHERE state = 'cooking' AND heater_power_w > 2000) AS igbt_rise_per_kw,
        array_agg(heater_power_w / 1000)
            FILTER (WHERE state = 'cooking' AND heater_power_w > 2000) AS igbt_kw,
        array_agg(igbt_temp_c - cabinet_temp_c)
            FILTER (WHERE state = 'idle' AND heater_power_w = 0) AS igbt_idle,
        array_agg(stir_vib_mm_s) FILTER (WHERE state = 'cooking') AS stir_vib,
        array_agg(stir_current_a) FILTER (WHERE state = 'cooking') AS stir_current,
        array_agg(pump_pressure_kpa / dose_flow_ml_s)
            FILTER (WHERE dose_flow_ml_s > 0 AND state = 'cooking') AS pressure_per_flow,
        array_agg(heater_power_w / (wok_temp_c - cabinet_temp_c))
            FILTER (WHERE state = 'cooking' AND wok_temp_c > cabinet_temp_c + 50)
            AS power_per_degree,
        array_agg(coalesce(recipe, ''))
            FILTER (WHERE state = 'cooking' AND wok_temp_c > cabinet_temp_c + 50) AS ppd_recipe,
        array_agg(exhaust_fan_rpm) FILTER (WHERE heater_power_w > 0) AS fan_rpm
    FROM w GROUP BY robot_id, hr
),
codes AS (
    SELECT robot_id, hr, array_agg(DISTINCT code ORDER BY code) AS err_codes
    FROM w, unnest(w.err) AS code GROUP BY robot_id, hr
),
marks AS (
    SELECT robot_id, hr, ts, seq, state,
           lag(state) OVER (PARTITION BY robot_id, hr ORDER BY ts, seq) AS prev
    FROM w WHERE state IN {states}
),
changes AS (
    SELECT robot_id, hr, array_agg(ts ORDER BY ts, seq) AS mark_ts,
           array_agg(state ORDER BY ts, seq) AS mark_state
    FROM marks WHERE state IS DISTINCT FROM prev GROUP BY robot_id, hr
)
INSERT INTO feature_hours AS f (robot_id, hour, model, fw, fw_ts, fws, n_readings, n_cooking,
    err_count, err_codes, igbt_rise_per_kw, igbt_kw, igbt_idle, stir_vib, stir_current,
    pressure_per_flow, power_per_degree, ppd_recipe, fan_rpm, mark_ts, mark_state, computed_at)
SELECT a.robot_id, a.hr, a.model, a.fw, a.fw_ts, a.fws, a.n_readings, a.n_cooking, a.err_count,
       coalesce(c.err_codes, '{{}}'), a.igbt_rise_per_kw, a.igbt_kw, a.igbt_idle, a.stir_vib,
       a.stir_current,
       a.pressure_per_flow, a.power_per_degree, a.ppd_recipe, a.fan_rpm, m.mark_ts,
       m.mark_state, %(now)s
FROM agg a LEFT JOIN codes c USING (robot_id, hr) LEFT JOIN changes m USING (robot_id, hr)
ON CONFLICT (robot_id, hour) DO UPDATE SET
    model = EXCLUDED.model, fw = EXCLUDED.fw, fw_ts = EXCLUDED.fw_ts, fws = EXCLUDED.fws,
    n_readings = EXCLUDED.n_readings, n_cooking = EXCLUDED.n_cooking,
    err_count = EXCLUDED.err_count, err_codes = EXCLUDED.err_codes,
    igbt_rise_per_kw = EXCLUDED.igbt_rise_per_kw, igbt_kw = EXCLUDED.igbt_kw,
    igbt_idle = EXCLUDED.igbt_idle, stir_vib = EXCLUDED.stir_vib,
    stir_current = EXCLUDED.stir_current, pressure_per_flow = EXCLUDED.pressure_per_flow,
    power_per_degree = EXCLUDED.power_per_degree, ppd_recipe = EXCLUDED.ppd_recipe,
    fan_rpm = EXCLUDED.fan_rpm, mark_ts = EXCLUDED.mark_ts, mark_state = EXCLUDED.mark_state,
    computed_at = EXCLUDED.computed_at
RETURNING f.robot_id, f.hour
"""

# One window from its hours (``h`` below: the robot's hours inside the window). Each
# part is a lateral subquery per window: no fleet-wide sort before the percentiles.
_WINDOW_HOURS = """FROM feature_hours h WHERE h.robot_id = d.robot_id AND h.hour >= d.win
                 AND h.hour < d.win + make_interval(hours => %(hours)s)"""

_WINDOWS_SQL = """
WITH d AS (
    SELECT DISTINCT robot_id,
           date_bin(make_interval(hours => %(hours)s), hr, '2000-01-01'::timestamptz) AS win
    FROM unnest(%(pair_robots)s::text[], %(pair_hours)s::timestamptz[]) AS x(robot_id, hr)
)
INSERT INTO robot_features (robot_id, window_start, window_hours, model, fw, fw_versions,
    n_readings, n_cooking,
    igbt_rise_per_kw, stir_vib_p90, stir_current_p50, pressure_per_flow, power_per_degree,
    heatup_s, fan_rpm_p50, ppd_by_recipe, igbt_idle_rise, igbt_kw, err_count, err_codes,
    computed_at)
SELECT d.robot_id, d.win, %(hours)s, a.model, a.fw, greatest(v.fw_versions, 1), a.n_readings,
       a.n_cooking, q.igbt_rise_per_kw, q.stir_vib_p90, q.stir_current_p50, q.pressure_per_flow,
       q.power_per_degree, heat.heatup_s, q.fan_rpm_p50, pr.ppd_by_recipe, z.igbt_idle_rise,
       q.igbt_kw, a.err_count,
       coalesce(c.err_codes, '{}'), %(now)s
FROM d
CROSS JOIN LATERAL (
    SELECT mode() WITHIN GROUP (ORDER BY h.model) AS model,
           (array_agg(h.fw ORDER BY h.fw_ts DESC) FILTER (WHERE h.fw IS NOT NULL))[1] AS fw,
           sum(h.n_readings) AS n_readings, sum(h.n_cooking) AS n_cooking,
           sum(h.err_count) AS err_count
    HOURS_OF_WINDOW
) a
CROSS JOIN LATERAL (
    SELECT count(DISTINCT x) AS fw_versions FROM (SELECT unnest(h.fws) AS x HOURS_OF_WINDOW) f
) v
CROSS JOIN LATERAL (
    SELECT array_agg(DISTINCT x ORDER BY x) AS err_codes
    FROM (SELECT unnest(h.err_codes) AS x HOURS_OF_WINDOW) e
) c
CROSS JOIN LATERAL (
    -- the IGBT's zero: its rise over the cabinet with the heater off (a firmware offset)
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY u.x) AS igbt_idle_rise
    FROM (SELECT h.igbt_idle HOURS_OF_WINDOW) h, unnest(h.igbt_idle) AS u(x)
) z
CROSS JOIN LATERAL (
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY u.igbt) AS igbt_rise_per_kw,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY u.kw) AS igbt_kw,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY u.vib) AS stir_vib_p90,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY u.cur) AS stir_current_p50,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY u.ppf) AS pressure_per_flow,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY u.ppd) AS power_per_degree,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY u.fan) AS fan_rpm_p50
    FROM (SELECT h.igbt_rise_per_kw, h.igbt_kw, h.stir_vib, h.stir_current,
                 h.pressure_per_flow, h.power_per_degree, h.fan_rpm HOURS_OF_WINDOW) h,
         unnest(h.igbt_rise_per_kw, h.igbt_kw, h.stir_vib, h.stir_current, h.pressure_per_flow,
                h.power_per_degree, h.fan_rpm) AS u(igbt, kw, vib, cur, ppf, ppd, fan)
) q
CROSS JOIN LATERAL (
    SELECT jsonb_object_agg(x.recipe, x.ppd) AS ppd_by_recipe
    FROM (
        SELECT u.recipe, percentile_cont(0.5) WITHIN GROUP (ORDER BY u.ppd) AS ppd
        FROM (SELECT h.power_per_degree, h.ppd_recipe HOURS_OF_WINDOW) h,
             unnest(h.power_per_degree, h.ppd_recipe) AS u(ppd, recipe)
        WHERE u.ppd IS NOT NULL AND u.recipe IS NOT NULL
        GROUP BY u.recipe
    ) x
) pr
CROSS JOIN LATERAL (
    -- heat-up: from each preheat start to the next change of state, when that is cooking
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM s.next_ts - s.ts))
           AS heatup_s
    FROM (
        SELECT m.ts, m.state, lead(m.ts) OVER w AS next_ts, lead(m.state) OVER w AS next_state
        FROM (
            SELECT m.ts, m.state, lag(m.state) OVER (ORDER BY m.ts, h.hour, m.k) AS prev
            FROM (SELECT h.hour, h.mark_ts, h.mark_state HOURS_OF_WINDOW) h,
                 unnest(h.mark_ts, h.mark_state) WITH ORDINALITY AS m(ts, state, k)
        ) m
        WHERE m.state IS DISTINCT FROM m.prev
        WINDOW w AS (ORDER BY m.ts)
    ) s
    WHERE s.state = 'preheat' AND s.next_state = 'cooking'
) heat
ON CONFLICT (robot_id, window_start, window_hours) DO UPDATE SET
    model = EXCLUDED.model, fw = EXCLUDED.fw, fw_versions = EXCLUDED.fw_versions,
    n_readings = EXCLUDED.n_readings,
    n_cooking = EXCLUDED.n_cooking, igbt_rise_per_kw = EXCLUDED.igbt_rise_per_kw,
    stir_vib_p90 = EXCLUDED.stir_vib_p90, stir_current_p50 = EXCLUDED.stir_current_p50,
    pressure_per_flow = EXCLUDED.pressure_per_flow, power_per_degree = EXCLUDED.power_per_degree,
    heatup_s = EXCLUDED.heatup_s, fan_rpm_p50 = EXCLUDED.fan_rpm_p50,
    ppd_by_recipe = EXCLUDED.ppd_by_recipe, igbt_idle_rise = EXCLUDED.igbt_idle_rise,
    igbt_kw = EXCLUDED.igbt_kw, err_count = EXCLUDED.err_count, err_codes = EXCLUDED.err_codes,
    computed_at = EXCLUDED.computed_at
RETURNING robot_id, window_start
""".replace("HOURS_OF_WINDOW", _WINDOW_HOURS)

Pairs = list[tuple[str, datetime]]


def _windows_from_hours(conn: Conn, hours: Pairs, *, window_hours: int, now: datetime) -> Pairs:
    if not hours:
        return []
    rows = conn.execute(
        _WINDOWS_SQL,
        {
            "pair_robots": [r for r, _ in hours],
            "pair_hours": [h for _, h in hours],
            "hours": window_hours,
            "now": now,
        },
    ).fetchall()
    return [(r, w) for r, w in rows]


def _summarise_hours(conn: Conn, raw: str, params: dict[str, object]) -> Pairs:
    sql = _HOURS_SQL.format(raw=raw, states=_STATES)
    return [(r, h) for r, h in conn.execute(sql, params).fetchall()]


def _without_jit(conn: Conn) -> None:
    """These statements run for tenths of a second; PostgreSQL's JIT, triggered by row
    estimates before autovacuum has analysed a fresh partition, compiled for 0.5 s of it
    (measured). Off until the end of the transaction the caller opened."""
    conn.execute("SET LOCAL jit = off")


def _window_start(t: datetime, hours: int) -> datetime:
    span = timedelta(hours=hours)
    epoch = datetime(2000, 1, 1, tzinfo=t.tzinfo)
    return epoch + ((t - epoch) // span) * span


def compute_features(
    conn: Conn,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    hours: int = 24,
    robots: list[str] | None = None,
) -> int:
    """(Re)compute every window overlapping [start, end) at ``now`` from its raw hours —
    whole windows, so a period that starts mid-window does not cut one short; idempotent.
    Returns the windows written."""
    lo = _window_start(start, hours)
    hi = _window_start(end, hours)
    if hi < end:
        hi += timedelta(hours=hours)
    with conn.transaction():
        _without_jit(conn)
        touched = _summarise_hours(
            conn, _RAW_PERIOD, {"from": lo, "to": hi, "robots": robots, "now": now}
        )
        return len(_windows_from_hours(conn, touched, window_hours=hours, now=now))


@dataclass(frozen=True)
class Refresh:
    """What a live refresh re-derived: the hours re-read and the windows rewritten."""

    upto: datetime
    hours: int
    windows: Pairs

    @property
    def robots(self) -> list[str]:
        return sorted({r for r, _ in self.windows})

    @property
    def earliest(self) -> datetime | None:
        return min((w for _, w in self.windows), default=None)


def refresh_features(
    conn: Conn,
    *,
    now: datetime,
    lag: timedelta = timedelta(seconds=30),
    hours: int = 24,
    keep_parts: timedelta = timedelta(days=14),
) -> Refresh:
    """Bring the feature windows up to the readings received by ``now - lag`` (ingest's
    clock; the lag leaves out rows whose transaction may still be open): re-read only the
    raw hours that received readings since the last refresh — late readings of any age
    included — and re-derive their windows. The watermark moves with the windows, in one
    transaction (a savepoint in the caller's), so a failed refresh is redone whole by the
    next one.

    Hourly parts are kept for ``keep_parts`` (whole windows); a reading that arrives for
    an older window re-reads that whole window's raw hours.
    """
    upto = now - lag
    horizon = _window_start(now - keep_parts, hours)
    with conn.transaction():
        _without_jit(conn)
        row = conn.execute(  # NULL: nothing refreshed yet ('-infinity' has no Python value)
            """SELECT nullif(upto, '-infinity') FROM rollup_watermark WHERE name = 'features'
               FOR UPDATE"""
        ).fetchone()
        if row is None:
            raise RuntimeError("no 'features' watermark: run `aic db migrate`")
        if row[0] is not None and upto <= row[0]:
            return Refresh(upto, 0, [])
        dirty = conn.execute(
            """SELECT DISTINCT robot_id, date_trunc('hour', ts) FROM telemetry
               WHERE (%(lo)s::timestamptz IS NULL OR received_at > %(lo)s) AND received_at <= %(hi)s""",
            {"lo": row[0], "hi": upto},
        ).fetchall()
        pairs = {(r, h) for r, h in dirty if h >= horizon}
        for r, h in dirty:
            if h < horizon:  # its window's parts are gone: every hour of it again
                w = _window_start(h, hours)
                pairs.update((r, w + timedelta(hours=k)) for k in range(hours))
        conn.execute("DELETE FROM feature_hours WHERE hour < %s", (horizon,))
        params = {"pair_robots": [r for r, _ in pairs], "pair_hours": [h for _, h in pairs]}
        touched = _summarise_hours(conn, _RAW_PAIRS, {**params, "now": now})
        windows = _windows_from_hours(conn, touched, window_hours=hours, now=now)
        conn.execute("UPDATE rollup_watermark SET upto = %s WHERE name = 'features'", (upto,))
        return Refresh(upto, len(touched), windows)
