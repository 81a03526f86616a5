"""Analytics use cases: score recent windows, train a forest, backtest against ground truth."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from psycopg_pool import ConnectionPool

from analytics import registry
from analytics import repository as repo
from analytics.detectors import IsolationForestDetector
from analytics.evaluation import Report, evaluate
from analytics.features_repository import compute_features, refresh_features
from analytics.repository import ground_truth, insert_anomalies, load_features
from analytics.rules import RuleSet, load_rules
from analytics.scoring import score_windows
from analytics.segments import FleetNorms, ScoringConfig, fleet_norms, healthy_z
from core.db import Conn

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoringRun:
    feature_rows: int
    anomalies_found: int
    anomalies_inserted: int
    robots_without_baseline: list[str]
    # seconds per step (feature refresh, load, priors, score, insert): for logs and benches
    seconds: dict[str, float] = field(default_factory=dict, compare=False)


def score(
    conn: Conn,
    *,
    start: datetime,
    end: datetime,
    cfg: ScoringConfig = ScoringConfig(),
    rules: RuleSet | None = None,
    use_forests: bool = True,
    now: datetime | None = None,
    pool: ConnectionPool | None = None,
    workers: int = 1,
) -> ScoringRun:
    """Recompute features for windows in [start, end), score every robot, store new anomalies.

    Idempotent: a second run over the same data inserts nothing. ``now`` stamps what is
    written; by default ``end``, the instant the scoring is as of (a back-test's end).
    With a ``pool`` and ``workers`` > 1 the features (most of a long period's time) are
    computed by that many connections at once, each for its share of the robots.
    """
    now = now or end
    if pool is not None and workers > 1:
        n = compute_features_parallel(pool, workers, start=start, end=end, now=now)
    else:
        n = compute_features(conn, start=start, end=end, now=now)
    # Only robots with a window reaching into [start, end) can have anything new.
    robots = repo.robots_with_windows_in(conn, start=start, end=end)
    return _score_robots(
        conn, robots, windows=n, since=start, end=end, now=now, cfg=cfg, rules=rules,
        use_forests=use_forests,
    )  # fmt: skip


def compute_features_parallel(
    pool: ConnectionPool, workers: int, *, start: datetime, end: datetime, now: datetime
) -> int:
    """``compute_features`` for [start, end) split by robot over ``workers`` connections of
    ``pool`` at once (each share in its own transaction; the windows are the same)."""
    from concurrent.futures import ThreadPoolExecutor

    with pool.connection() as c:
        robots = repo.registered_robots(c)

    def part(share: list[str]) -> int:
        with pool.connection() as c:
            return compute_features(c, start=start, end=end, now=now, robots=share)

    with ThreadPoolExecutor(workers) as ex:
        return sum(ex.map(part, [robots[i::workers] for i in range(workers)]))


def score_live(
    conn: Conn,
    *,
    now: datetime,
    lag: timedelta = timedelta(seconds=30),
    cfg: ScoringConfig = ScoringConfig(),
    rules: RuleSet | None = None,
    use_forests: bool = True,
) -> ScoringRun:
    """The live run (every few minutes): bring the feature windows up to the readings
    received by ``now - lag`` — re-reading only the raw hours that received readings since
    the last run — and score the robots whose windows changed, from their earliest changed
    window on. A run with nothing new does nothing."""
    t0 = time.perf_counter()
    fresh = refresh_features(conn, now=now, lag=lag)
    t1 = time.perf_counter()
    if not fresh.windows or fresh.earliest is None:
        return ScoringRun(0, 0, 0, [], {"refresh": t1 - t0})
    norms = live_fleet_norms(conn, cfg=cfg, now=now)
    t2 = time.perf_counter()
    run = _score_robots(
        conn, fresh.robots, windows=len(fresh.windows), since=fresh.earliest, end=now,
        now=now, cfg=cfg, rules=rules, use_forests=use_forests, norms=norms,
    )  # fmt: skip
    run.seconds.update(refresh=t1 - t0, norms=t2 - t1)
    return run


def live_fleet_norms(
    conn: Conn, *, cfg: ScoringConfig, now: datetime, max_age: timedelta = timedelta(days=1)
) -> FleetNorms:
    """The whole fleet's norms (scale priors, firmware shifts, centres), stored and reused
    for ``max_age``: a live run scores only the robots that reported, but their scales
    shrink toward every robot's, their updates are bridged by every robot's and the fleet
    check compares them with every robot. Recomputed from every robot's windows when
    older (once a day: baselines and update shifts come from a version's first windows)."""
    import numpy as np

    config = "/".join(
        str(x)
        for x in (cfg.baseline_windows, cfg.min_cooking, cfg.prior_min_robots,
                  cfg.bridge_windows, cfg.version)
    )  # fmt: skip
    stored = repo.stored_norms(conn, config=config, since=now - max_age, now=now)
    if stored is not None:
        of = {k: {key[1:]: np.array(v, dtype=float) for key, v in stored.items() if key[0] == k}
              for k in ("scale", "shift", "center", "spread")}  # fmt: skip
        return FleetNorms(
            priors={(m, f): v for (m, _, f), v in of["scale"].items()},
            shifts=of["shift"],
            centers={
                (m, f): np.vstack([v, of["spread"][(m, f0, f)]])
                for (m, f0, f), v in of["center"].items()
            },
        )
    by_robot: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in load_features(conn, end=now):
        by_robot[r["robot_id"]].append(r)
    norms = fleet_norms(by_robot, cfg)
    rows: repo.Norms = {("scale", m, None, f): v.tolist() for (m, f), v in norms.priors.items()}
    rows.update({("shift", m, f0, f): v.tolist() for (m, f0, f), v in norms.shifts.items()})
    rows.update({("center", m, None, f): v[0].tolist() for (m, f), v in norms.centers.items()})
    rows.update({("spread", m, None, f): v[1].tolist() for (m, f), v in norms.centers.items()})
    repo.store_norms(conn, config=config, norms=rows, now=now)
    return norms


def _score_robots(
    conn: Conn,
    robots: list[str],
    *,
    windows: int,
    since: datetime,
    end: datetime,
    now: datetime,
    cfg: ScoringConfig,
    rules: RuleSet | None,
    use_forests: bool,
    norms: FleetNorms | None = None,
) -> ScoringRun:
    """Score ``robots``' windows (their whole history feeds baselines and CUSUMs); store
    the anomalies of windows ending after ``since``. Without ``norms`` the fleet norms
    come from these robots."""
    if not cfg.degradation:
        from dataclasses import replace

        from analytics.levels import load

        cfg = replace(cfg, degradation=load(conn))
    t0 = time.perf_counter()
    rows = load_features(conn, end=end, robots=robots)
    t1 = time.perf_counter()
    forests = registry.load_active(conn) if use_forests else {}
    result = score_windows(
        rows, cfg=cfg, rules=rules or rules_in_force(conn), forests=forests, since=since,
        norms=norms, resets=repo.alarm_resets(conn, robots=robots),
    )  # fmt: skip
    t2 = time.perf_counter()
    recent = result.anomalies
    inserted = insert_anomalies(conn, rows=recent, now=now)
    seconds = {"load": t1 - t0, "score": t2 - t1, "insert": time.perf_counter() - t2}
    logger.info(
        "scored %d feature windows: %d anomalies, %d new (%s)", windows, len(recent), inserted,
        ", ".join(f"{k} {v:.2f} s" for k, v in seconds.items()),
    )  # fmt: skip
    return ScoringRun(windows, len(recent), inserted, result.robots_without_baseline, seconds)


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
    pool: ConnectionPool | None = None,
    workers: int = 1,
) -> Report:
    """Score the whole period as if live, then evaluate against the run's ground truth
    (``healthy_fleet``: a run without any fault, where only false alarms are measured;
    ``pool``/``workers``: features computed in parallel, as in ``score``)."""
    score(conn, start=start, end=end, cfg=cfg, use_forests=use_forests, pool=pool, workers=workers)
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
