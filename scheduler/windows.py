"""Visit windows: outside the kitchen's service hours, inside the technician's working hours.

The manual: 维保时间需同客户电话确定，以不影响客户机器正常工作为原则 — maintenance is
agreed with the customer so it does not disturb the kitchen's normal work.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.hours import HasOpenClose, expand

# The robot powers up and preheats before opening and is cleaned after closing.
SERVICE_BUFFER = timedelta(minutes=30)


@dataclass(frozen=True)
class Visit:
    start: datetime
    end: datetime
    late: bool  # no window before the due date: the first one after it


class Booked:
    """One person's booked visits, sorted by start, for fast "is [a, b) free, and if not,
    where does the busy time end" (the planner books thousands of visits in one run).

    Overlapping or back-to-back visits are kept merged into busy blocks as well, so a
    search for a free slot hops over a fully booked day in one step instead of one visit
    at a time (the first preventive run for 10,000 robots made 10.5 million hops).

    >>> from datetime import UTC, datetime as dt
    >>> b = Booked([(dt(2026, 1, 2, 9, tzinfo=UTC), dt(2026, 1, 2, 10, tzinfo=UTC))])
    >>> b.add(dt(2026, 1, 1, 9, tzinfo=UTC), dt(2026, 1, 1, 11, tzinfo=UTC))
    >>> b.add(dt(2026, 1, 1, 11, tzinfo=UTC), dt(2026, 1, 1, 12, tzinfo=UTC))
    >>> b.first_overlap(dt(2026, 1, 1, 10, tzinfo=UTC), dt(2026, 1, 1, 12, tzinfo=UTC)).hour
    12
    >>> b.first_overlap(dt(2026, 1, 1, 12, tzinfo=UTC), dt(2026, 1, 2, 9, tzinfo=UTC)) is None
    True
    >>> len(list(b))
    3
    """

    def __init__(self, intervals: Sequence[tuple[datetime, datetime]] = ()) -> None:
        self._items = sorted(intervals)
        self._blocks: list[tuple[datetime, datetime]] = []
        for a, b in self._items:
            if self._blocks and a <= self._blocks[-1][1]:
                self._blocks[-1] = (self._blocks[-1][0], max(self._blocks[-1][1], b))
            else:
                self._blocks.append((a, b))
        self._starts = [a for a, _ in self._blocks]

    def add(self, start: datetime, end: datetime) -> None:
        bisect.insort(self._items, (start, end))
        # merge into the blocks: every block touching [start, end] becomes one
        lo = bisect.bisect_left(self._starts, start)
        if lo > 0 and self._blocks[lo - 1][1] >= start:
            lo -= 1
        hi = bisect.bisect_right(self._starts, end)
        if lo < hi:
            start = min(start, self._blocks[lo][0])
            end = max(end, self._blocks[hi - 1][1])
        self._blocks[lo:hi] = [(start, end)]
        self._starts[lo:hi] = [start]

    def first_overlap(self, a: datetime, b: datetime) -> datetime | None:
        """The end of the busy block overlapping [a, b), or None if [a, b) is free."""
        i = bisect.bisect_right(self._starts, a) - 1
        blocks = self._blocks
        if i >= 0 and blocks[i][1] > a:
            return blocks[i][1]
        if i + 1 < len(blocks) and blocks[i + 1][0] < b:
            return blocks[i + 1][1]
        return None

    def __iter__(self) -> Iterator[tuple[datetime, datetime]]:
        return iter(self._items)


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
) -> tuple[tuple[datetime, datetime], ...]:
    zone = ZoneInfo(timezone)
    first = start.astimezone(zone).date() - timedelta(days=1)
    return _work_days(work_start, work_end, timezone, first, end.astimezone(zone).date())


@functools.lru_cache(maxsize=4096)
def _work_days(
    work_start: time, work_end: time, timezone: str, first: date, last: date
) -> tuple[tuple[datetime, datetime], ...]:
    """Working intervals of the local days ``first``..``last`` (cached: a generation run asks
    for the same technicians' days thousands of times)."""
    zone = ZoneInfo(timezone)
    out = []
    day = first
    while day <= last:
        a = datetime.combine(day, work_start, zone)
        b_day = day + timedelta(days=1) if work_end <= work_start else day
        out.append((a, datetime.combine(b_day, work_end, zone)))
        day += timedelta(days=1)
    return tuple(out)


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
    taken: Sequence[tuple[datetime, datetime]] | Booked = (),
    site_busy: Booked | None = None,
) -> Visit | None:
    """The first window of ``duration`` from ``earliest`` that avoids service hours and ``taken``.

    Prefers a window ending before ``due``; if there is none, returns the first one
    after it marked ``late``. None if nothing fits within ``horizon``. ``site_busy``: the
    site's service intervals (``busy_intervals``) when the caller already has them for a
    span covering ``earliest`` to ``due + horizon``.
    """
    end = max(due, earliest) + horizon
    mine = taken if isinstance(taken, Booked) else Booked(list(taken))
    site = (
        Booked(busy_intervals(hours, timezone, earliest, end)) if site_busy is None else site_busy
    )
    for ws, we in _work_intervals(work_start, work_end, timezone, earliest, end):
        t = max(ws, earliest)
        while t + duration <= we:
            # Past whatever overlaps [t, t + duration): the earliest free start is found.
            hit = site.first_overlap(t, t + duration) or mine.first_overlap(t, t + duration)
            if hit is None:
                return Visit(t, t + duration, late=t + duration > due)
            t = hit
    return None


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
