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


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--database", required=True, help="a database kept by bench.evaluation")
    ap.add_argument("--run-id", default="eval")
    args = ap.parse_args()
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
