"""Failure levels fitted from labelled history.

For every labelled fault that reached functional failure, the health indicator of its
kind (relative deviation from the robot's own baseline on its firmware version, in
the bad direction) is read on the last window that ended before the failure; the
median over the faults of a kind is that kind's failure level. The defaults in
``analytics/components.py`` come from the physics; these come from what failed.

The same history chooses each kind's *trend power*: time-to-failure fits
``health ** power`` as a straight line, and the power (from ``POWERS``) whose
predictions over the last 7 days before each failure had the smallest median
relative error is kept — if it beats the default power's error by 20 %; with the
handful of faults a region sees, a smaller gain is as likely noise. Likewise the
fitted level replaces the physics' default only if, with its power, it predicted
the history 20 % better than the default level and power did.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from statistics import median
from typing import Any

import numpy as np

from analytics import repository as repo
from analytics.components import INDICATORS
from analytics.segments import ScoringConfig, firmware_segments
from core.db import Conn

MIN_FAULTS = 3
POWERS = (0.2, 0.25, 0.33, 0.5, 0.75, 1.0)
MIN_GAIN = 0.8  # another power must cut the default's error by 20 % (few faults: noisy)
LAST_DAYS = 7


@dataclass(frozen=True)
class FittedLevel:
    kind: str
    level: float
    n_faults: int
    low: float
    high: float
    default: float
    power: float = 0.5
    power_error: float | None = None  # median relative TTF error with that power


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


def health_history(
    fault: dict[str, Any], rows: list[dict[str, Any]], cfg: ScoringConfig = ScoringConfig()
) -> list[tuple[Any, float]]:
    """(window middle, health) of the fault's indicator on the firmware segment where it
    failed, windows ending before the failure."""
    ind = next((i for i in INDICATORS if i.kind == fault["kind"] and not i.sudden), None)
    if ind is None or not fault.get("failure"):
        return []
    usable = [r for r in rows if r["n_cooking"] >= cfg.min_cooking]
    for segment in reversed(firmware_segments(usable)):
        base = [r[ind.feature] for r in segment[: cfg.baseline_windows] if r[ind.feature]]
        if len(segment) <= cfg.baseline_windows or not base:
            continue
        if segment[0]["window_start"] > fault["failure"]:
            continue
        med = float(np.median(base))
        return [
            (r["window_start"] + _span(r) / 2, ind.direction * (float(r[ind.feature]) / med - 1))
            for r in segment
            if r["window_start"] + _span(r) <= fault["failure"] and r[ind.feature] is not None
        ]
    return []


def best_power(
    histories: list[tuple[dict[str, Any], list[tuple[Any, float]]]],
    level: float,
    cfg: ScoringConfig = ScoringConfig(),
    powers: tuple[float, ...] = POWERS,
) -> tuple[float, float | None]:
    """The power whose predictions in the last days before failure erred least (median)."""
    from datetime import timedelta

    from analytics import ttf

    results: dict[float, float] = {}
    for power in powers:
        errors = []
        for fault, hist in histories:
            for k in range(len(hist)):
                t = hist[k][0]
                left = (fault["failure"] - t).total_seconds()
                if not 0 < left <= LAST_DAYS * 86400:
                    continue
                window = hist[max(0, k - cfg.trend_windows + 1) : k + 1]
                est = ttf.estimate(
                    [w[0] for w in window], [w[1] for w in window], failure_level=level, power=power
                )
                if est.predicted is not None:
                    errors.append(abs((est.predicted - fault["failure"]) / timedelta(seconds=left)))
        if errors:
            results[power] = float(median(errors))
    if not results:
        return cfg.ttf_power, None
    power = min(results, key=lambda p: results[p])
    default = results.get(cfg.ttf_power)
    if default is not None and results[power] > MIN_GAIN * default:
        return cfg.ttf_power, default
    return power, results[power]


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
            level = median(hs)
            histories = [
                (f, health_history(f, sorted(by_robot[f["robot_id"]], key=_start), cfg))
                for f in truth
                if f["kind"] == kind and f.get("failure")
            ]
            power, error = best_power(histories, level, cfg)
            # The physics' level stays unless the fitted one predicted the history better.
            _, default_error = best_power(histories, defaults[kind], cfg, powers=(cfg.ttf_power,))
            if default_error is not None and (error is None or error > MIN_GAIN * default_error):
                level, power, error = defaults[kind], cfg.ttf_power, default_error
            out.append(
                FittedLevel(
                    kind, level, len(hs), float(lo), float(hi), defaults[kind], power, error
                )
            )
    return out


def _start(row: dict[str, Any]) -> Any:
    return row["window_start"]


def store(conn: Conn, levels: list[FittedLevel], *, fitted_from: str, now: datetime) -> None:
    """Store fitted levels (fitted at ``now``), replacing earlier fits of the same kind."""
    for lv in levels:
        repo.store_failure_level(
            conn,
            kind=lv.kind,
            level=lv.level,
            n_faults=lv.n_faults,
            low=lv.low,
            high=lv.high,
            power=lv.power,
            fitted_from=fitted_from,
            now=now,
        )


def load(
    conn: Conn,
) -> tuple[tuple[tuple[str, float], ...], tuple[tuple[str, float], ...]]:
    """Fitted (levels, trend powers) for ScoringConfig (empty: use the defaults)."""
    rows = repo.failure_levels(conn)
    return tuple((k, float(v)) for k, v, _ in rows), tuple((k, float(p)) for k, _, p in rows)
