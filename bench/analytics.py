"""Scoring and training on feature windows of a large synthetic fleet.

    python -m bench.analytics [--robots 2000] [--days 90]

Feature rows (one per robot and day) are generated in SQL with realistic values
and noise, 5 % of robots drifting; then times scoring every robot's windows
(baseline, CUSUM, rules, time-to-failure, anomaly inserts) and training the
IsolationForest of one robot model. The SQL feature aggregation over raw
telemetry is not included (it scales with readings; see docs/fault-models.md).
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
        model = fleet.models[0].code
        t = time.perf_counter()
        model_id = train_forest(conn, robot_model=model, start=None, end=end)
        out["train_iforest"] = {
            "robot_model": model,
            "model_id": model_id,
            "seconds": round(time.perf_counter() - t, 2),
        }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
