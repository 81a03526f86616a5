"""The scheduler's triggers are declared in China time and say so."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.jobs import JOBS, JobContext, build, describe_next_runs, next_runs

pytestmark = pytest.mark.clock
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_preventive_job_runs_at_two_in_the_morning_china_time(session_now: datetime) -> None:
    """The preventive run's next time is 02:00 China time, within the next day, and the line
    `aic scheduler run` prints for it ends with that time and its zone."""
    at = dict(next_runs(session_now))["preventive-orders"]
    local = at.astimezone(SHANGHAI)
    assert (local.hour, local.minute) == (2, 0)
    assert session_now < at <= session_now + timedelta(days=1)
    line = next(x for x in describe_next_runs(session_now) if x.startswith("preventive-orders"))
    assert line == f"preventive-orders: daily 02:00, next {local:%Y-%m-%d} 02:00 (UTC+08:00)"


def test_every_job_has_a_next_run_and_the_scheduler_keeps_china_time(
    session_now: datetime,
) -> None:
    """Interval jobs come back after their interval; APScheduler itself runs in Asia/Shanghai,
    so the cron trigger means the leads' 02:00 whatever the server's zone."""
    runs = dict(next_runs(session_now))
    assert set(runs) == {j.id for j in JOBS}
    assert runs["notifications"] - session_now == timedelta(minutes=1)
    sched = build(JobContext(pool=None))  # type: ignore[arg-type]  # build never connects
    trigger = sched.get_job("preventive-orders").trigger
    assert str(trigger.timezone) == "Asia/Shanghai"
