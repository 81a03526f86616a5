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
