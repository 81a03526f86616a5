"""What limits time-to-failure per fault kind, on a labelled run kept by the evaluation.

For every fault that failed, the kind's health indicator (``analytics.levels``: relative
to the robot's baseline on the firmware version it failed on) is read on every window:

- ``noise_over_level``: the day-to-day standard deviation of the indicator on the
  windows before the fault's onset (healthy days), over the kind's failure level — how
  many noise-widths a trend has to cross;
- ``at_failure_spread``: the 25–75 % range of the indicator on the last window before
  failure, over its median, and its correlation with how many hours before the failure
  that window's middle lies (the daily window's share of the spread);
- ``corrected_spread``: the same spread with each value brought to the failure instant
  by a shape-2 fault's growth over those hours.

    python -m bench.evaluation --robots 200 --days 90 --seeds 8 --faults 0.9 --quick --keep
    python -m bench.indicators --database <the kept database>

And, with ``--recipe-mix`` (no database: a simulation of healthy robots), how much of the
wok indicator's day-to-day noise is the day's recipe mix: each robot's daily median power
per degree, against the same with every reading divided by its recipe's median.

    python -m bench.indicators --recipe-mix --robots 8 --days 30

Figures in docs/fault-models.md ("Why the misses", wok sensor).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from datetime import timedelta
from typing import Any

import numpy as np
import psycopg

from analytics import levels
from analytics.components import INDICATORS
from analytics.repository import ground_truth, load_features
from analytics.segments import ScoringConfig


def kind_figures(
    faults: list[dict[str, Any]], by_robot: dict[str, list[dict[str, Any]]], cfg: ScoringConfig
) -> dict[str, Any]:
    hours, at_failure, life, noise = [], [], [], []
    for f in faults:
        rows = by_robot.get(f["robot_id"], [])
        hist = levels.health_history(f, rows, cfg)
        healthy = [h for _, h, end in hist if end <= f["onset"]]
        if len(healthy) >= 8:
            noise.append(float(np.std(healthy, ddof=1)))
        if not hist or hist[-1][1] <= 0:
            continue
        last = rows[-1]
        if last["window_start"] + timedelta(hours=2 * (last["window_hours"] or 24)) < f["failure"]:
            continue  # failed after the history ends (as levels.fit)
        middle, value, _ = hist[-1]
        hours.append((f["failure"] - middle).total_seconds() / 3600)
        at_failure.append(value)
        life.append((f["failure"] - f["onset"]).total_seconds() / 86400)
    if len(at_failure) < 3:
        return {"failures": len(at_failure)}
    h, y, t = np.array(hours), np.array(at_failure), np.array(life)

    def spread(v: np.ndarray) -> float:
        return round(float((np.percentile(v, 75) - np.percentile(v, 25)) / np.median(v)), 3)

    level = cfg.degradation_model(faults[0]["kind"]).level
    return {
        "failures": len(y),
        "failure_level": level,
        "healthy_daily_sd": round(float(np.median(noise)), 4) if noise else None,
        "noise_over_level": round(float(np.median(noise)) / level, 3) if noise else None,
        "at_failure_spread": spread(y),
        "hours_before_failure": [round(float(h.min())), round(float(h.max()))],
        "corr_hours_value": round(float(np.corrcoef(h, y)[0, 1]), 2),
        "corrected_spread": spread(y / (1 - h / 24 / t) ** 2),
    }


def recipe_mix(robots: int, days: int, seed: int) -> dict[str, Any]:
    """Day-to-day relative sd of power per degree per robot: as the feature takes it (all
    cooking readings of the day) and with each reading divided by its recipe's median."""
    from datetime import UTC, datetime
    from pathlib import Path

    from core.fleet import load_fleet_file
    from firmware_sim.engine import build_simulation
    from firmware_sim.scenario import Scenario

    fleet = load_fleet_file(Path(__file__).resolve().parents[1] / "examples" / "fleet.yaml")
    ids = [r.id for _, r in fleet.robots()][:robots]
    scenario = Scenario(
        end=datetime(2026, 10, 1, tzinfo=UTC), days=days, seed=seed, sample_s=120, batch=1,
        robots=ids, faults=[],
    )  # fmt: skip
    values: dict[str, dict[tuple[str, str], list[float]]] = defaultdict(lambda: defaultdict(list))
    for msg in build_simulation(fleet, scenario).messages():
        if msg.kind != "telemetry":
            continue
        body = json.loads(msg.payload)
        for r in body.get("batch", [body]):
            m = r.get("m", {})
            wok, cab, watts = m.get("wok_temp_c"), m.get("cabinet_temp_c"), m.get("heater_power_w")
            if r.get("state") == "cooking" and None not in (wok, cab, watts) and wok > cab + 50:
                values[r["robot_id"]][(r["ts"][:10], r.get("recipe") or "")].append(
                    watts / (wok - cab)
                )
    out = {}
    for robot, cells in sorted(values.items()):
        dates = sorted({d for d, _ in cells})
        recipes = sorted({r for _, r in cells})
        ref = {rc: np.median([v for (_, r), vs in cells.items() if r == rc for v in vs])
               for rc in recipes}  # fmt: skip
        raw = [np.median([v for (d, _), vs in cells.items() if d == day for v in vs])
               for day in dates]  # fmt: skip
        normed = [np.median([v / ref[r] for (d, r), vs in cells.items() if d == day for v in vs])
                  for day in dates]  # fmt: skip
        out[robot] = {
            "days": len(dates),
            "daily_rel_sd": round(float(np.std(raw, ddof=1) / np.mean(raw)), 4),
            "recipe_normalised_rel_sd": round(float(np.std(normed, ddof=1) / np.mean(normed)), 4),
            "recipe_over_median": {rc: round(float(ref[rc] / np.median(raw)), 3) for rc in recipes},
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--database", help="a database kept by bench.evaluation")
    ap.add_argument("--run-id", default="eval")
    ap.add_argument("--recipe-mix", action="store_true", help="simulate healthy robots instead")
    ap.add_argument("--robots", type=int, default=8)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()
    if args.recipe_mix:
        print(json.dumps(recipe_mix(args.robots, args.days, args.seed), indent=1))
        return
    if not args.database:
        ap.error("--database is required (or --recipe-mix)")
    with psycopg.connect(args.database) as conn:
        truth = ground_truth(conn, run_id=args.run_id)
        features = load_features(conn, robots=sorted({f["robot_id"] for f in truth}))
    by_robot: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in features:
        by_robot[r["robot_id"]].append(r)
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in truth:
        by_kind[f["kind"]].append(f)
    cfg = ScoringConfig()
    gradual = sorted({i.kind for i in INDICATORS if not i.sudden})
    out = {k: kind_figures(by_kind[k], by_robot, cfg) for k in gradual if by_kind.get(k)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
