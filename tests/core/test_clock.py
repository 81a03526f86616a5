"""The one clock: fixed and system clocks, the site's local date, times shown to people."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.clock import (
    FixedClock,
    SystemClock,
    format_local,
    local_date,
    local_midnight,
)
from core.errors import ConfigError
from core.settings import load_settings

pytestmark = pytest.mark.clock


def test_local_date_is_the_sites_day_not_utcs() -> None:
    """23:59 UTC on 31 December is 07:59 on 1 January in China; 15:59 UTC is still 23:59."""
    assert local_date(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == date(2027, 1, 1)
    assert local_date(datetime(2026, 12, 31, 15, 59, tzinfo=UTC)) == date(2026, 12, 31)
    assert local_date(datetime(2026, 12, 31, 23, 59, tzinfo=UTC), "UTC") == date(2026, 12, 31)
    assert local_midnight(date(2027, 3, 1)) == datetime(2027, 2, 28, 16, tzinfo=UTC)


def test_times_for_people_are_local_24_hour_with_the_zone() -> None:
    """One format for every person-facing time: local, 24-hour, zone stated."""
    at = datetime(2027, 2, 28, 15, 59, tzinfo=UTC)
    assert format_local(at) == "2027-02-28 23:59 (UTC+08:00)"
    assert format_local(at, "Europe/Berlin", zone_suffix=False) == "2027-02-28 16:59"


def test_fixed_clock_stands_still_until_moved() -> None:
    """A fixed clock returns its instant in UTC; advance and set move it; naive is refused."""
    c = FixedClock(datetime(2027, 1, 1, 7, 59, tzinfo=ZoneInfo("Asia/Shanghai")))
    assert c.now() == datetime(2026, 12, 31, 23, 59, tzinfo=UTC) == c.now()
    assert c.advance(timedelta(minutes=1)) == datetime(2027, 1, 1, 0, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="naive"):
        FixedClock(datetime(2027, 1, 1))
    assert SystemClock().now().tzinfo is UTC


def test_settings_build_the_processes_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """AIC_NOW freezes every command's clock; unset is the system clock; no zone is refused."""
    monkeypatch.setenv("AIC_NOW", "2027-02-28T23:59:00+08:00")
    clock = load_settings().clock()
    assert clock.now() == datetime(2027, 2, 28, 15, 59, tzinfo=UTC)
    monkeypatch.setenv("AIC_NOW", "2027-02-28T23:59:00")
    with pytest.raises(ConfigError, match="AIC_NOW"):
        load_settings()
    monkeypatch.delenv("AIC_NOW")
    assert isinstance(load_settings().clock(), SystemClock)
