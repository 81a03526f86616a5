"""Whichever-first intervals, fixed and floating anchors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scheduler.due import LastDone, Usage, due
from scheduler.plans import Task

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def task(**kw: object) -> Task:
    return Task.model_validate(
        {"code": "t1", "title_zh": "t", "title_en": "t", "duration_min": 30, **kw}
    )


def test_calendar_first_when_usage_is_slow() -> None:
    """30 days or 1,500 cycles: at 10 cycles/day the calendar decides."""
    d = due(
        task(interval_days=30, interval_cycles=1500),
        now=T0 + timedelta(days=5),
        installed=T0,
        last=LastDone(T0, 0),
        usage=Usage(50, None, None, cycles_per_day=10),
    )
    assert (d.at, d.reason) == (T0 + timedelta(days=30), "days")


def test_usage_first_when_busy() -> None:
    """At 150 cycles/day, 1,500 cycles come on day 10."""
    d = due(
        task(interval_days=30, interval_cycles=1500),
        now=T0 + timedelta(days=5),
        installed=T0,
        last=LastDone(T0, 0),
        usage=Usage(750, None, None, cycles_per_day=150),
    )
    assert d.reason == "cycles" and d.at == T0 + timedelta(days=10)


def test_usage_already_exceeded_is_due_now() -> None:
    now = T0 + timedelta(days=3)
    d = due(
        task(interval_days=90, interval_run_hours=500),
        now=now,
        installed=T0,
        last=LastDone(T0, run_hours=100),
        usage=Usage(None, 650, None, run_hours_per_day=10),
    )
    assert (d.at, d.reason) == (now, "run_hours")


def test_floating_counts_from_last_completion() -> None:
    """Floating: done late on day 40 → next due day 70."""
    d = due(
        task(interval_days=30),
        now=T0 + timedelta(days=41),
        installed=T0,
        last=LastDone(T0 + timedelta(days=40)),
        usage=Usage(None, None, None),
    )
    assert d.at == T0 + timedelta(days=70)


def test_fixed_stays_on_the_grid() -> None:
    """Fixed every 180 days from install: done late on day 200 → next due day 360, not 380."""
    d = due(
        task(interval_days=180, anchor="fixed"),
        now=T0 + timedelta(days=201),
        installed=T0,
        last=LastDone(T0 + timedelta(days=200)),
        usage=Usage(None, None, None),
    )
    assert d.at == T0 + timedelta(days=360)


def test_usage_only_task_without_data_is_not_guessed() -> None:
    d = due(
        task(interval_cycles=5000), now=T0, installed=T0, last=None, usage=Usage(None, None, None)
    )
    assert d.reason == "no_data" and d.at.year == 9999
