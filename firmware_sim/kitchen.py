"""A restaurant kitchen: service hours in the site's time zone and when orders arrive."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.fleet import WEEKDAYS, Fleet, Interval
from core.hours import expand


@dataclass(frozen=True)
class Window:
    """One service interval as absolute UTC-aware datetimes."""

    opens: datetime
    closes: datetime


@dataclass(frozen=True)
class Kitchen:
    site_id: str
    timezone: str
    # weekday 0 = Monday -> intervals (closes <= opens runs past midnight)
    hours: dict[int, tuple[Interval, ...]]
    busy: float = 1.0  # orders scale

    @classmethod
    def from_site_hours(
        cls, site_id: str, timezone: str, hours: dict[str, list[Interval]], busy: float = 1.0
    ) -> Kitchen:
        return cls(site_id, timezone, {WEEKDAYS.index(d): tuple(v) for d, v in hours.items()}, busy)

    def windows(self, start: datetime, end: datetime) -> list[Window]:
        """Service windows overlapping [start, end), in time order."""
        return [Window(a, b) for a, b in expand(self.hours, self.timezone, start, end)]

    def is_open(self, t: datetime) -> bool:
        return any(
            w.opens <= t < w.closes
            for w in self.windows(t - timedelta(days=1), t + timedelta(seconds=1))
        )

    def order_rate_per_hour(self, window: Window, t: datetime) -> float:
        """Orders per hour for one robot: a peak about 40 % into the interval."""
        span = (window.closes - window.opens).total_seconds()
        x = (t - window.opens).total_seconds() / span
        peak = math.exp(-((x - 0.4) ** 2) / 0.04)
        return self.busy * (1.5 + 8.5 * peak)

    def next_order(self, window: Window, t: datetime, rng: random.Random) -> datetime | None:
        """Next order arrival after t inside the window (thinning of a Poisson process)."""
        max_rate = self.busy * 10.0 / 3600.0
        while True:
            t = t + timedelta(seconds=rng.expovariate(max_rate))
            if t >= window.closes:
                return None
            if rng.random() < self.order_rate_per_hour(window, t) / 3600.0 / max_rate:
                return t


def kitchens_from_fleet(fleet: Fleet, seed: int) -> dict[str, Kitchen]:
    """One kitchen per site, with a seeded busy factor."""
    out: dict[str, Kitchen] = {}
    for site in fleet.sites:
        rng = random.Random(f"busy:{seed}:{site.id}")
        out[site.id] = Kitchen.from_site_hours(
            site.id, site.timezone, site.hours, busy=rng.uniform(0.6, 1.3)
        )
    return out


@dataclass
class Session:
    on: datetime
    off: datetime
    windows: list[Window] = field(default_factory=list)


def power_sessions(kitchen: Kitchen, start: datetime, end: datetime) -> list[Session]:
    """Powered-on periods: 30 min before opening to 15 min after closing; gaps > 90 min power off."""
    sessions: list[Session] = []
    for w in kitchen.windows(start - timedelta(hours=1), end):
        on, off = w.opens - timedelta(minutes=30), w.closes + timedelta(minutes=15)
        if sessions and on - sessions[-1].off <= timedelta(minutes=90):
            sessions[-1].off = max(sessions[-1].off, off)
            sessions[-1].windows.append(w)
        else:
            sessions.append(Session(on, off, [w]))
    return [s for s in sessions if s.off > start and s.on < end]
