"""Analytics use cases: score recent windows, train a forest, backtest against ground truth."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from analytics import registry
from analytics import repository as repo
from analytics.detectors import IsolationForestDetector
from analytics.evaluation import Report, evaluate
from analytics.repository import compute_features, ground_truth, insert_anomalies, load_features
from analytics.rules import RuleSet, load_rules
from analytics.scoring import ScoringConfig, healthy_z, score_windows
from core.db import Conn

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoringRun:
    feature_rows: int
    anomalies_found: int
    anomalies_inserted: int
    robots_without_baseline: list[str]


def score(
    conn: Conn,
    *,
    start: datetime,
    end: datetime,
    cfg: ScoringConfig = ScoringConfig(),
    rules: RuleSet | None = None,
    use_forests: bool = True,
    now: datetime | None = None,
) -> ScoringRun:
    """Recompute features for windows in [start, end), score every robot, store new anomalies.

    Idempotent: a second run over the same data inserts nothing. ``now`` stamps what is
    written; by default ``end``, the instant the scoring is as of (a back-test's end).
    """
    now = now or end
    if not cfg.failure_levels:
        from dataclasses import replace

        from analytics.levels import load

        fitted_levels, powers = load(conn)
        cfg = replace(cfg, failure_levels=fitted_levels, trend_powers=powers)
    n = compute_features(conn, start=start, end=end, now=now)
    # Only robots with a window reaching into [start, end) can have anything new.
    robots = repo.robots_with_windows_in(conn, start=start, end=end)
    rows = load_features(conn, end=end, robots=robots)
    forests = registry.load_active(conn) if use_forests else {}
    result = score_windows(
        rows, cfg=cfg, rules=rules or rules_in_force(conn), forests=forests, since=start
    )
    recent = result.anomalies
    inserted = insert_anomalies(conn, rows=recent, now=now)
    logger.info("scored %d feature windows: %d anomalies, %d new", n, len(recent), inserted)
    return ScoringRun(n, len(recent), inserted, result.robots_without_baseline)


def rules_in_force(conn: Conn) -> RuleSet:
    """The active rule set loaded by an engineer, else the rules shipped in the package."""
    from analytics.rules_repository import active_rule_set

    return active_rule_set(conn) or load_rules()


def train_forest(
    conn: Conn,
    *,
    robot_model: str,
    start: datetime | None,
    end: datetime | None,
    random_state: int = 0,
    created_by: str | None = None,
    firmware: str | None = None,
    min_windows: int = 200,
) -> int:
    """Fit an IsolationForest on the healthy (baseline-span) windows of one robot model —
    of one firmware version if ``firmware`` is given, else of all versions. Fewer than
    ``min_windows`` healthy windows: refused (the threshold would be noise)."""
    rows = [
        r
        for r in load_features(conn, start=start, end=end)
        if r["model"] == robot_model and (firmware is None or r["fw"] == firmware)
    ]
    X = healthy_z(rows)
    scope = robot_model + (f" firmware {firmware}" if firmware else "")
    detector = IsolationForestDetector(random_state=random_state, min_samples=min_windows)
    if len(X) < detector.min_samples:
        raise ValueError(
            f"only {len(X)} healthy windows for {scope}: need at least {detector.min_samples}"
            " (a quarter is held out to set the threshold)"
        )
    detector.fit(X)
    return registry.save(
        conn,
        robot_model=robot_model,
        detector=detector,
        X=X,
        train_from=start,
        train_to=end,
        created_by=created_by,
        firmware=firmware,
    )


def backtest(
    conn: Conn,
    *,
    run_id: str,
    start: datetime,
    end: datetime,
    cfg: ScoringConfig = ScoringConfig(),
    use_forests: bool = True,
    healthy_fleet: bool = False,
) -> Report:
    """Score the whole period as if live, then evaluate against the run's ground truth
    (``healthy_fleet``: a run without any fault, where only false alarms are measured)."""
    score(conn, start=start, end=end, cfg=cfg, use_forests=use_forests)
    truth = ground_truth(conn, run_id=run_id)
    if not truth and not healthy_fleet:
        raise ValueError(f"no ground truth for run {run_id!r} (fault_ground_truth)")
    anomalies = repo.anomalies_between(conn, start=start, end=end)
    robots = repo.robots_with_features(conn, start=start, end=end)
    return evaluate(truth, anomalies, start=start, end=end + timedelta(days=1), robots=robots)


def _run_inputs(
    conn: Conn, run_id: str, start: datetime | None, end: datetime | None
) -> dict[str, Any]:
    """A run's ground truth, stored anomalies and scored period; refused with a reason when
    there is no ground truth or nothing scored."""
    from analytics.repository import evaluation_inputs

    data = evaluation_inputs(conn, run_id=run_id, start=start, end=end)
    if not data["truth"]:
        raise ValueError(f"no ground truth for run {run_id!r} (fault_ground_truth)")
    if data["start"] is None:
        raise ValueError("no feature windows in that period: run `aic models score` first")
    return data


def _evaluate_inputs(data: dict[str, Any], anomalies: list[dict[str, Any]]) -> Report:
    return evaluate(
        data["truth"],
        anomalies,
        start=data["start"],
        end=data["end"],
        robots=int(data["robots"] or 1),
    )


def evaluate_run(
    conn: Conn, *, run_id: str, start: datetime | None = None, end: datetime | None = None
) -> tuple[Report, dict[str, Any]]:
    """Evaluate the stored anomalies against a run's ground truth (no rescoring); return
    the report and its inputs (for plots)."""
    data = _run_inputs(conn, run_id, start, end)
    return _evaluate_inputs(data, data["anomalies"]), data


def evaluate_candidate(
    conn: Conn, *, run_id: str, model_id: int, start: datetime | None = None,
    end: datetime | None = None,
) -> Report:  # fmt: skip
    """Score a stored run with a trained forest that is not active (with the baseline and
    the rules in force), in memory — nothing is written — and evaluate it against the
    run's ground truth: how a candidate would do before anyone activates it."""
    from dataclasses import asdict

    data = _run_inputs(conn, run_id, start, end)
    scope, forest = registry.load_one(conn, model_id=model_id)
    rows = load_features(conn, start=data["start"], end=data["end"])
    found = score_windows(rows, rules=rules_in_force(conn), forests={scope: forest}).anomalies
    anomalies = [
        {**asdict(a), "error_code": a.evidence.get("error_code") if a.detector == "rules" else None}
        for a in found
    ]
    return _evaluate_inputs(data, anomalies)


def fit_failure_levels(
    conn: Conn, *, run_id: str, now: datetime, store_them: bool = True
) -> list[Any]:
    """Fit each kind's failure level from a labelled run and store it (used by scoring)."""
    from analytics import levels

    truth = ground_truth(conn, run_id=run_id)
    if not truth:
        raise ValueError(f"no ground truth for run {run_id!r} (fault_ground_truth)")
    robots = sorted({f["robot_id"] for f in truth})
    fitted = levels.fit(truth, load_features(conn, robots=robots))
    if not fitted:
        raise ValueError(
            f"run {run_id!r}: no fault kind with {levels.MIN_FAULTS}+ failures and features"
        )
    if store_them:
        levels.store(conn, fitted, fitted_from=run_id, now=now)
    return fitted
