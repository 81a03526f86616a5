"""Every detector honours the scikit-learn estimator contract."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from analytics.detectors import CusumDrift, IsolationForestDetector, RobustBaseline

# Documented departures from the generic checks, with the reason.
_OUTLIER_CONTAMINATION = (
    "threshold comes from the robot's baseline (z) or a training quantile, "
    "not from a `contamination` parameter"
)
_SEQUENTIAL = "CUSUM is a sequential statistic: each value depends on the ones before it"


def expected_failed(estimator: Any) -> dict[str, str]:
    if isinstance(estimator, CusumDrift):
        return {
            "check_methods_sample_order_invariance": _SEQUENTIAL,
            "check_methods_subset_invariance": _SEQUENTIAL,
        }
    if isinstance(estimator, RobustBaseline):
        return {
            "check_outliers_train": _OUTLIER_CONTAMINATION,
            "check_outliers_fit_predict": _OUTLIER_CONTAMINATION,
        }
    if isinstance(estimator, IsolationForestDetector):
        return {"check_outliers_train": _OUTLIER_CONTAMINATION}
    return {}


@parametrize_with_checks(
    [RobustBaseline(), CusumDrift(), IsolationForestDetector(n_estimators=20, min_samples=2)],
    expected_failed_checks=expected_failed,
)
def test_sklearn_contract(estimator: Any, check: Any) -> None:
    """scikit-learn's own checks: params in __init__, fit returns self, fitted attributes, …"""
    check(estimator)


@pytest.mark.parametrize("seed", range(5))
def test_forest_threshold_from_held_out_windows(seed: int) -> None:
    """Issue 21: the threshold comes from windows the forest did not see, so it is
    reachable and calibrated whatever the random state: few false alarms on fresh healthy
    windows, a window far out on every indicator flagged, NaN counted as the centre; too
    few windows are refused rather than trusted."""
    rng = np.random.default_rng(seed)
    det = IsolationForestDetector(random_state=seed).fit(rng.normal(0, 1, size=(200, 7)))
    assert det.n_validation_ == 50
    fresh = rng.normal(0, 1, size=(4000, 7))
    assert (det.predict(fresh) == -1).mean() < 0.06
    bad = np.full((1, 7), 4.0)
    assert det.predict(bad)[0] == -1
    bad[0, 5] = np.nan
    assert det.predict(bad)[0] == -1
    with pytest.raises(ValueError, match="at least 200"):
        IsolationForestDetector().fit(fresh[:40])


def test_detectors_in_a_pipeline_on_a_non_kitchen_signal() -> None:
    """The docs' example (docs/fault-models.md): a server's inlet temperature and fan power,
    standardised on a healthy week and watched by a CUSUM or a forest in a Pipeline. NaN
    (a missed sample) is handled the same way by every detector."""
    from sklearn.pipeline import Pipeline

    rng = np.random.default_rng(1)
    healthy = np.column_stack([rng.normal(24.0, 0.3, 300), rng.normal(120.0, 4.0, 300)])
    drift = healthy[:60].copy()
    drift[:, 0] += np.linspace(0, 3.0, 60)  # a clogging filter: inlet creeps up 3 °C
    drift[5, 1] = np.nan
    watch = Pipeline([("z", RobustBaseline(directions=[1, 1])), ("cusum", CusumDrift())])
    watch.fit(healthy)
    flags = watch.predict(drift)
    assert flags[:10].tolist() == [1] * 10 and flags[-1] == -1
    forest = Pipeline([("z", RobustBaseline()), ("forest", IsolationForestDetector())])
    forest.fit(healthy)
    assert (forest.predict(healthy[:100]) == -1).mean() < 0.1
    assert forest.predict([[30.0, 200.0], [24.0, np.nan]]).tolist() == [-1, 1]


def test_a_forest_anomaly_is_blamed_on_the_feature_that_drives_it() -> None:
    """Issue 21: a forest anomaly driven by the stir current (a worn bearing draws more
    current under load) was attributed to the primary indicator pushed furthest — here
    the wok sensor, whose power per degree reads a little low. It belongs to the stir
    drive."""
    from analytics.scoring import score_robot
    from analytics.segments import ScoringConfig
    from tests.analytics.test_firmware_segments import windows

    rows = windows(["3.2.1"] * 30, [8.0] * 30)
    for r in rows[20:]:
        r["stir_current_p50"] *= 1.25
        r["power_per_degree"] *= 0.975
    rng = np.random.default_rng(1)
    forest = IsolationForestDetector(random_state=1).fit(rng.normal(0, 1, size=(400, 7)))
    found, _ = score_robot(
        rows,
        cfg=ScoringConfig(prior_min_robots=10**6),
        forests={("AIC-W1", "3.2.1"): ("iforest-test", forest)},
    )
    forest_rows = [a for a in found if a.detector == "iforest"]
    assert forest_rows, "the forest flags a +25 % stir current"
    assert {a.component for a in forest_rows} == {"stir_drive"}
    assert all("stir_current_p50" in a.evidence["top_features"] for a in forest_rows)


def test_a_forest_anomaly_with_nothing_worse_is_not_a_warning() -> None:
    """Issue 21: the forest flags any unusual window. On a firmware update's day a healthy
    robot read unusually *well* — cooling and vibration both 3–4 scales low — and the
    forest's alarm, blamed on the component pushed furthest in its bad direction (barely
    at all), counted as a false alarm from an update day. A forest anomaly is a warning
    only when its indicator moved ``forest_min_bad_z`` scales the bad way."""
    from dataclasses import replace

    from analytics.scoring import score_robot
    from analytics.segments import ScoringConfig
    from tests.analytics.test_firmware_segments import HEALTHY, windows

    rows = windows(["3.2.1"] * 30, [8.0] * 30)
    for r in rows[20:]:  # reading better on every one-way indicator, the rest as usual
        r.update(HEALTHY)
        for f in ("igbt_rise_per_kw", "stir_vib_p90", "stir_current_p50", "pressure_per_flow"):
            r[f] *= 0.85
        r["fan_rpm_p50"] *= 1.15
    rng = np.random.default_rng(1)
    forest = IsolationForestDetector(random_state=1).fit(rng.normal(0, 1, size=(400, 7)))
    cfg = ScoringConfig(prior_min_robots=10**6)

    def forest_alarms(c: ScoringConfig) -> int:
        found, _ = score_robot(rows, cfg=c, forests={("AIC-W1", "3.2.1"): ("t", forest)})
        return sum(a.detector == "iforest" for a in found)

    assert forest_alarms(replace(cfg, forest_min_bad_z=float("-inf"))) > 0  # the forest sees it
    assert forest_alarms(cfg) == 0
