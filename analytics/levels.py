"""Failure levels fitted from labelled history.

For every labelled fault that reached functional failure, the health indicator of its
kind (relative deviation from the robot's own baseline on its firmware version, in
the bad direction) is read on the last window that ended before the failure; the
median over the faults of a kind is that kind's failure level. The defaults in
``analytics/components.py`` come from the physics; these come from what failed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from statistics import median
from typing import Any

import numpy as np

from analytics.components import INDICATORS
from analytics.scoring import ScoringConfig, firmware_segments
from core.db import Conn

MIN_FAULTS = 3


@dataclass(frozen=True)
class FittedLevel:
    kind: str
    level: float
    n_faults: int
    low: float
    high: float
    default: float


def health_at_failure(
    fault: dict[str, Any], rows: list[dict[str, Any]], cfg: ScoringConfig = ScoringConfig()
) -> float | None:
    """The fault's indicator on the last window ending at or before its failure."""
    ind = next((i for i in INDICATORS if i.kind == fault["kind"] and not i.sudden), None)
    if ind is None or not fault.get("failure"):
        return None
    usable = [r for r in rows if r["n_cooking"] >= cfg.min_cooking]
    for segment in firmware_segments(usable):
        base = [r[ind.feature] for r in segment[: cfg.baseline_windows] if r[ind.feature]]
        if len(segment) <= cfg.baseline_windows or not base:
            continue
        med = float(np.median(base))
        before = [
            r
            for r in segment[cfg.baseline_windows :]
            if r["window_start"] + _span(r) <= fault["failure"] and r[ind.feature] is not None
        ]
        if before and segment[0]["window_start"] <= fault["failure"]:
            return ind.direction * (float(before[-1][ind.feature]) / med - 1)
    return None


def _span(row: dict[str, Any]) -> Any:
    from datetime import timedelta

    return timedelta(hours=row.get("window_hours") or 24)


def fit(
    truth: list[dict[str, Any]],
    features: list[dict[str, Any]],
    cfg: ScoringConfig = ScoringConfig(),
) -> list[FittedLevel]:
    """Median health at failure per kind (kinds with at least MIN_FAULTS failures)."""
    by_robot: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in features:
        by_robot[r["robot_id"]].append(r)
    values: dict[str, list[float]] = defaultdict(list)
    for fault in truth:
        rows = sorted(by_robot.get(fault["robot_id"], []), key=lambda r: r["window_start"])
        h = health_at_failure(fault, rows, cfg)
        if h is not None and h > 0:
            values[fault["kind"]].append(h)
    defaults = {i.kind: i.failure_level for i in INDICATORS}
    out = []
    for kind, hs in sorted(values.items()):
        if len(hs) >= MIN_FAULTS:
            lo, hi = np.percentile(hs, [25, 75])
            out.append(FittedLevel(kind, median(hs), len(hs), float(lo), float(hi), defaults[kind]))
    return out


def store(conn: Conn, levels: list[FittedLevel], *, fitted_from: str) -> None:
    for lv in levels:
        conn.execute(
            """INSERT INTO failure_levels (kind, level, n_faults, spread_low, spread_high,
                   fitted_from) VALUES (%s, %s, %s, %s, %s, %s)
               ON CONFLICT (kind) DO UPDATE SET level = EXCLUDED.level,
                   n_faults = EXCLUDED.n_faults, spread_low = EXCLUDED.spread_low,
                   spread_high = EXCLUDED.spread_high, fitted_from = EXCLUDED.fitted_from,
                   fitted_at = now()""",
            (lv.kind, lv.level, lv.n_faults, lv.low, lv.high, fitted_from),
        )


def load(conn: Conn) -> tuple[tuple[str, float], ...]:
    """Fitted levels as ScoringConfig.failure_levels (empty: use the defaults)."""
    return tuple(
        (k, float(v))
        for k, v in conn.execute("SELECT kind, level FROM failure_levels ORDER BY kind").fetchall()
    )
