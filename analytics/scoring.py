"""Scoring: daily features → detectors → anomalies (incremental and idempotent).

Detectors per robot, on its time-ordered feature windows:

- ``rules/N``: threshold rules and error codes (``analytics/rules.yaml``);
- ``baseline-cusum/N``: robust z-scores against the robot's own first healthy
  windows, with a CUSUM on each indicator for slow drifts and a time-to-failure
  estimate per alarm;
- ``iforest/N``: the active IsolationForest of the robot's model (if one is
  trained and activated), on the same z-scores.

Re-scoring the same windows inserts nothing new (unique key per robot,
detector, component and window).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import numpy as np

from analytics.alarms import COL, Segment, alarm_row, fleet_anomalies
from analytics.components import INDICATORS, Indicator, attribute
from analytics.detectors import (
    IsolationForestDetector,
    cusum,
    robust_center_scale,
    shrink_scale,
)
from analytics.repository import FEATURES, AnomalyRow
from analytics.rules import RuleSet
from analytics.scores import anomaly_score
from analytics.segments import (
    FleetNorms,
    ScoringConfig,
    bridged,
    feature_matrix,
    fleet_norms,
    usable_segments,
)

__all__ = ["ScoringConfig", "score_robot", "score_windows"]  # ScoringConfig: re-exported

logger = logging.getLogger(__name__)


Forests = dict[tuple[str, str | None], tuple[str, IsolationForestDetector]]


@dataclass
class ScoreResult:
    anomalies: list[AnomalyRow] = field(default_factory=list)
    robots_without_baseline: list[str] = field(default_factory=list)


def score_robot(
    rows: list[dict[str, Any]],
    *,
    cfg: ScoringConfig,
    rules: RuleSet | None = None,
    forests: Forests | None = None,
    since: datetime | None = None,
    norms: FleetNorms | None = None,
    segments: list[list[dict[str, Any]]] | None = None,
    resets: list[tuple[datetime, str]] | None = None,
) -> tuple[list[AnomalyRow], bool]:
    """Score one robot's time-ordered windows; return anomalies and whether it has a baseline.

    ``forests`` maps (robot model, firmware) to the active forest; (model, None) is the
    forest for every version of the model without its own. With ``since``, only windows
    ending after it produce anomalies (the history still feeds baselines and CUSUMs):
    incremental scoring does not rebuild what is already stored. ``resets``: (when,
    component) of the robot's alarms acknowledged or cleared by a repair — the CUSUMs of
    that component start again from the first window after. ``norms``: the fleet's scale
    priors, firmware shifts (bridge) and centres (fleet check, ``fleet-z``).
    """
    out: list[AnomalyRow] = []
    hours = rows[0]["window_hours"] if rows else 24
    span = timedelta(hours=hours)
    if rules is not None:
        for r in rows:
            if since is not None and r["window_start"] + span <= since:
                continue
            for rule in rules.rules:
                if rule.fires(r):
                    value = r.get(rule.feature) if rule.feature else rule.error_code
                    out.append(
                        AnomalyRow(
                            r["robot_id"],
                            "rules",
                            rules.label,
                            rule.component,
                            rule.kind,
                            r["window_start"],
                            r["window_start"] + span,
                            1.0,
                            rule.severity,
                            None,
                            None,
                            None,
                            {
                                "rule": rule.name,
                                "feature": rule.feature,
                                "value": value,
                                "limit": rule.value,
                                "error_code": rule.error_code,
                            },
                        )
                    )
    has_baseline = False
    norms = norms or FleetNorms()
    split = usable_segments(rows, cfg) if segments is None else segments
    for chain, factors, base, starts in bridged(split, norms.shifts):
        if len(chain) <= cfg.baseline_windows:
            continue  # a new firmware: its baseline is still being learned
        has_baseline = True
        model, fw = chain[-1].get("model") or "", chain[-1].get("fw")
        chosen = (forests or {}).get((model, fw)) or (forests or {}).get((model, None))
        prior = norms.priors.get(base)
        out.extend(
            _score_segment(
                chain, cfg=cfg, span=span, forest=chosen, since=since, prior=prior,
                factors=factors, restarts=starts, resets=resets,
            )
        )  # fmt: skip
    if norms.centers and cfg.fleet_min_rel_spread > 0:
        for segment in split:
            norm = norms.centers.get((segment[-1].get("model") or "", segment[-1].get("fw")))
            if norm is not None:
                out.extend(fleet_anomalies(segment, norm, cfg=cfg, span=span, since=since))
    return out, has_baseline


def _score_segment(
    usable: list[dict[str, Any]],
    *,
    cfg: ScoringConfig,
    span: timedelta,
    forest: tuple[str, IsolationForestDetector] | None,
    since: datetime | None = None,
    prior: np.ndarray | None = None,
    factors: np.ndarray | None = None,
    restarts: list[int] | None = None,
    resets: list[tuple[datetime, str]] | None = None,
) -> list[AnomalyRow]:
    """Baseline + CUSUM (+ forest) on the windows of one firmware version of one robot (or
    of versions bridged by the fleet's shifts: ``factors`` bring them into the first
    version's units)."""
    X = feature_matrix(usable)
    if factors is not None:
        X = X / factors
    # RobustBaseline and CusumDrift, without scikit-learn's input validation per robot
    # (the same functions; validation was 40 % of scoring time).
    median, scale = robust_center_scale(X[: cfg.baseline_windows], cfg.min_rel_scale)
    if prior is not None:
        scale = shrink_scale(
            X[: cfg.baseline_windows], median, scale, prior, cfg.prior_windows, cfg.min_rel_scale
        )
    Z = (X - median) / scale
    seg = Segment(
        usable, X, Z, median, cfg, span, since, factors, tuple(restarts or ()),
        tuple(resets or ()),
    )  # fmt: skip
    out = _cusum_anomalies(seg)
    if forest is not None:
        out += _forest_anomalies(seg, forest)
    return out


def _cusum_anomalies(seg: Segment) -> list[AnomalyRow]:
    cfg = seg.cfg
    after = slice(cfg.baseline_windows, None)
    gradual = [ind for ind in INDICATORS if not ind.sudden]  # sudden: rules and error codes
    ZB = np.column_stack([ind.direction * seg.Z[:, COL[ind.feature]] for ind in gradual])
    STAT = _cusums(seg, ZB, gradual)
    rows = seg.usable[cfg.baseline_windows :]
    new = np.array([seg.is_new(r) for r in rows], dtype=bool)
    idx = np.arange(len(rows))
    out: list[AnomalyRow] = []
    for n_ind, ind in enumerate(gradual):
        zb = ZB[:, n_ind]
        stat = STAT[:, n_ind]
        over = np.nan_to_num(zb[after]) > cfg.z_threshold
        # the length of the run of windows over the threshold ending at each window
        run = idx - np.maximum.accumulate(np.where(over, -1, idx))
        fire = ((stat > cfg.cusum_h) | (run >= cfg.persist)) & new & ~np.isnan(zb[after])
        # (a window without this indicator reports nothing: no reading of it)
        for i in np.flatnonzero(fire):
            k = cfg.baseline_windows + int(i)
            out.append(alarm_row(seg, ind, k, rows[i], z=float(zb[k]), stat=float(stat[i])))
    return out


def _cusums(seg: Segment, ZB: np.ndarray, gradual: list[Indicator]) -> np.ndarray:
    """Each indicator's CUSUM over the windows after the baseline.

    The CUSUMs start again with each bridged version: the baseline carries over (a fault
    degrading across the update is judged against the old version), the accumulated
    evidence does not (it was measured by the old version; a healthy robot's small offset
    that crept over h is not carried across every update). A component's CUSUMs also
    start again after its alarm was acknowledged or cleared by a repair."""
    b = seg.cfg.baseline_windows
    if not seg.restarts and not seg.resets:
        return cusum(ZB[b:], seg.cfg.cusum_k)
    n = len(ZB) - b
    out = np.empty((n, len(gradual)))
    for j, ind in enumerate(gradual):
        starts = (*seg.restarts, *seg.reset_at(ind.component))
        cuts = sorted({0, n, *(i - b for i in starts if b < i < len(ZB))})
        for p, q in pairwise(cuts):
            out[p:q, j] = cusum(ZB[b + p : b + q, j : j + 1], seg.cfg.cusum_k)[:, 0]
    return out


def _forest_anomalies(
    seg: Segment, forest: tuple[str, IsolationForestDetector]
) -> list[AnomalyRow]:
    label, model = forest
    Z = seg.Z
    scores = anomaly_score(model, np.nan_to_num(Z[seg.cfg.baseline_windows :]))
    out: list[AnomalyRow] = []
    streak = 0
    for i, k, r in seg.scored():
        streak = streak + 1 if scores[i] > model.threshold_ else 0
        if streak < seg.cfg.forest_persist or not seg.is_new(r):
            continue
        # Attribute to the evidence pushed furthest in its bad direction; none pushed far
        # enough, no warning (an unusual but not a worse window).
        z = {f: float(np.nan_to_num(Z[k, COL[f]])) for f in FEATURES}
        best = attribute(z)
        if best.direction * z[best.feature] < seg.cfg.forest_min_bad_z:
            continue
        top = sorted(FEATURES, key=lambda f: -abs(z[f]))[:3]
        out.append(
            AnomalyRow(
                r["robot_id"],
                "iforest",
                label,
                best.component,
                best.kind,
                r["window_start"],
                r["window_start"] + seg.span,
                float(scores[i]),
                "medium",
                None,
                None,
                None,
                {
                    "threshold": model.threshold_,
                    "top_features": {f: round(float(Z[k, COL[f]]), 2) for f in top},
                },
            )
        )
    return out


def score_windows(
    rows: list[dict[str, Any]],
    *,
    cfg: ScoringConfig = ScoringConfig(),
    rules: RuleSet | None = None,
    forests: Forests | None = None,
    since: datetime | None = None,
    norms: FleetNorms | None = None,
    resets: dict[str, list[tuple[datetime, str]]] | None = None,
) -> ScoreResult:
    """Score every robot in ``rows`` (feature rows ordered by robot and window). The fleet
    norms come from the same rows' fleet unless given; ``resets`` per robot as in
    ``score_robot``."""
    by_robot: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_robot[r["robot_id"]].append(r)
    segments = {robot: usable_segments(robot_rows, cfg) for robot, robot_rows in by_robot.items()}
    if norms is None:
        norms = fleet_norms(by_robot, cfg, segments)
    result = ScoreResult()
    for robot, robot_rows in by_robot.items():
        anomalies, has_baseline = score_robot(
            robot_rows, cfg=cfg, rules=rules, forests=forests, since=since, norms=norms,
            segments=segments[robot], resets=(resets or {}).get(robot),
        )  # fmt: skip
        result.anomalies.extend(anomalies)
        if not has_baseline:
            result.robots_without_baseline.append(robot)
    return result
