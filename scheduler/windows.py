"""Visit windows: outside the kitchen's service hours, inside the technician's working hours.

The manual: 维保时间需同客户电话确定，以不影响客户机器正常工作为原则 — maintenance is
agreed with the customer so it does not disturb the kitchen's normal work.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.hours import HasOpenClose, expand

# The robot powers up and preheats before opening and is cleaned after closing.
SERVICE_BUFFER = timedelta(minutes=30)


@dataclass(frozen=True)
class Visit:
    start: datetime
    end: datetime
    late: bool  # no window before the due date: the first one after it


def busy_intervals(
    hours: Mapping[int, Sequence[HasOpenClose]], timezone: str, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Service intervals widened by the buffer on both sides, merged."""
    raw = expand(hours, timezone, start - timedelta(days=1), end + timedelta(days=1))
    merged: list[tuple[datetime, datetime]] = []
    for a, b in raw:
        a, b = a - SERVICE_BUFFER, b + SERVICE_BUFFER
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _work_intervals(
    work_start: time, work_end: time, timezone: str, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    zone = ZoneInfo(timezone)
    day = start.astimezone(zone).date() - timedelta(days=1)
    out = []
    while day <= end.astimezone(zone).date():
        a = datetime.combine(day, work_start, zone)
        b_day = day + timedelta(days=1) if work_end <= work_start else day
        out.append((a, datetime.combine(b_day, work_end, zone)))
        day += timedelta(days=1)
    return out


def propose(
    *,
    hours: Mapping[int, Sequence[HasOpenClose]],
    timezone: str,
    work_start: time,
    work_end: time,
    duration: timedelta,
    earliest: datetime,
    due: datetime,
    horizon: timedelta = timedelta(days=30),
    taken: Sequence[tuple[datetime, datetime]] = (),
) -> Visit | None:
    """The first window of ``duration`` from ``earliest`` that avoids service hours and ``taken``.

    Prefers a window ending before ``due``; if there is none, returns the first one
    after it marked ``late``. None if nothing fits within ``horizon``.
    """
    end = max(due, earliest) + horizon
    busy = _merge(
        [
            *busy_intervals(hours, timezone, earliest, end),
            *(w for w in taken if w[1] > earliest and w[0] < end),
        ]
    )
    ends = [b[1] for b in busy]
    for ws, we in _work_intervals(work_start, work_end, timezone, earliest, end):
        t = max(ws, earliest)
        while t + duration <= we:
            i = bisect.bisect_right(ends, t)  # first busy interval ending after t
            if i == len(busy) or busy[i][0] >= t + duration:
                return Visit(t, t + duration, late=t + duration > due)
            t = busy[i][1]
    return None


def _merge(intervals: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Sorted, disjoint union of intervals."""
    out: list[tuple[datetime, datetime]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def least_bad(
    *,
    hours: Mapping[int, Sequence[HasOpenClose]],
    timezone: str,
    work_start: time,
    work_end: time,
    duration: timedelta,
    earliest: datetime,
    days: int = 7,
    step: timedelta = timedelta(minutes=30),
) -> tuple[datetime, datetime, timedelta] | None:
    """When no window avoids the kitchen's service, the slot of ``duration`` in working
    hours that overlaps service the least (then the earliest): (start, end, overlap) for
    the lead to offer the customer and accept explicitly. None if no slot fits at all."""
    end = earliest + timedelta(days=days)
    service = expand(hours, timezone, earliest - timedelta(days=1), end + timedelta(days=1))
    best: tuple[datetime, datetime, timedelta] | None = None
    for ws, we in _work_intervals(work_start, work_end, timezone, earliest, end):
        t = max(ws, earliest)
        while t + duration <= we and t < end:
            overlap = sum(
                (
                    min(b, t + duration) - max(a, t)
                    for a, b in service
                    if a < t + duration and b > t
                ),
                timedelta(0),
            )
            if best is None or overlap < best[2]:
                best = (t, t + duration, overlap)
            t += step
    return best
