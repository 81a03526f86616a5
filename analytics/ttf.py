"""Time to failure: the trend of a health indicator towards its failure level.

The health indicator ``h`` is the relative deviation from the robot's baseline
in the bad direction (0 = as new, ``failure_level`` = functional failure).
Degradation accelerates (wear grows roughly with the square of time), so the
trend is fitted to ``sqrt(h)``, which is close to linear, with the Theil–Sen
estimator (robust to outlier days). The interval comes from the spread of the
pairwise slopes (10th-90th percentile): ``low`` is the early end, from which the
scheduler sets due dates (a due date is never after the predicted failure).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np


@dataclass(frozen=True)
class TimeToFailure:
    predicted: datetime | None  # None: not degrading
    low: datetime | None
    high: datetime | None
    slope_per_day: float


def estimate(
    times: list[datetime],
    health: list[float],
    *,
    failure_level: float,
    min_points: int = 4,
    min_slope_per_day: float = 0.005,
    horizon_days: float = 120.0,
    power: float = 0.5,
) -> TimeToFailure:
    """Predict when ``health`` reaches ``failure_level`` (or "not degrading").

    Examples
    --------
    >>> from datetime import datetime, timedelta
    >>> t0 = datetime(2026, 1, 1)
    >>> days = [t0 + timedelta(days=d) for d in range(10)]
    >>> h = [(d / 20) ** 2 for d in range(10)]         # reaches 1.0 on day 20
    >>> r = estimate(days, h, failure_level=1.0)
    >>> (r.predicted - t0).days
    20
    >>> estimate(days, [0.01] * 10, failure_level=1.0).predicted is None
    True
    """
    pts = [(t, h) for t, h in zip(times, health, strict=True) if h is not None and np.isfinite(h)]
    if len(pts) < min_points:
        return TimeToFailure(None, None, None, 0.0)
    t0 = pts[0][0]
    x = np.array([(t - t0).total_seconds() / 86400 for t, _ in pts])
    y = np.power(np.clip([h for _, h in pts], 0.0, None), power)
    i, j = np.triu_indices(len(x), k=1)
    dx = x[j] - x[i]
    ok = dx > 0
    slopes = (y[j] - y[i])[ok] / dx[ok]
    if slopes.size == 0:
        return TimeToFailure(None, None, None, 0.0)
    slope = float(np.median(slopes))
    intercept = float(np.median(y - slope * x))
    if slope < min_slope_per_day:
        return TimeToFailure(None, None, None, slope)
    target = float(failure_level**power)

    def crossing(s: float) -> datetime | None:
        if s <= 0:
            return None
        days = (target - intercept) / s
        if days > x[-1] + horizon_days:
            return None
        return t0 + timedelta(days=max(days, x[-1]))

    lo_s, hi_s = np.percentile(slopes, [10, 90])
    predicted = crossing(slope)
    if predicted is None:
        return TimeToFailure(None, None, None, slope)
    return TimeToFailure(predicted, crossing(float(hi_s)), crossing(float(lo_s)), slope)
