"""One clock: where every decision and every stored time takes ``now`` from.

The entry point (a CLI command, the API app, the scheduler process, ingest)
builds one :class:`Clock` and hands it down; everything below takes ``now`` as a
parameter. The database's ``now()`` is never the source of a stored time or of a
decision. Business dates (work-order numbers, warranty days, report periods,
same-day deadlines) are the site's local date, computed by :func:`local_date`.

>>> from datetime import datetime, UTC
>>> at = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
>>> local_date(at, "Asia/Shanghai").isoformat()   # 07:30 the next morning in China
'2026-12-02'
>>> format_local(at, "Asia/Shanghai")
'2026-12-02 07:30 (UTC+08:00)'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

BUSINESS_TZ = "Asia/Shanghai"
"""The zone of the after-sales department's working day (HQ and every site today)."""


class Clock(Protocol):
    """Something that tells the time: an aware UTC ``datetime``."""

    def now(self) -> datetime: ...


@dataclass(frozen=True)
class SystemClock:
    """The machine's clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until moved (tests, reproducible demos, back-fills).

    >>> c = FixedClock(datetime(2026, 12, 31, 15, 59, tzinfo=UTC))
    >>> c.advance(timedelta(minutes=2)).isoformat()
    '2026-12-31T16:01:00+00:00'
    """

    def __init__(self, at: datetime) -> None:
        self._at = _aware_utc(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> datetime:
        self._at = _aware_utc(at)
        return self._at

    def advance(self, delta: timedelta) -> datetime:
        self._at += delta
        return self._at

    def __repr__(self) -> str:
        return f"FixedClock({self._at.isoformat()})"


def _aware_utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"a clock needs an aware datetime, got naive {at.isoformat()}")
    return at.astimezone(UTC)


@lru_cache(maxsize=64)
def zone(name: str | None = None) -> ZoneInfo:
    """The ZoneInfo for a site's zone name (the business zone when none is given)."""
    return ZoneInfo(name or BUSINESS_TZ)


def local_date(at: datetime, tz: str | None = None) -> date:
    """The calendar date at ``at`` in zone ``tz`` (the site's day)."""
    return at.astimezone(zone(tz)).date()


def local_midnight(day: date, tz: str | None = None) -> datetime:
    """The instant a local day starts in zone ``tz``."""
    return datetime.combine(day, datetime.min.time(), zone(tz))


def zone_label(at: datetime, tz: str | None = None) -> str:
    """``UTC+08:00`` for Shanghai: the offset, which every reader understands."""
    off = at.astimezone(zone(tz)).utcoffset() or timedelta(0)
    minutes = int(off.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def format_local(at: datetime, tz: str | None = None, *, zone_suffix: bool = True) -> str:
    """``2026-12-02 07:30 (UTC+08:00)``: local time for a person, 24-hour, zone stated."""
    text = at.astimezone(zone(tz)).strftime("%Y-%m-%d %H:%M")
    return f"{text} ({zone_label(at, tz)})" if zone_suffix else text


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant with a zone (``Z`` allowed) as aware UTC; ValueError otherwise.

    >>> parse_instant("2027-02-28T23:59:00+08:00").isoformat()
    '2027-02-28T15:59:00+00:00'
    """
    at = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return _aware_utc(at)
