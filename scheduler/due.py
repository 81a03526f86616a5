"""When a preventive task is due: calendar and usage intervals, whichever comes first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from scheduler.plans import Task


@dataclass(frozen=True)
class Usage:
    """Counters now, and how fast they grow (per day, from recent telemetry)."""

    cycles_total: float | None
    run_hours: float | None
    heater_hours: float | None
    cycles_per_day: float = 0.0
    run_hours_per_day: float = 0.0
    heater_hours_per_day: float = 0.0


@dataclass(frozen=True)
class LastDone:
    at: datetime
    cycles_total: float | None = None
    run_hours: float | None = None
    heater_hours: float | None = None


@dataclass(frozen=True)
class Due:
    at: datetime
    reason: str  # which interval decided: days | cycles | run_hours | heater_hours


def due(
    task: Task, *, now: datetime, installed: datetime, last: LastDone | None, usage: Usage
) -> Due:
    """Return when ``task`` is due for a robot (may be in the past: overdue).

    Floating tasks count from the last completion (or install); fixed tasks sit on
    a grid of ``interval_days`` from the install date, the next point after the
    last completion. Usage intervals project the counters' recent growth rate.

    >>> from scheduler.plans import Task
    >>> t = Task(code="fume-filter-clean", title_zh="x", title_en="x", interval_days=30,
    ...          interval_cycles=1500, duration_min=30)
    >>> d0 = datetime(2026, 1, 1)
    >>> u = Usage(cycles_total=1300, run_hours=None, heater_hours=None, cycles_per_day=100)
    >>> due(t, now=d0 + timedelta(days=10), installed=d0, last=LastDone(d0, 0), usage=u)
    Due(at=datetime.datetime(2026, 1, 13, 0, 0), reason='cycles')
    """
    base = last.at if last else installed
    candidates: list[Due] = []
    if task.interval_days:
        if task.anchor == "fixed":
            step = timedelta(days=task.interval_days)
            k = int((base - installed) / step) + 1
            candidates.append(Due(installed + k * step, "days"))
        else:
            candidates.append(Due(base + timedelta(days=task.interval_days), "days"))
    for interval, current, since, rate, name in (
        (
            task.interval_cycles,
            usage.cycles_total,
            last.cycles_total if last else None,
            usage.cycles_per_day,
            "cycles",
        ),
        (
            task.interval_run_hours,
            usage.run_hours,
            last.run_hours if last else None,
            usage.run_hours_per_day,
            "run_hours",
        ),
        (
            task.interval_heater_hours,
            usage.heater_hours,
            last.heater_hours if last else None,
            usage.heater_hours_per_day,
            "heater_hours",
        ),
    ):
        if not interval or current is None:
            continue
        used = current - (since if since is not None else 0.0)
        left = interval - used
        if left <= 0:
            candidates.append(Due(now, name))
        elif rate > 0:
            candidates.append(Due(now + timedelta(days=left / rate), name))
    if not candidates:
        # usage-only task without telemetry: nothing can be said (reported upstream)
        return Due(datetime.max.replace(tzinfo=now.tzinfo), "no_data")
    return min(candidates, key=lambda d: d.at)
