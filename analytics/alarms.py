"""Alarm rows: one robot's windows standardised against a reference (its own baseline,
or its fleet's centre), and the anomaly of a window with its time-to-failure estimate.
The fleet check (``fleet-z``) lives here too; scoring decides which windows alarm.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from analytics import ttf
from analytics.components import INDICATORS, Indicator
from analytics.repository import FEATURES, AnomalyRow
from analytics.segments import ScoringConfig, feature_matrix


def severity(pred: datetime | None, at: datetime, zb: float, cfg: ScoringConfig) -> str:
    if pred is not None:
        left = (pred - at).total_seconds() / 86400
        if left <= 3:
            return "critical"
        if left <= 7:
            return "high"
        return "medium"
    return "medium" if zb > 2 * cfg.z_threshold else "low"


@dataclass(frozen=True)
class Segment:
    """One robot's windows on one firmware version (or bridged versions), standardised
    against a reference: its own baseline, or its fleet's centre (``median``)."""

    usable: list[dict[str, Any]]
    X: np.ndarray
    Z: np.ndarray
    median: np.ndarray
    cfg: ScoringConfig
    span: timedelta
    since: datetime | None
    factors: np.ndarray | None = None  # bridged versions: X = raw / factors
    restarts: tuple[int, ...] = ()  # where a bridged version starts: the CUSUMs start again
    resets: tuple[tuple[datetime, str], ...] = ()  # (when, component): acknowledged, repaired

    def reset_at(self, component: str) -> list[int]:
        """Indices of the first window starting at or after each reset of ``component``."""
        starts = [r["window_start"] for r in self.usable]
        return sorted(
            {bisect.bisect_left(starts, at) for at, comp in self.resets if comp == component}
        )

    def scored(self) -> list[tuple[int, int, dict[str, Any]]]:
        """(index after the baseline, index in the segment, window) of the windows scored."""
        b = self.cfg.baseline_windows
        return [(i, b + i, r) for i, r in enumerate(self.usable[b:])]

    def is_new(self, r: dict[str, Any]) -> bool:
        return self.since is None or r["window_start"] + self.span > self.since


COL = {f: i for i, f in enumerate(FEATURES)}


def alarm_row(
    seg: Segment,
    ind: Indicator,
    k: int,
    r: dict[str, Any],
    *,
    z: float,
    stat: float | None,
    detector: tuple[str, str, str] | None = None,
) -> AnomalyRow:
    """The anomaly of window ``k`` for indicator ``ind``, with its time-to-failure estimate
    (health relative to ``seg.median``: the robot's baseline, or its fleet's centre).
    ``detector``: (name, version, what the reference is called in the evidence); by
    default the baseline + CUSUM detector's."""
    cfg, c = seg.cfg, COL[ind.feature]
    med = seg.median[c]
    model = cfg.degradation_model(ind.kind)
    lo = max(0, k - model.windows + 1)
    health = [ind.direction * (seg.X[j, c] / med - 1) if med else np.nan for j in range(lo, k + 1)]
    times = [seg.usable[j]["window_start"] + seg.span / 2 for j in range(lo, k + 1)]
    end = r["window_start"] + seg.span
    est = ttf.estimate(times, health, model, now=end)
    name, version, reference = detector or ("baseline-cusum", cfg.version, "baseline")
    return AnomalyRow(
        r["robot_id"],
        name,
        version,
        ind.component,
        ind.kind,
        r["window_start"],
        end,
        z,
        severity(est.predicted, end, z, cfg),
        est.predicted,
        est.low,
        est.high,
        {
            "feature": ind.feature,
            "value": float(seg.X[k, c] * (1.0 if seg.factors is None else seg.factors[k, c])),
            reference: float(med),
            **({} if seg.factors is None else {"fw_factor": round(float(seg.factors[k, c]), 4)}),
            "z": round(z, 2),
            **({} if stat is None else {"cusum": round(stat, 2)}),
            "health": round(float(health[-1]), 3),
            "failure_level": model.level,
            "trend_slope_per_day": round(est.slope_per_day, 4),
        },
    )


def fleet_anomalies(
    segment: list[dict[str, Any]],
    norm: np.ndarray,
    *,
    cfg: ScoringConfig,
    span: timedelta,
    since: datetime | None,
) -> list[AnomalyRow]:
    """Windows of one firmware version far from the fleet's centre in a fault's direction
    (``norm``: rows [centre, relative spread]), on ``fleet_persist`` windows in a row — from the
    robot's first window, before it has a baseline of its own."""
    X = feature_matrix(segment)
    center, rel = norm[0], norm[1]
    spread = np.maximum(np.nan_to_num(rel, nan=0.0), cfg.fleet_min_rel_spread) * np.abs(center)
    with np.errstate(all="ignore"):
        Z = (X - center) / spread
    seg = Segment(segment, X, Z, center, cfg, span, since)
    new = np.array([seg.is_new(r) for r in segment], dtype=bool)
    idx = np.arange(len(segment))
    out: list[AnomalyRow] = []
    for ind in INDICATORS:
        c = COL[ind.feature]
        if ind.sudden or not np.isfinite(spread[c]) or spread[c] <= 0:
            continue
        z = ind.direction * Z[:, c]
        over = np.nan_to_num(z) > cfg.z_threshold
        run = idx - np.maximum.accumulate(np.where(over, -1, idx))
        for k in np.flatnonzero((run >= cfg.fleet_persist) & new):
            out.append(
                alarm_row(seg, ind, int(k), segment[k], z=float(z[k]), stat=None,
                           detector=("fleet-z", cfg.fleet_version, "fleet_centre"))
            )  # fmt: skip
    return out
