"""Time to failure: a degradation model per fault kind, extrapolated to its failure level.

The health indicator ``h`` is the relative deviation from the robot's baseline in the
bad direction (0 = as new, ``level`` = functional failure). How it runs to failure
depends on the kind, and each kind has a :class:`Degradation` model:

- a **saturation** ``A``: ``h / (1 + h / A)``. A reading inversely proportional to what
  is left of a component (a tube's hydraulic conductance, a cooling path's thermal
  conductance, a coil's efficiency) explodes near the end — pressure per flow goes as
  ``1 / (1 − clog)``; with ``A = 1`` the transform is ``1 − x₀ / x``, the share of the
  conductance lost, which grows like the damage itself. ``None``: no saturation (a
  vibration that grows with wear);
- a **power**: damage accelerates (wear grows roughly with a power of time), so the
  transformed indicator is raised to a power that makes it close to linear in time;
- the **windows** the trend is fitted over (the last N windows: a short window follows
  an accelerating fault, a long one averages out noise);
- the calibrated **early / late** factors: the 10th and 90th percentile, over labelled
  history, of (actual time left) / (predicted time left). The interval is then
  ``now + left × early`` … ``now + left × late``: due dates come from its early end.
  Without calibration the interval comes from the spread of the pairwise slopes.

The trend is fitted with the Theil–Sen estimator (robust to outlier days). The defaults
(``analytics/components.py``) were fitted from simulated labelled history;
``aic models fit-levels`` fits them from a fleet's own (``analytics/levels.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np


@dataclass(frozen=True)
class Degradation:
    """How one fault kind's health indicator runs to failure (see the module doc)."""

    level: float  # health at functional failure
    power: float = 0.5
    saturation: float | None = None
    windows: int = 10
    early: float | None = None  # 10th percentile of actual / predicted time left
    late: float | None = None  # 90th percentile

    def transform(self, health: np.ndarray) -> np.ndarray:
        h = np.clip(health, 0.0, None)
        if self.saturation:
            h = h / (1.0 + h / self.saturation)
        return np.asarray(np.power(h, self.power))


@dataclass(frozen=True)
class TimeToFailure:
    predicted: datetime | None  # None: not degrading
    low: datetime | None
    high: datetime | None
    slope_per_day: float  # of the transformed indicator


NOT_DEGRADING = TimeToFailure(None, None, None, 0.0)
HORIZON_DAYS = 120.0  # a crossing further ahead than this is "not degrading"
MIN_POINTS = 4


def theil_sen(x: np.ndarray, y: np.ndarray) -> tuple[float, float, np.ndarray] | None:
    """(slope, intercept, pairwise slopes) of the Theil–Sen line through (x, y); None with
    no two distinct x. Shared by ``estimate`` and the fit in ``analytics/levels.py``."""
    i, j = np.triu_indices(len(x), k=1)
    ok = x[j] > x[i]
    slopes = (y[j] - y[i])[ok] / (x[j] - x[i])[ok]
    if slopes.size == 0:
        return None
    slope = float(np.median(slopes))
    return slope, float(np.median(y - slope * x)), slopes


def estimate(
    times: list[datetime],
    health: list[float],
    model: Degradation,
    *,
    now: datetime | None = None,
    min_points: int = MIN_POINTS,
    horizon_days: float = HORIZON_DAYS,
) -> TimeToFailure:
    """Predict when ``health`` reaches the model's failure level (or "not degrading":
    a falling or flat trend, or a crossing more than ``horizon_days`` after ``now``).
    Uses the last ``model.windows`` points; ``now`` (default: the last point's time) is
    when the prediction is made, and no prediction is earlier than it.

    Examples
    --------
    >>> from datetime import datetime, timedelta
    >>> t0 = datetime(2026, 1, 1)
    >>> days = [t0 + timedelta(days=d) for d in range(10)]
    >>> h = [(d / 20) ** 2 for d in range(10)]         # reaches 1.0 on day 20
    >>> r = estimate(days, h, Degradation(1.0))
    >>> (r.predicted - t0).days
    20
    >>> estimate(days, [0.01] * 10, Degradation(1.0)).predicted is None
    True
    """
    pts = [(t, h) for t, h in zip(times, health, strict=True) if h is not None and np.isfinite(h)]
    pts = pts[-model.windows :]
    if len(pts) < min_points:
        return NOT_DEGRADING
    t0 = pts[0][0]
    x = np.array([(t - t0).total_seconds() / 86400 for t, _ in pts])
    y = model.transform(np.array([h for _, h in pts], dtype=float))
    line = theil_sen(x, y)
    if line is None:
        return NOT_DEGRADING
    slope, intercept, slopes = line
    target = float(model.transform(np.array([model.level]))[0])
    at = ((now or pts[-1][0]) - t0).total_seconds() / 86400

    def crossing(s: float) -> float | None:
        """Days after t0 at which the trend of slope ``s`` crosses the level."""
        if s <= 0:
            return None
        days = (target - intercept) / s
        return None if days > at + horizon_days else max(days, at)

    predicted = crossing(slope)
    if predicted is None:
        return TimeToFailure(None, None, None, slope)
    low: float | None
    high: float | None
    if model.early is not None and model.late is not None:
        left = predicted - at
        low, high = at + left * model.early, at + left * model.late
    else:
        lo_s, hi_s = np.percentile(slopes, [10, 90])
        low, high = crossing(float(hi_s)), crossing(float(lo_s))

    def when(days: float | None) -> datetime | None:
        return None if days is None else t0 + timedelta(days=days)

    return TimeToFailure(when(predicted), when(low), when(high), slope)
