"""Degradation models fitted from labelled history (``aic models fit-levels``).

For every labelled fault that reached functional failure, the health indicator of its
kind (relative deviation from the robot's own baseline on its firmware version, in the
bad direction) is read on every window before the failure. Per kind:

- the **failure level** candidates are the median health on the last window before
  failure, times 0.9–1.5 (that window ends up to a day before the failure);
- each candidate model (level × saturation × power × trend windows, see
  ``analytics/ttf.py``) predicts every window of the last 7 days before each failure,
  as live scoring would at that window's end; the model with the smallest median
  relative error ``|predicted − failure| / time left`` wins (no prediction counts as
  an error of 1);
- it replaces the default only if it erred at least 20 % less on that history — with
  the handful of faults a region sees, a smaller gain is as likely noise;
- its interval is calibrated on the same predictions: the 10th and 90th percentile of
  (actual time left) / (predicted time left) become its early and late factors.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import product
from statistics import median
from typing import Any

import numpy as np

from analytics import repository as repo
from analytics.components import INDICATORS
from analytics.segments import ScoringConfig, usable_segments
from analytics.ttf import HORIZON_DAYS, MIN_POINTS, Degradation, theil_sen
from core.db import Conn

MIN_FAULTS = 3
MIN_GAIN = 0.8  # a fitted model must cut the default's error by 20 % (few faults: noisy)
LAST_DAYS = 7
POWERS = (0.25, 0.33, 0.4, 0.5, 0.6, 0.75, 1.0)
SATURATIONS: tuple[float | None, ...] = (None, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)
WINDOWS = (5, 7, 10)
LEVEL_FACTORS = (0.9, 1.0, 1.1, 1.2, 1.35, 1.5)

History = list[tuple[datetime, float, datetime]]  # (window middle, health, window end)


@dataclass(frozen=True)
class FittedLevel:
    kind: str
    model: Degradation
    n_faults: int
    low: float  # 25th–75th percentile of the health at failure
    high: float
    default: Degradation
    error: float | None = None  # median relative TTF error of `model` on the history
    default_error: float | None = None

    @property
    def level(self) -> float:
        return self.model.level


def health_at_failure(
    fault: dict[str, Any], rows: list[dict[str, Any]], cfg: ScoringConfig = ScoringConfig()
) -> float | None:
    """The fault's indicator on the last window ending at or before its failure."""
    hist = health_history(fault, rows, cfg)
    return hist[-1][1] if hist else None


def health_history(
    fault: dict[str, Any], rows: list[dict[str, Any]], cfg: ScoringConfig = ScoringConfig()
) -> History:
    """(window middle, health, window end) of the fault's indicator on the firmware
    segment where it failed, windows ending before the failure, against the baseline of
    that segment's first windows."""
    ind = next((i for i in INDICATORS if i.kind == fault["kind"] and not i.sudden), None)
    if ind is None or not fault.get("failure"):
        return []
    for segment in reversed(usable_segments(rows, cfg)):
        base = [r[ind.feature] for r in segment[: cfg.baseline_windows] if r[ind.feature]]
        if len(segment) <= cfg.baseline_windows or not base:
            continue
        if segment[0]["window_start"] > fault["failure"]:
            continue
        med = float(np.median(base))
        return [
            (
                r["window_start"] + _span(r) / 2,
                ind.direction * (float(r[ind.feature]) / med - 1),
                r["window_start"] + _span(r),
            )
            for r in segment
            if r["window_start"] + _span(r) <= fault["failure"] and r[ind.feature] is not None
        ]
    return []


@dataclass(frozen=True)
class _Point:
    """One prediction a model is judged on: the history up to a window, made at its end."""

    days: np.ndarray  # window middles, days after the first
    health: np.ndarray
    now: float  # the window's end, days after the first middle
    left: float  # days from the window's end to the failure


def prediction_points(histories: list[tuple[dict[str, Any], History]]) -> list[_Point]:
    """Every window ending in the last LAST_DAYS days before its fault's failure."""
    out = []
    for fault, hist in histories:
        for k, (_, _, end) in enumerate(hist):
            left = (fault["failure"] - end) / timedelta(days=1)
            if not 0 < left <= LAST_DAYS:
                continue
            w = hist[max(0, k - max(WINDOWS) + 1) : k + 1]
            t0 = w[0][0]
            out.append(
                _Point(
                    np.array([(t - t0) / timedelta(days=1) for t, _, _ in w]),
                    np.array([h for _, h, _ in w]),
                    (end - t0) / timedelta(days=1),
                    left,
                )
            )
    return out


def predicted_left(model: Degradation, points: list[_Point], levels: list[float]) -> np.ndarray:
    """Days left predicted at each point (rows) for each failure level (columns); NaN where
    the trend does not rise. ``ttf.estimate``'s line and horizon, for many levels at once."""
    out = np.full((len(points), len(levels)), np.nan)
    targets = model.transform(np.array(levels, dtype=float))
    for n, p in enumerate(points):
        x, y = p.days[-model.windows :], model.transform(p.health[-model.windows :])
        line = theil_sen(x, y) if len(x) >= MIN_POINTS else None
        if line is None or line[0] <= 0:
            continue
        slope, intercept, _ = line
        crossing = (targets - intercept) / slope
        out[n] = np.where(
            crossing > p.now + HORIZON_DAYS, np.nan, np.maximum(crossing, p.now) - p.now
        )
    return out


def errors(left_pred: np.ndarray, points: list[_Point]) -> np.ndarray:
    """Median relative error per column (a missing prediction counts as 1)."""
    left = np.array([p.left for p in points])[:, None]
    err = np.abs(left_pred - left) / left
    return np.asarray(np.median(np.where(np.isnan(err), 1.0, err), axis=0))


def best_model(points: list[_Point], level_candidates: list[float]) -> tuple[Degradation, float]:
    """The grid's model with the smallest median relative error on ``points``."""
    best: tuple[float, Degradation] | None = None
    for sat, power, windows in product(SATURATIONS, POWERS, WINDOWS):
        model = Degradation(1.0, power, sat, windows)
        errs = errors(predicted_left(model, points, level_candidates), points)
        k = int(np.argmin(errs))
        if best is None or errs[k] < best[0]:
            best = (float(errs[k]), replace(model, level=level_candidates[k]))
    assert best is not None
    return best[1], best[0]


def calibrated(model: Degradation, points: list[_Point]) -> Degradation:
    """The model with its early/late factors: 10th/90th percentile of actual over
    predicted time left on ``points`` (unchanged if it predicted fewer than 5)."""
    pred = predicted_left(model, points, [model.level])[:, 0]
    ok = ~np.isnan(pred) & (pred > 0)
    if ok.sum() < 5:
        return model
    ratio = np.array([p.left for p in points])[ok] / pred[ok]
    early, late = np.percentile(ratio, [10, 90])
    return replace(model, early=round(float(early), 3), late=round(float(late), 3))


def _span(row: dict[str, Any]) -> timedelta:
    return timedelta(hours=row.get("window_hours") or 24)


def fit(
    truth: list[dict[str, Any]],
    features: list[dict[str, Any]],
    cfg: ScoringConfig = ScoringConfig(),
) -> list[FittedLevel]:
    """A degradation model per kind with at least MIN_FAULTS failures (module doc)."""
    by_robot: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in features:
        by_robot[r["robot_id"]].append(r)
    histories: dict[str, list[tuple[dict[str, Any], History]]] = defaultdict(list)
    for fault in truth:
        rows = sorted(by_robot.get(fault["robot_id"], []), key=lambda r: r["window_start"])
        if not rows or rows[-1]["window_start"] + 2 * _span(rows[-1]) < fault["failure"]:
            continue  # failed after the history ends (or never reported)
        hist = health_history(fault, rows, cfg)
        if hist and hist[-1][1] > 0:
            histories[fault["kind"]].append((fault, hist))
    out = []
    for kind, hists in sorted(histories.items()):
        if len(hists) < MIN_FAULTS:
            continue
        at_failure = [h[-1][1] for _, h in hists]
        default = cfg.degradation_model(kind)
        points = prediction_points(hists)
        candidates = [median(at_failure) * f for f in LEVEL_FACTORS]
        model, error = best_model(points, candidates)
        default_error = float(errors(predicted_left(default, points, [default.level]), points)[0])
        if error > MIN_GAIN * default_error:
            model, error = default, default_error
        else:
            model = calibrated(model, points)
        lo, hi = np.percentile(at_failure, [25, 75])
        out.append(
            FittedLevel(
                kind, model, len(hists), float(lo), float(hi), default, error, default_error
            )
        )
    return out


def store(conn: Conn, fitted: list[FittedLevel], *, fitted_from: str, now: datetime) -> None:
    """Store fitted models (fitted at ``now``), replacing earlier fits of the same kind."""
    for f in fitted:
        repo.store_failure_level(
            conn,
            kind=f.kind,
            model=f.model,
            n_faults=f.n_faults,
            low=f.low,
            high=f.high,
            error=f.error,
            fitted_from=fitted_from,
            now=now,
        )


def load(conn: Conn) -> tuple[tuple[str, Degradation], ...]:
    """Fitted models for ``ScoringConfig.degradation`` (empty: the defaults)."""
    return tuple(repo.failure_levels(conn))
