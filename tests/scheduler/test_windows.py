"""Visit windows never overlap service hours, whatever the time zone or overnight hours."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from core.fleet import Interval
from scheduler.windows import SERVICE_BUFFER, busy_intervals, propose

times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
intervals = st.builds(Interval, opens=times, closes=times).filter(lambda i: i.opens != i.closes)
weekly = st.dictionaries(st.integers(0, 6), st.lists(intervals, max_size=3), max_size=7)
zones = st.sampled_from(["Asia/Shanghai", "Asia/Hong_Kong", "Asia/Urumqi", "Europe/Berlin", "UTC"])


@settings(max_examples=200, deadline=None)
@given(
    hours=weekly,
    tz=zones,
    ws=times,
    we=times,
    minutes=st.integers(15, 240),
    offset_h=st.integers(0, 24 * 14),
)
def test_window_never_overlaps_service(
    hours: dict[int, list[Interval]], tz: str, ws: time, we: time, minutes: int, offset_h: int
) -> None:
    """Any proposed window is clear of every service interval (plus its buffer)."""
    earliest = datetime(2026, 12, 1, tzinfo=UTC) + timedelta(hours=offset_h)
    duration = timedelta(minutes=minutes)
    if ws == we:
        return
    visit = propose(
        hours=hours,
        timezone=tz,
        work_start=ws,
        work_end=we,
        duration=duration,
        earliest=earliest,
        due=earliest + timedelta(days=7),
    )
    if visit is None:
        return
    assert visit.end - visit.start == duration and visit.start >= earliest
    for a, b in busy_intervals(
        hours, tz, visit.start - timedelta(days=2), visit.end + timedelta(days=2)
    ):
        assert visit.end <= a or visit.start >= b, (visit, a, b)


def test_typical_restaurant_gets_the_afternoon_gap() -> None:
    """Open 10:30-14:00 and 16:30-21:30: a 60-minute visit goes to 08:00 or the 14:30 gap."""
    lunch_dinner = [
        Interval(opens=time(10, 30), closes=time(14)),
        Interval(opens=time(16, 30), closes=time(21, 30)),
    ]
    hours = dict.fromkeys(range(7), lunch_dinner)
    earliest = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # 17:00 in Shanghai
    visit = propose(
        hours=hours,
        timezone="Asia/Shanghai",
        work_start=time(8),
        work_end=time(20),
        duration=timedelta(minutes=60),
        earliest=earliest,
        due=earliest + timedelta(days=3),
    )
    assert visit is not None and not visit.late
    local = visit.start.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    assert (local.day, local.hour, local.minute) == (2, 8, 0)  # next morning, before 10:00


def test_late_night_kitchen_and_night_shift() -> None:
    """Open 17:00-02:00 every day; a night-shift technician (22:00-10:00) visits after 02:30."""
    hours = {key: [Interval(opens=time(17), closes=time(2))] for key in range(7)}
    earliest = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # 20:00 local
    visit = propose(
        hours=hours,
        timezone="Asia/Shanghai",
        work_start=time(22),
        work_end=time(10),
        duration=timedelta(minutes=90),
        earliest=earliest,
        due=earliest + timedelta(days=2),
    )
    assert visit is not None
    local = visit.start.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    assert (local.hour, local.minute) == (2, 30)
    assert timedelta(minutes=30) == SERVICE_BUFFER


def test_no_window_before_due_is_marked_late() -> None:
    """A kitchen open all the technician's hours until after the due date: the window is late."""
    hours = {key: [Interval(opens=time(7), closes=time(21))] for key in range(7)}
    earliest = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    visit = propose(
        hours=hours,
        timezone="UTC",
        work_start=time(8),
        work_end=time(20),
        duration=timedelta(minutes=60),
        earliest=earliest,
        due=earliest + timedelta(days=1),
    )
    assert visit is None  # never outside service hours within working hours
    hours[6] = []  # closed on Sundays
    visit = propose(
        hours=hours,
        timezone="UTC",
        work_start=time(8),
        work_end=time(20),
        duration=timedelta(minutes=60),
        earliest=earliest,
        due=earliest + timedelta(days=1),
    )
    assert visit is not None and visit.late and visit.start.weekday() == 6


def test_least_bad_slot_is_the_quietest_one() -> None:
    """No window avoids service: the slot overlapping service least is offered."""
    from datetime import UTC, datetime, time, timedelta

    from core.fleet import Interval
    from scheduler.windows import least_bad

    # Open 10:00–22:00 every day except a quieter Tuesday closing at 15:00 (Shanghai).
    hours = {d: [Interval(opens=time(10), closes=time(22))] for d in range(7)}
    hours[1] = [Interval(opens=time(10), closes=time(15))]
    got = least_bad(
        hours=hours,
        timezone="Asia/Shanghai",
        work_start=time(9),
        work_end=time(18),
        duration=timedelta(hours=3),
        earliest=datetime(2026, 11, 30, 1, tzinfo=UTC),  # Monday 09:00 China time
    )
    assert got is not None
    start, end, overlap = got
    assert start.isoformat() == "2026-12-01T15:00:00+08:00"  # Tuesday after closing
    assert overlap == timedelta(0) and end - start == timedelta(hours=3)


T0 = datetime(2026, 12, 1, tzinfo=UTC)
slots = st.tuples(st.integers(0, 200), st.integers(1, 40)).map(
    lambda p: (T0 + timedelta(minutes=15 * p[0]), T0 + timedelta(minutes=15 * (p[0] + p[1])))
)


@settings(max_examples=300, deadline=None)
@given(at_start=st.lists(slots, max_size=30), added=st.lists(slots, max_size=30), query=slots)
def test_booked_blocks_answer_like_the_visits_they_merge(
    at_start: list[tuple[datetime, datetime]],
    added: list[tuple[datetime, datetime]],
    query: tuple[datetime, datetime],
) -> None:
    """Issue 19: visits are kept merged into busy blocks so a search hops over a booked
    day at once. Free means free of every visit; a hit is the end of busy time that starts
    at or before the query, with no free quarter-hour before it."""
    from scheduler.windows import Booked

    booked = Booked(at_start)
    for a, b in added:
        booked.add(a, b)
    visits = at_start + added
    assert sorted(booked) == sorted(visits)
    a, b = query
    hit = booked.first_overlap(a, b)
    overlapping = [v for v in visits if v[0] < b and v[1] > a]
    assert (hit is None) == (not overlapping)
    if hit is not None:
        assert hit > a and any(v[1] == hit for v in visits)
        t = max(a, min(v[0] for v in overlapping))
        while t < hit:  # busy all the way from the first overlap to the hit
            assert any(v[0] <= t < v[1] for v in visits), t
            t += timedelta(minutes=15)
