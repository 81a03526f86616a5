"""Scoring and training on feature windows of a large synthetic fleet.

    python -m bench.analytics [--robots 2000] [--days 90]

Feature rows (one per robot and day) are generated in SQL with realistic values
and noise, 5 % of robots drifting; then times scoring every robot's windows
(baseline, CUSUM, rules, time-to-failure, anomaly inserts) and training the
IsolationForest of one robot model. Then the next day's raw telemetry (a reading
every 2 minutes from 02:00 to 13:00 UTC per robot, generated in SQL) and the live
scoring job end to end (`score_live`: feature refresh from the hours that received
readings + load + score + insert), every 5 minutes at the end of that day, beside the
previous job (all feature windows of the last 2 days from raw telemetry, then scoring).
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime, timedelta

import psycopg

from analytics.repository import insert_anomalies, load_features
from analytics.rules import load_rules
from analytics.scoring import score_windows
from analytics.service import train_forest
from bench.services import REPO, bench_database
from core.fleet import load_fleet_file, parse_fleet
from core.fleet_repository import upsert_fleet
from core.fleet_synth import synthesize


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--robots", type=int, default=2000)
    ap.add_argument("--days", type=int, default=90)
    args = ap.parse_args()
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    out: dict[str, object] = {"robots": args.robots, "days": args.days}
    with bench_database() as db, psycopg.connect(db) as conn:
        fleet = parse_fleet(
            synthesize(
                load_fleet_file(REPO / "examples" / "fleet.yaml"), robots=args.robots, seed=2
            )
        )
        upsert_fleet(conn, fleet=fleet)
        conn.execute(
            """INSERT INTO robot_features (robot_id, window_start, window_hours, model, fw,
                   n_readings, n_cooking, igbt_rise_per_kw, stir_vib_p90, stir_current_p50,
                   pressure_per_flow, power_per_degree, heatup_s, fan_rpm_p50, err_count)
               SELECT r.robot_id, d, 24, r.model, r.firmware, 600, 120,
                      8 * (1 + 0.01 * random()) * CASE WHEN hashtext(r.robot_id) %% 20 = 0
                          THEN 1 + greatest(0, extract(epoch FROM d - (%(end)s::timestamptz
                               - interval '20 days')) / 86400) * 0.05 ELSE 1 END,
                      1.7 * (1 + 0.02 * random()), 1.3 * (1 + 0.02 * random()),
                      7.8 * (1 + 0.01 * random()), 28 * (1 + 0.005 * random()),
                      120, 2400 * (1 + 0.005 * random()), 0
               FROM robots r, generate_series(%(end)s::timestamptz - make_interval(days => %(days)s),
                                              %(end)s::timestamptz - interval '1 day',
                                              interval '1 day') d""",
            {"end": end, "days": args.days},
        )
        conn.commit()
        t = time.perf_counter()
        rows = load_features(conn, end=end)
        t_load = time.perf_counter() - t
        t = time.perf_counter()
        result = score_windows(rows, rules=load_rules())
        t_score = time.perf_counter() - t
        t = time.perf_counter()
        recent = [a for a in result.anomalies if a.window_end > end - timedelta(days=1)]
        inserted = insert_anomalies(conn, rows=recent, now=end)
        conn.commit()
        t_insert = time.perf_counter() - t
        out["scoring_all_robots"] = {
            "feature_rows": len(rows),
            "load_s": round(t_load, 2),
            "score_s": round(t_score, 2),
            "insert_s": round(t_insert, 2),
            "anomalies_latest_window": inserted,
            "total_s": round(t_load + t_score + t_insert, 2),
        }
        # Live scoring every few minutes: only windows ending after the last run produce
        # anomalies; the history still feeds each robot's baseline and CUSUM.
        since = end - timedelta(minutes=5)
        t = time.perf_counter()
        rows = load_features(conn, end=end)
        t_load = time.perf_counter() - t
        t = time.perf_counter()
        result = score_windows(rows, rules=load_rules(), since=since)
        t_score = time.perf_counter() - t
        t = time.perf_counter()
        inserted = insert_anomalies(conn, rows=result.anomalies, now=end)
        conn.commit()
        out["scoring_latest_5_min"] = {
            "robots": len({r["robot_id"] for r in rows}),
            "load_s": round(t_load, 2),
            "score_s": round(t_score, 2),
            "insert_s": round(time.perf_counter() - t, 2),
            "anomalies": len(result.anomalies),
            "inserted": inserted,
            "total_s": round(t_load + t_score + time.perf_counter() - t, 2),
        }
        out["live_end_to_end"] = _live(conn, day=end)
        model = fleet.models[0].code
        t = time.perf_counter()
        model_id = train_forest(conn, robot_model=model, start=None, end=end)
        out["train_iforest"] = {
            "robot_model": model,
            "model_id": model_id,
            "seconds": round(time.perf_counter() - t, 2),
        }
    print(json.dumps(out, indent=2))


_RAW_DAY = """
INSERT INTO telemetry (ts, robot_id, seq, model, fw, state, wok_temp_c, heater_power_w,
    igbt_temp_c, stir_current_a, stir_rpm, stir_vib_mm_s, pump_pressure_kpa, dose_flow_ml_s,
    exhaust_fan_rpm, cabinet_temp_c, err, received_at)
SELECT ts, r.robot_id, n, r.model, r.firmware, st,
       CASE st WHEN 'cooking' THEN 180 + 20 * random() WHEN 'preheat' THEN 120 ELSE 40 END,
       CASE st WHEN 'cooking' THEN 3000 + 500 * random() WHEN 'preheat' THEN 3500 ELSE 0 END,
       35 + CASE st WHEN 'cooking' THEN 26 * (1 + 0.01 * random()) ELSE 2 END,
       CASE st WHEN 'cooking' THEN 1.3 * (1 + 0.02 * random()) ELSE 0.2 END, 60,
       CASE st WHEN 'cooking' THEN 1.7 * (1 + 0.02 * random()) ELSE 0.1 END,
       CASE WHEN st = 'cooking' AND n %% 3 = 0 THEN 94 * (1 + 0.01 * random()) ELSE 0 END,
       CASE WHEN st = 'cooking' AND n %% 3 = 0 THEN 12 ELSE 0 END,
       CASE WHEN st IN ('cooking', 'preheat') THEN 2400 * (1 + 0.005 * random()) ELSE 0 END,
       35, '{}', ts + interval '2 seconds'
FROM robots r,
     LATERAL (SELECT n, %(day)s::timestamptz + interval '2 hours' + n * interval '120 seconds' AS ts,
                     (ARRAY['preheat', 'cooking', 'cooking', 'cooking', 'cooking', 'cooking',
                            'cleaning', 'idle', 'idle', 'idle'])[n %% 10 + 1] AS st
              FROM generate_series(0, 329) n) g
"""


def _live(conn: psycopg.Connection[tuple[object, ...]], *, day: datetime) -> dict[str, object]:
    """The live scoring job at the end of a day of raw telemetry, every 5 minutes, and the
    job it replaced (features of the last 2 days from raw, then scoring)."""
    from analytics.segments import ScoringConfig
    from analytics.service import live_fleet_norms, score, score_live
    from core.maintenance import ensure_partitions

    ensure_partitions(conn, start=day, end=day + timedelta(days=1))
    t = time.perf_counter()
    conn.execute(_RAW_DAY, {"day": day})
    conn.commit()
    raw = conn.execute("SELECT count(*) FROM telemetry").fetchone()
    out: dict[str, object] = {
        "raw_readings_that_day": raw[0] if raw else 0,
        "raw_insert_s": round(time.perf_counter() - t, 1),
    }
    lag = timedelta(seconds=30)
    first_at = day + timedelta(hours=12, minutes=45) + lag
    t = time.perf_counter()
    first = score_live(conn, now=first_at, lag=lag, use_forests=False)
    conn.commit()
    out["first_run_catch_up"] = {
        "readings_received_by": (first_at - lag).isoformat(),
        "windows": first.feature_rows,
        "total_s": round(time.perf_counter() - t, 2),
        **{f"{k}_s": round(v, 2) for k, v in first.seconds.items()},
    }
    runs = []
    for k in (1, 2, 3):  # the 5-minute runs at the end of the day (each reads its slice)
        t = time.perf_counter()
        run = score_live(conn, now=first_at + k * timedelta(minutes=5), lag=lag, use_forests=False)
        conn.commit()
        runs.append(
            {"total_s": round(time.perf_counter() - t, 2), "windows": run.feature_rows,
             **{f"{k}_s": round(v, 2) for k, v in run.seconds.items()}}
        )  # fmt: skip
    out["every_5_minutes"] = runs
    out["every_5_minutes_max_s"] = max(float(str(r["total_s"])) for r in runs)
    t = time.perf_counter()
    live_fleet_norms(conn, cfg=ScoringConfig(), now=first_at, max_age=timedelta(0))
    conn.commit()
    out["fleet_norms_recomputed_daily_s"] = round(time.perf_counter() - t, 2)
    now = first_at + timedelta(minutes=15)
    t = time.perf_counter()
    score(conn, start=now - timedelta(days=2), end=now, now=now, use_forests=False)
    conn.commit()
    out["previous_job_2_days_from_raw_s"] = round(time.perf_counter() - t, 2)
    return out


if __name__ == "__main__":
    main()
