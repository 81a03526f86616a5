"""Every detector honours the scikit-learn estimator contract."""

from __future__ import annotations

from typing import Any

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
        return {
            "check_outliers_train": _OUTLIER_CONTAMINATION,
            "check_outliers_fit_predict": _OUTLIER_CONTAMINATION,
        }
    return {}


@parametrize_with_checks(
    [RobustBaseline(), CusumDrift(), IsolationForestDetector(n_estimators=20)],
    expected_failed_checks=expected_failed,
)
def test_sklearn_contract(estimator: Any, check: Any) -> None:
    """scikit-learn's own checks: params in __init__, fit returns self, fitted attributes, …"""
    check(estimator)
