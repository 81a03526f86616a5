"""The one place where detector scores get the domain's polarity: higher = more anomalous.

scikit-learn's convention (``score_samples``, ``decision_function``) is
"higher = more normal"; every caller that needs an anomaly score goes through
``anomaly_score``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray


def anomaly_score(estimator: Any, X: Any) -> NDArray[np.float64]:
    """Return ``-estimator.score_samples(X)``: higher means more anomalous.

    >>> class Const:
    ...     def score_samples(self, X):
    ...         return np.array([0.5, -2.0])
    >>> anomaly_score(Const(), None).tolist()
    [-0.5, 2.0]
    """
    return -np.asarray(estimator.score_samples(X), dtype=float)
