"""Report periods: calendar months and ISO weeks in China time (Asia/Shanghai)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Literal

from core.clock import BUSINESS_TZ, zone

REPORT_TZ = zone(BUSINESS_TZ)
Period = Literal["month", "week"] | None


def _start(d: date) -> datetime:
    return datetime.combine(d, datetime.min.time(), REPORT_TZ).astimezone(UTC)


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """'2026-11' → [2026-11-01, 2026-12-01) China time; a bad month is a ValueError naming it."""
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError as exc:
        raise ValueError(f"month must look like 2026-11, got {month!r}") from exc
    nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return _start(first), _start(nxt)


def week_bounds(week: str) -> tuple[datetime, datetime]:
    """'2026-W48' (ISO week, Monday to Sunday) → its bounds in China time."""
    try:
        year, w = week.split("-W")
        monday = date.fromisocalendar(int(year), int(w), 1)
    except ValueError as exc:
        raise ValueError(f"week must look like 2026-W48, got {week!r}") from exc
    return _start(monday), _start(monday + timedelta(days=7))


def bounds(period: Period, value: str | None) -> tuple[datetime, datetime] | None:
    if period is None:
        return None
    if not value:
        raise ValueError(
            f"this report needs {period} (e.g. {'2026-11' if period == 'month' else '2026-W48'})"
        )
    return month_bounds(value) if period == "month" else week_bounds(value)


def current_month(now: datetime) -> str:
    """The report month (China time) that ``now`` falls in, e.g. ``2026-12``."""
    return now.astimezone(REPORT_TZ).strftime("%Y-%m")


def current_week(now: datetime) -> str:
    """The ISO week (China time) that ``now`` falls in, e.g. ``2026-W49``."""
    year, week, _ = now.astimezone(REPORT_TZ).isocalendar()
    return f"{year}-W{week:02d}"


def last_month(now: datetime) -> str:
    """The month before the one ``now`` falls in (China time): what a lead reports at the
    start of a month (e.g. ``2026-11`` on 2 December).

    >>> last_month(datetime(2027, 1, 1, 1, tzinfo=UTC))  # 09:00 on 1 January in China
    '2026-12'
    """
    first = now.astimezone(REPORT_TZ).date().replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def last_week(now: datetime) -> str:
    """The ISO week before the one ``now`` falls in (China time), e.g. ``2026-W48``."""
    year, week, _ = (now.astimezone(REPORT_TZ) - timedelta(days=7)).isocalendar()
    return f"{year}-W{week:02d}"


# What every export says once about its times (Shanghai keeps UTC+08:00 all year).
TIME_NOTE = "时间为北京时间 Times are China time (UTC+08:00)"
