"""Weekly opening hours as concrete time intervals, in a site's time zone.

Shared by the simulator (when kitchens cook) and the scheduler (when not to visit).
An interval whose closing time is not after its opening time runs past midnight.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class HasOpenClose(Protocol):
    @property
    def opens(self) -> time: ...

    @property
    def closes(self) -> time: ...


def expand(
    hours: Mapping[int, Sequence[HasOpenClose]],
    timezone: str,
    start: datetime,
    end: datetime,
) -> list[tuple[datetime, datetime]]:
    """Intervals (aware datetimes) of the weekly ``hours`` (weekday 0 = Monday) overlapping [start, end).

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class I:
    ...     opens: time
    ...     closes: time
    >>> from datetime import timezone as tz
    >>> got = expand({0: [I(time(17), time(2))]}, "Asia/Shanghai",
    ...              datetime(2026, 11, 30, tzinfo=tz.utc), datetime(2026, 12, 1, 12, tzinfo=tz.utc))
    >>> [(a.isoformat(), b.isoformat()) for a, b in got]
    [('2026-11-30T17:00:00+08:00', '2026-12-01T02:00:00+08:00')]
    """
    zone = ZoneInfo(timezone)
    day: date = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date()
    out: list[tuple[datetime, datetime]] = []
    while day <= last:
        for iv in hours.get(day.weekday(), ()):
            opens = datetime.combine(day, iv.opens, zone)
            close_day = day + timedelta(days=1) if iv.closes <= iv.opens else day
            closes = datetime.combine(close_day, iv.closes, zone)
            if closes > start and opens < end:
                out.append((opens, closes))
        day += timedelta(days=1)
    out.sort()
    return out


def weekly_pattern(hours: Mapping[int, Sequence[HasOpenClose]]) -> tuple[object, ...]:
    """A hashable key of weekly ``hours``: sites with the same hours (most kitchens keep the
    same lunch and dinner service) share what is computed from them.

    >>> from types import SimpleNamespace as I
    >>> weekly_pattern({1: [I(opens=time(17), closes=time(21))], 0: []})
    ((1, ((datetime.time(17, 0), datetime.time(21, 0)),)),)
    """
    return tuple(
        sorted((wd, tuple((iv.opens, iv.closes) for iv in ivs)) for wd, ivs in hours.items() if ivs)
    )
