"""Detectors following the scikit-learn estimator contract.

``__init__`` only stores parameters; ``fit`` learns and returns ``self``;
learned attributes end in ``_``; ``score_samples`` follows scikit-learn's
polarity (higher = more normal). Use ``analytics.scores.anomaly_score`` for the
domain's "higher = more anomalous".
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, OutlierMixin, TransformerMixin
from sklearn.ensemble import IsolationForest
from sklearn.utils.validation import check_is_fitted, validate_data

Array = NDArray[np.float64]


def nanmedian_columns(X: Array) -> Array:
    """Median of each column ignoring NaN (NaN for an all-NaN column); a sort instead of
    ``np.nanmedian``, which is slow on the small matrices scoring works on.

    >>> nanmedian_columns(np.array([[1.0, np.nan], [3.0, np.nan], [2.0, 5.0]])).tolist()
    [2.0, 5.0]
    """
    s = np.sort(X, axis=0)  # NaN last
    n = np.sum(~np.isnan(X), axis=0)
    out = np.full(X.shape[1], np.nan)
    ok = n > 0
    cols = np.arange(X.shape[1])[ok]
    lo, hi = (n[ok] - 1) // 2, n[ok] // 2
    out[ok] = (s[lo, cols] + s[hi, cols]) / 2
    return out


def robust_center_scale(X: Array, min_rel_scale: float) -> tuple[Array, Array]:
    """(median, scale) per column: scale = 1.4826·MAD with a floor of min_rel_scale·|median|."""
    med = nanmedian_columns(X)
    with np.errstate(all="ignore"):
        mad = nanmedian_columns(np.abs(X - med))
    med = np.where(np.isnan(med), 0.0, med)
    mad = np.where(np.isnan(mad), 0.0, mad)
    return med, np.maximum(np.maximum(1.4826 * mad, min_rel_scale * np.abs(med)), 1e-9)


def shrink_scale(
    B: Array, median: Array, scale: Array, prior: Array, prior_windows: float, min_rel_scale: float
) -> Array:
    """A robot's scale (from its baseline windows ``B``) shrunk toward the fleet's relative
    scale ``prior`` (× |median|): a pooled variance in which the prior weighs
    ``prior_windows`` windows and the robot's own the windows it has; never under the floor.

    >>> B = np.array([[10.0], [10.01], [9.99]])  # a robot whose 3 windows barely move
    >>> med, own = robust_center_scale(B, 0.001)
    >>> round(float(shrink_scale(B, med, own, np.array([0.03]), 14, 0.001)[0]), 3)
    0.272
    """
    n = np.sum(~np.isnan(B), axis=0).astype(float)
    ref = np.abs(median)
    with np.errstate(all="ignore"):
        own = scale / np.where(ref > 0, ref, np.nan)
        pooled = np.sqrt((prior_windows * prior**2 + n * own**2) / (prior_windows + n))
    rel = np.where(np.isnan(pooled), scale / np.maximum(ref, 1e-12), pooled)
    return np.asarray(np.maximum(np.maximum(rel * ref, min_rel_scale * ref), 1e-9), dtype=float)


def cusum(X: Array, k: float) -> Array:
    """One-sided CUSUM per column, NaN counted as 0: ``S_t = max(0, S_{t-1} + x_t - k)``.

    Computed in closed form, ``S_t = C_t - min(0, min_{j<=t} C_j)`` with ``C`` the running
    sum of ``x - k`` (the recursion unrolled), one array operation per column instead of
    one per window.

    >>> cusum(np.array([[3.0], [np.nan], [0.0], [4.0]]), 1.0).ravel().tolist()
    [2.0, 1.0, 0.0, 3.0]
    """
    C = np.cumsum(np.nan_to_num(np.asarray(X, dtype=float), nan=0.0) - k, axis=0)
    floor = np.minimum(np.minimum.accumulate(C, axis=0), 0.0)
    return np.asarray(np.maximum(C - floor, 0.0), dtype=float)


class _AllowNaN:
    """Declares to scikit-learn that missing features (a day without dosing) are NaN."""

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        tags.input_tags.allow_nan = True
        return tags


class RobustBaseline(_AllowNaN, TransformerMixin, OutlierMixin, BaseEstimator):  # type: ignore[misc]
    """Per-robot robust z-scores: ``(x - median) / (1.4826 * MAD)``.

    The scale has a floor of ``min_rel_scale * |median|`` so that a very steady
    feature does not turn sensor noise into huge z-scores. Missing values (NaN)
    are allowed and ignored. ``directions`` (+1 rising is bad, -1 falling is bad, per
    column) makes the test one-sided as in live scoring; None tests both sides.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[10.0], [10.2], [9.8], [10.1], [9.9]])
    >>> b = RobustBaseline().fit(X)
    >>> round(float(b.transform([[11.0]])[0, 0]), 1)
    6.7
    >>> b.predict([[10.0], [14.0], [6.0]]).tolist()
    [1, -1, -1]
    >>> RobustBaseline(directions=[1]).fit(X).predict([[14.0], [6.0]]).tolist()
    [-1, 1]
    """

    def __init__(
        self, min_rel_scale: float = 0.01, threshold: float = 5.0, directions: Any = None
    ) -> None:
        self.min_rel_scale = min_rel_scale
        self.threshold = threshold
        self.directions = directions

    def fit(self, X: Any, y: Any = None) -> RobustBaseline:
        X = validate_data(self, X, ensure_all_finite="allow-nan", reset=True)
        self.median_, self.scale_ = robust_center_scale(X, self.min_rel_scale)
        return self

    def transform(self, X: Any) -> Array:
        check_is_fitted(self)
        X = validate_data(self, X, ensure_all_finite="allow-nan", reset=False)
        return np.asarray((X - self.median_) / self.scale_, dtype=float)

    def score_samples(self, X: Any) -> Array:
        z = self.transform(X)
        z = np.abs(z) if self.directions is None else z * np.asarray(self.directions, dtype=float)
        return -np.asarray(
            np.nan_to_num(np.nanmax(np.where(np.isnan(z), -np.inf, z), axis=1), neginf=0.0),
            dtype=float,
        )

    def decision_function(self, X: Any) -> Array:
        return self.score_samples(X) + self.threshold

    def predict(self, X: Any) -> NDArray[np.int64]:
        return np.where(self.decision_function(X) >= 0, 1, -1)


class CusumDrift(_AllowNaN, BaseEstimator):  # type: ignore[misc]
    """One-sided CUSUM on z-scores, for slow drifts a single window does not show.

    ``S_t = max(0, S_{t-1} + z_t - k)``; an alarm is raised when ``S_t > h``.
    Works on a time-ordered sequence of z-scores (one column per indicator).

    Examples
    --------
    >>> import numpy as np
    >>> z = np.array([[0.1], [0.3], [2.0], [2.5], [3.0], [3.0]])
    >>> CusumDrift(k=0.5, h=4.0).fit(z).alarms(z)[:, 0].tolist()
    [False, False, False, False, True, True]
    >>> CusumDrift(k=0.5, h=4.0).fit(z).predict(z).tolist()
    [1, 1, 1, 1, -1, -1]

    Defaults are live scoring's (k = 1.75, h = 10: ``ScoringConfig``).
    """

    def __init__(self, k: float = 1.75, h: float = 10.0) -> None:
        self.k = k
        self.h = h

    def fit(self, X: Any, y: Any = None) -> CusumDrift:
        X = validate_data(self, X, ensure_all_finite="allow-nan", reset=True)
        return self

    def statistic(self, X: Any) -> Array:
        check_is_fitted(self, "n_features_in_")
        X = validate_data(self, X, ensure_all_finite="allow-nan", reset=False)
        return cusum(X, self.k)

    def alarms(self, X: Any) -> NDArray[np.bool_]:
        return np.asarray(self.statistic(X) > self.h)

    def score_samples(self, X: Any) -> Array:
        """Higher = more normal (scikit-learn polarity): minus the largest CUSUM."""
        return -np.asarray(self.statistic(X).max(axis=1), dtype=float)

    def decision_function(self, X: Any) -> Array:
        """Negative where the CUSUM of some column is over ``h`` (an alarm)."""
        return self.score_samples(X) + self.h

    def predict(self, X: Any) -> NDArray[np.int64]:
        """1 normal, -1 alarm (scikit-learn's outlier convention), one row per window."""
        return np.where(self.decision_function(X) >= 0, 1, -1)


class IsolationForestDetector(_AllowNaN, OutlierMixin, BaseEstimator):  # type: ignore[misc]
    """Multivariate IsolationForest on per-robot z-scores, trained on healthy windows.

    A ``validation`` share of the windows is held out: the forest is fitted on the rest
    and ``threshold_`` is the ``quantile`` of the held-out windows' anomaly scores (times
    ``margin``). In-sample scores are lower than a new healthy window's, and an
    IsolationForest's score is bounded, so a threshold from training scores times a margin
    could not be reached with few rows. Fewer than ``min_samples`` windows: refused.
    Missing values (NaN) count as 0, the baseline's centre, as in live scoring.
    """

    def __init__(
        self,
        n_estimators: int = 200,
        quantile: float = 0.995,
        margin: float = 1.0,
        random_state: int | None = 0,
        validation: float = 0.25,
        min_samples: int = 200,
    ) -> None:
        self.n_estimators = n_estimators
        self.quantile = quantile
        self.margin = margin
        self.random_state = random_state
        self.validation = validation
        self.min_samples = min_samples

    def fit(self, X: Any, y: Any = None) -> IsolationForestDetector:
        X = np.nan_to_num(validate_data(self, X, ensure_all_finite="allow-nan", reset=True))
        if len(X) < self.min_samples:
            raise ValueError(
                f"IsolationForestDetector needs at least {self.min_samples} windows,"
                f" got n_samples={len(X)}"
            )
        order = np.random.default_rng(self.random_state).permutation(len(X))
        n_val = max(1, round(len(X) * self.validation))
        held, train = X[order[:n_val]], X[order[n_val:]]
        self.forest_ = IsolationForest(
            n_estimators=self.n_estimators, random_state=self.random_state
        ).fit(train)
        held_scores = -self.forest_.score_samples(held)
        self.threshold_ = float(np.quantile(held_scores, self.quantile) * self.margin)
        self.n_validation_ = n_val
        return self

    def score_samples(self, X: Any) -> Array:
        check_is_fitted(self)
        X = np.nan_to_num(validate_data(self, X, ensure_all_finite="allow-nan", reset=False))
        return np.asarray(self.forest_.score_samples(X), dtype=float)

    def decision_function(self, X: Any) -> Array:
        return self.score_samples(X) + self.threshold_

    def predict(self, X: Any) -> NDArray[np.int64]:
        return np.where(self.decision_function(X) >= 0, 1, -1)
