"""Fault-model evaluation on a large simulated fleet, one seed per run.

    python -m bench.evaluation --robots 200 --days 90 --seed 1 [--sample-s 120]

Builds a fresh database with a synthetic fleet of ``--robots`` robots, simulates
``--days`` days with half the robots carrying a random labelled fault (kind, onset
and progression drawn from the seed), stores the readings through ingest's writer,
scores the period as live scoring would (each robot's baseline from its own first
healthy week, tested on the weeks after), and evaluates against the ground truth.
Then fits the failure levels on half of the robots (the labelled history) and
compares time-to-failure on the other half (held out) with the default and the
fitted levels; finally trains one IsolationForest per robot model on the first 30
days and scores again with the forests. Prints one JSON object; run several seeds
for the spread (docs/fault-models.md).
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime, timedelta

import psycopg

from analytics import levels, registry
from analytics.evaluation import evaluate
from analytics.repository import load_features
from analytics.service import backtest, score, train_forest
from bench.services import REPO, bench_database
from cli.sim import run_to_db
from core.fleet import load_fleet_file, parse_fleet
from core.fleet_repository import upsert_fleet
from core.fleet_synth import synthesize
from firmware_sim.engine import build_simulation
from firmware_sim.ground_truth import store
from firmware_sim.scenario import Scenario


def _anomalies(conn: psycopg.Connection[tuple[object, ...]]) -> list[dict[str, object]]:
    cols = ("robot_id", "kind", "detector", "window_start", "window_end", "predicted_failure")
    rows = conn.execute(
        f"SELECT {', '.join(cols)}, evidence->>'error_code' FROM anomalies"
    ).fetchall()
    cols += ("error_code",)
    return [dict(zip(cols, r, strict=True)) for r in rows]


def held_out_levels(
    conn: psycopg.Connection[tuple[object, ...]],
    faults: list[object],
    start: datetime,
    end: datetime,
) -> dict[str, object]:
    """Fit failure levels on the faulty robots of even rank, compare TTF on the others."""
    truth = [
        {"robot_id": f.robot_id, "kind": f.kind, "onset": f.onset, "failure": f.failure}  # type: ignore[attr-defined]
        for f in faults
    ]
    robots = sorted({r[0] for r in conn.execute("SELECT robot_id FROM robot_features")})
    train = set(robots[::2])
    held = [t for t in truth if t["robot_id"] not in train]
    before = [a for a in _anomalies(conn) if a["robot_id"] not in train]
    n_held = len(robots) - len(train)
    fitted = levels.fit(
        [t for t in truth if t["robot_id"] in train],
        load_features(conn, robots=sorted(train)),
    )
    levels.store(conn, fitted, fitted_from="eval/train-half", now=end)
    conn.execute("DELETE FROM anomalies WHERE detector = 'baseline-cusum'")
    score(conn, start=start, end=end, use_forests=False)
    after = [a for a in _anomalies(conn) if a["robot_id"] not in train]
    conn.commit()
    span = end + timedelta(days=1)
    default_report = evaluate(held, before, start=start, end=span, robots=n_held)
    fitted_report = evaluate(held, after, start=start, end=span, robots=n_held)
    return {
        "levels": {
            f.kind: {
                "level": round(f.level, 3),
                "default": f.default,
                "faults": f.n_faults,
                "power": f.power,
            }
            for f in fitted
        },
        "held_out_ttf_default": {
            k: r.median_ttf_error for k, r in sorted(default_report.kinds.items())
        },
        "held_out_ttf_fitted": {
            k: r.median_ttf_error for k, r in sorted(fitted_report.kinds.items())
        },
        "held_out_recall_fitted": {k: r.recall for k, r in sorted(fitted_report.kinds.items())},
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--robots", type=int, default=200)
    ap.add_argument("--days", type=float, default=90)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sample-s", type=float, default=120)
    ap.add_argument("--faults", type=float, default=0.5)
    ap.add_argument("--keep", action="store_true", help="keep the database for a look inside")
    args = ap.parse_args()
    end = datetime(2026, 11, 1, tzinfo=UTC)
    start = end - timedelta(days=args.days)
    out: dict[str, object] = vars(args).copy()
    with bench_database(keep=args.keep) as db:
        fleet = parse_fleet(
            synthesize(
                load_fleet_file(REPO / "examples" / "fleet.yaml"),
                robots=args.robots,
                seed=args.seed,
                prefix=f"ev{args.seed}",
            )
        )
        with psycopg.connect(db) as conn:
            upsert_fleet(conn, fleet=fleet)
        scenario = Scenario(
            end=end,
            days=args.days,
            seed=args.seed,
            sample_s=args.sample_s,
            batch=20,
            random_faults={"fraction": args.faults},
        )
        simulation = build_simulation(fleet, scenario)
        t0 = time.monotonic()
        run_to_db(simulation, db)
        out["simulate_store_s"] = round(time.monotonic() - t0, 1)
        with psycopg.connect(db) as conn:
            store(conn, simulation.faults, run_id="eval", seed=args.seed)
            conn.commit()
            t0 = time.monotonic()
            report = backtest(conn, run_id="eval", start=start, end=end, use_forests=False)
            out["score_s"] = round(time.monotonic() - t0, 1)
            out["baseline"] = report.as_dict()
            conn.commit()
            out["failure_levels"] = held_out_levels(conn, simulation.faults, start, end)
            for model in sorted({r.model for _, r in fleet.robots()}):
                try:
                    mid = train_forest(
                        conn, robot_model=model, start=start, end=start + timedelta(days=30)
                    )
                    registry.activate(conn, model_id=mid)
                except ValueError as exc:
                    out.setdefault("forest_skipped", []).append(str(exc))  # type: ignore[union-attr]
            conn.commit()
            report = backtest(conn, run_id="eval", start=start, end=end, use_forests=True)
            out["with_forests"] = report.as_dict()
    print(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
