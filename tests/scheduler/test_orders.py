"""Work orders: generation, dedup under concurrency, merge, lifecycle, SLAs, routing, leader."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg.types.json import Jsonb

from scheduler import sla
from scheduler.leader import LeaderLock
from scheduler.orders import generate_predictive, generate_preventive
from scheduler.planner import Policy
from scheduler.plans import load_plan
from scheduler.repository import field_staff, load_plan_directory, store_plan
from scheduler.routing import route
from service import lifecycle
from service.commissioning import CHECKLIST
from service.errors import InvalidTransitionError
from service.orders import record_callback, transition

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
ROBOT = "aic-bj-00001"


@pytest.fixture
def db(fresh_db: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A fleet database with the example plans loaded; the connection commits explicitly."""
    conn = psycopg.connect(fresh_db)
    # Plans in force for 20 days: the 30-day task falls due within the 14-day horizon.
    load_plan_directory(conn, REPO / "examples" / "plans", now=NOW - timedelta(days=20))
    conn.execute(
        "INSERT INTO robot_state (robot_id, last_seen, cycles_total, run_hours, heater_hours)"
        " SELECT robot_id, %s, 1000, 100, 50 FROM robots",
        (NOW - timedelta(minutes=5),),
    )
    conn.commit()
    yield conn
    conn.close()


def _orders(conn: psycopg.Connection[tuple[object, ...]], where: str = "true") -> list[tuple]:
    return conn.execute(
        f"SELECT id, type, status, robot_id, tasks, dedup_key FROM work_orders"
        f" WHERE {where} ORDER BY id"
    ).fetchall()


@pytest.mark.clock
def test_preventive_generation_is_idempotent(db: psycopg.Connection[tuple[object, ...]]) -> None:
    """Tasks due within the horizon get one order each; a second run adds none."""
    first = generate_preventive(db, now=NOW)
    db.commit()
    assert first.created, "30-day tasks fall due within 14 days"
    again = generate_preventive(db, now=NOW)
    assert again.created == [] and again.existing == len(first.created)
    keys = [r[5] for r in _orders(db)]
    assert len(keys) == len(set(keys))
    tasks = {r[4][0] for r in _orders(db)}
    # the 30-day floating task for every robot; the fixed 180-day calibration only where its
    # grid point (from the install date) falls in the next 14 days
    assert "fume-filter-clean" in tasks and tasks <= {"fume-filter-clean", "wok-sensor-calibrate"}
    fume = _orders(db, "tasks ? 'fume-filter-clean'")
    assert len(fume) == db.execute("SELECT count(*) FROM robots").fetchone()[0]  # type: ignore[index]


def test_two_schedulers_racing_create_each_order_once(
    fresh_db: str, db: psycopg.Connection[tuple[object, ...]]
) -> None:
    """Two processes running the job 50 times each: exactly one order per robot and task."""
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with psycopg.connect(fresh_db) as conn:
                for _ in range(50):
                    generate_preventive(conn, now=NOW, robot_ids=[ROBOT, "aic-bj-00002"])
                    conn.commit()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    rows = _orders(db, "robot_id IN ('aic-bj-00001', 'aic-bj-00002')")
    assert len(rows) == len({r[5] for r in rows}) >= 2  # at least the 30-day task × 2 robots


def _anomaly(
    conn: psycopg.Connection[tuple[object, ...]],
    *,
    severity: str = "high",
    predicted: datetime | None = None,
    low: datetime | None = None,
) -> int:
    row = conn.execute(
        """INSERT INTO anomalies (robot_id, detector, model_version, component, kind, window_start,
               window_end, score, severity, predicted_failure, failure_low, evidence)
           VALUES (%s, 'baseline-cusum', 'baseline-cusum/1', 'igbt_cooling', 'cooling_degradation',
                   %s, %s, 9.5, %s, %s, %s, %s) RETURNING id""",
        (
            ROBOT,
            NOW - timedelta(days=1),
            NOW,
            severity,
            predicted,
            low,
            Jsonb({"feature": "igbt_rise_per_kw"}),
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.clock
def test_predictive_due_date_from_the_early_end_of_the_estimate(
    db: psycopg.Connection[tuple[object, ...]],
) -> None:
    """Issue 21: a due date set from the median estimate fell 8 days after the real
    failure. The due date comes from the early end of the estimate's interval."""
    predicted = NOW + timedelta(days=12)
    _anomaly(db, predicted=predicted, low=NOW + timedelta(days=7))
    generate_predictive(db, now=NOW)
    ((oid, *_),) = _orders(db, "type = 'predictive'")
    row = db.execute("SELECT due_at FROM work_orders WHERE id = %s", (oid,)).fetchone()
    assert row is not None and row[0] == NOW + timedelta(days=7) - Policy().failure_margin


@pytest.mark.clock
def test_predictive_order_before_failure_and_merges_preventive(
    db: psycopg.Connection[tuple[object, ...]],
) -> None:
    """An anomaly becomes one predictive order due before the predicted failure; nearby
    preventive work on the robot is merged into it."""
    generate_preventive(db, now=NOW, robot_ids=[ROBOT])
    predicted = NOW + timedelta(days=6)
    anomaly = _anomaly(db, predicted=predicted)
    res = generate_predictive(db, now=NOW)
    assert len(res.created) == 1 and res.merged >= 1
    again = generate_predictive(db, now=NOW)
    assert again.created == []
    ((oid, _kind, _status, _robot, tasks, key),) = _orders(db, "type = 'predictive'")
    assert key == f"pd:{ROBOT}:igbt_cooling" and "coil-cooling-inspect" in tasks
    row = db.execute(
        "SELECT due_at, anomaly_id, priority, lead_id, evidence->>'model_version'"
        " FROM work_orders WHERE id = %s",
        (oid,),
    ).fetchone()
    assert row is not None
    assert row[0] == predicted - Policy().failure_margin and row[1] == anomaly
    assert row[2] == 2 and row[3] == "deng-keming" and row[4] == "baseline-cusum/1"
    cancelled = _orders(db, "type = 'preventive' AND status = 'cancelled'")
    assert cancelled
    note = db.execute(
        "SELECT note FROM work_order_events WHERE work_order_id = %s AND to_status = 'cancelled'",
        (cancelled[0][0],),
    ).fetchone()
    assert note is not None and "merged into" in str(note[0])


@pytest.mark.clock
def test_every_lifecycle_transition(db: psycopg.Connection[tuple[object, ...]]) -> None:
    """Allowed transitions move and are audited; others are refused with the reason."""
    _anomaly(db, severity="critical")
    oid = generate_predictive(db, now=NOW).created[0]
    order = db.execute("SELECT status FROM work_orders WHERE id = %s", (oid,)).fetchone()
    assert order == ("scheduled",)
    with pytest.raises(InvalidTransitionError, match="allowed from scheduled"):
        transition(db, order_id=oid, to="completed", actor="deng-keming", now=NOW)
    transition(
        db, order_id=oid, to="confirmed", actor="deng-keming", note="客户确认 08:00", now=NOW
    )
    transition(db, order_id=oid, to="on_hold", actor="deng-keming", note="parts", now=NOW)
    with pytest.raises(InvalidTransitionError, match="resume to 'confirmed'"):
        transition(db, order_id=oid, to="dispatched", actor="deng-keming", now=NOW)
    transition(db, order_id=oid, to="confirmed", actor="deng-keming", now=NOW)
    _agree(db, oid)
    transition(
        db,
        order_id=oid,
        to="dispatched",
        actor="deng-keming",
        technician_id="zeng-guangkuo",
        now=NOW,
    )
    transition(db, order_id=oid, to="in_progress", actor="zeng-guangkuo", now=NOW)
    with pytest.raises(InvalidTransitionError, match="completion needs"):
        transition(
            db,
            order_id=oid,
            to="completed",
            actor="zeng-guangkuo",
            completion={"cause": "filter clogged"},
            now=NOW,
        )
    done = transition(
        db,
        order_id=oid,
        to="completed",
        actor="zeng-guangkuo",
        now=NOW,
        completion={
            "cause": "风扇滤网堵塞",
            "resolution": "更换滤网",
            "parts_used": [{"code": "FAN-FILTER-120", "qty": 1}],
            "time_spent_min": 40,
            "rating": 5,
            "signer": "王店长",
            "uncertain": True,
        },
    )
    assert done["status"] == "completed"
    cb = db.execute(
        "SELECT kind, due_at FROM callbacks WHERE work_order_id = %s", (oid,)
    ).fetchone()
    assert cb == ("uncertain_fix", NOW + timedelta(hours=3))
    completion = db.execute(
        "SELECT count(*) FROM task_completions WHERE work_order_id = %s", (oid,)
    ).fetchone()
    assert completion == (1,)
    # Issue 16: verified needs the callback done (客户回访).
    with pytest.raises(InvalidTransitionError, match="callback uncertain_fix is not done"):
        transition(db, order_id=oid, to="verified", actor="deng-keming", now=NOW)
    record_callback(
        db,
        order_id=oid,
        kind="uncertain_fix",
        actor="deng-keming",
        satisfied=True,
        notes=None,
        now=NOW,
    )
    transition(db, order_id=oid, to="verified", actor="deng-keming", now=NOW)
    with pytest.raises(InvalidTransitionError, match="final"):
        transition(db, order_id=oid, to="cancelled", actor="deng-keming", now=NOW)
    trail = db.execute(
        "SELECT from_status, to_status, actor FROM work_order_events"
        " WHERE work_order_id = %s ORDER BY id",
        (oid,),
    ).fetchall()
    assert [t[1] for t in trail] == [
        "scheduled",
        "confirmed",
        "on_hold",
        "confirmed",
        "dispatched",
        "in_progress",
        "completed",
        "verified",
    ]


def test_commissioning_and_software_completions_need_their_fields() -> None:
    full = {
        "cause": "c",
        "resolution": "r",
        "parts_used": [],
        "time_spent_min": 10,
        "rating": 4,
        "signer": "s",
    }
    order = {"number": "WO-1", "status": "in_progress", "type": "commissioning"}
    with pytest.raises(InvalidTransitionError, match="checklist"):
        lifecycle.check(order, "completed", completion=full)
    with pytest.raises(InvalidTransitionError, match="without a result: power_supply"):
        lifecycle.check(order, "completed", completion={**full, "checklist": {"site_survey": True}})
    lifecycle.check(
        order, "completed", completion={**full, "checklist": dict.fromkeys(CHECKLIST, True)}
    )
    update = {"number": "WO-2", "status": "in_progress", "type": "software_update"}
    with pytest.raises(InvalidTransitionError, match="firmware_version"):
        lifecycle.check(update, "completed", completion=full)
    lifecycle.check(update, "completed", completion={**full, "firmware_version": "2.5.0"})


@pytest.mark.clock
def test_same_day_rule_overdue_and_offline(db: psycopg.Connection[tuple[object, ...]]) -> None:
    """An unfinished repair escalates after its day; overdue work alerts once; silence during
    service hours raises an offline alert, silence while closed does not."""
    _anomaly(db, severity="critical")
    db.execute("UPDATE anomalies SET kind = 'exhaust_fan_failure', component = 'exhaust_fan'")
    oid = generate_predictive(db, now=NOW).created[0]
    assert db.execute("SELECT type FROM work_orders WHERE id = %s", (oid,)).fetchone() == (
        "repair",
    )
    db.execute("UPDATE work_orders SET created_at = %s", (NOW - timedelta(days=1),))
    rep = sla.check(db, now=NOW)
    assert rep.escalated == [oid]
    assert db.execute("SELECT escalated_to FROM work_orders WHERE id = %s", (oid,)).fetchone() == (
        "hq-manager",
    )
    later = NOW + timedelta(days=2)
    assert oid in sla.check(db, now=later).overdue
    assert sla.check(db, now=later).overdue == []  # alerted once
    # aic-bj-00001's site: silent for 3 h at 12:00 Shanghai on a Tuesday.
    db.execute(
        "UPDATE robot_state SET last_seen = %s", (NOW + timedelta(hours=2) - timedelta(hours=3),)
    )
    rep = sla.check(db, now=NOW + timedelta(hours=2))
    hours = db.execute(
        "SELECT count(*) FROM site_service_hours h JOIN robots r ON r.site_id = h.site_id"
        " WHERE r.robot_id = %s AND h.weekday = 2 AND h.opens <= '11:30' AND "
        " (h.closes > '12:00' OR h.closes <= h.opens)",
        (ROBOT,),
    ).fetchone()
    assert (ROBOT in rep.offline) == bool(hours and hours[0])
    night = NOW + timedelta(hours=18)  # 04:00 local: every kitchen but late-night ones closed
    closed = [r for r in sla.check(db, now=night).offline]
    assert ROBOT not in closed


def test_routing_by_region_and_workload(db: psycopg.Connection[tuple[object, ...]]) -> None:
    """North goes to its lead with its technician; East (no technician yet) to its lead."""
    staff = field_staff(db)
    north = route(staff, region="north")
    assert north.lead is not None and north.lead.name == "邓克明"
    assert north.technician is not None and north.technician.name == "曾广阔"
    east = route(staff, region="east")
    assert east.lead is not None and east.technician == east.lead


def test_leader_failover(fresh_db: str) -> None:
    """One leader at a time; when its session dies the standby takes over."""
    a, b = LeaderLock(fresh_db), LeaderLock(fresh_db)
    assert a.try_acquire() and a.still_held()
    assert not b.try_acquire()
    with psycopg.connect(fresh_db, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name LIKE 'aic-scheduler-leader-%' AND pid IN"
            " (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)"
        )
    assert not a.still_held()
    assert b.try_acquire() and b.still_held()
    b.release()
    a.release()


def test_plan_versions(db: psycopg.Connection[tuple[object, ...]], tmp_path: Path) -> None:
    """Loading the same version twice is refused; a bad plan names the field."""
    plan = load_plan(REPO / "examples" / "plans" / "aic-w1.yaml")
    with pytest.raises(ValueError, match="already loaded"):
        store_plan(db, plan=plan, source="again", now=NOW)
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "robot_model: AIC-W1\nversion: 2\ntasks:\n  - {code: x1, title_zh: a, "
        "title_en: a, duration_min: 10}\n"
    )
    with pytest.raises(ValueError, match="no interval"):
        load_plan(bad)


@pytest.mark.clock
def test_due_reminder_once(db: psycopg.Connection[tuple[object, ...]]) -> None:
    """An order whose visit is within 24 h raises one due reminder, which is notified."""
    from scheduler.notify import Channel, NotifyConfig

    config = NotifyConfig(
        channels=[Channel(name="ops", kind="webhook", url="http://127.0.0.1:9/x")]
    )
    generate_preventive(db, now=NOW, robot_ids=[ROBOT])
    first = sla.check(db, now=NOW, notify=config)
    assert first.due_soon
    assert sla.check(db, now=NOW, notify=config).due_soon == []
    queued = db.execute(
        "SELECT count(*) FROM notifications WHERE event = 'work_order_due'"
    ).fetchone()
    assert queued == (len(first.due_soon),)


def test_scheduler_process_failover(fresh_db: str) -> None:
    """Two scheduler loops: one leads and runs the jobs; when it stops the standby takes over."""
    import time

    from psycopg_pool import ConnectionPool

    from scheduler.jobs import JobContext, run

    def holder() -> str | None:
        with psycopg.connect(fresh_db) as c:
            row = c.execute(
                "SELECT a.application_name || ':' || a.pid FROM pg_locks l"
                " JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE l.locktype = 'advisory' AND l.granted AND l.objid = %s",
                (0x41494353,),
            ).fetchone()
        return None if row is None else str(row[0])

    with ConnectionPool(fresh_db, min_size=1, max_size=4) as pool:
        ctx = JobContext(pool)
        stops = [threading.Event(), threading.Event()]
        threads = [
            threading.Thread(target=run, args=(ctx, fresh_db, s), kwargs={"heartbeat_s": 0.2})
            for s in stops
        ]
        threads[0].start()
        deadline = time.monotonic() + 10
        while holder() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        first = holder()
        assert first is not None
        threads[1].start()
        time.sleep(1.0)
        assert holder() == first  # the standby waits
        stops[0].set()
        threads[0].join(timeout=30)
        deadline = time.monotonic() + 10
        while holder() in (None, first) and time.monotonic() < deadline:
            time.sleep(0.05)
        second = holder()
        assert second is not None and second != first
        stops[1].set()
        threads[1].join(timeout=30)
    assert holder() is None


@pytest.mark.clock
def test_order_number_and_warranty_are_the_sites_day(
    db: psycopg.Connection[tuple[object, ...]], session_now: datetime
) -> None:
    """An order created at 07:30 China time, when UTC (and this UTC database session) is still
    on the day before, is numbered with the China date, stamped with the caller's ``now``, and
    judged out of warranty if the warranty ended on that UTC day."""
    from core.clock import local_date, local_midnight

    db.execute("SET TIME ZONE 'UTC'")
    day = local_date(session_now)
    at = local_midnight(day) + timedelta(hours=7, minutes=30)
    assert at.astimezone(UTC).date() == day - timedelta(days=1)
    db.execute(
        "UPDATE robots SET warranty_end = %s WHERE robot_id = %s", (day - timedelta(days=1), ROBOT)
    )
    _anomaly(db, severity="critical")
    (oid,) = generate_predictive(db, now=at).created
    number, created, warranty = db.execute(  # type: ignore[misc]
        "SELECT number, created_at, warranty FROM work_orders WHERE id = %s", (oid,)
    ).fetchone()
    assert number.startswith(f"WO-{day:%Y%m%d}-")
    assert created == at
    assert warranty == "out_of_warranty"


@pytest.mark.chaos
def test_leader_process_killed_with_sigkill_hands_over(fresh_db: str, tmp_path: Path) -> None:
    """Two `aic scheduler run` processes: one leads (its lock's application name carries its
    pid). SIGKILL it: the server releases the lock and the standby leads within seconds;
    SIGTERM then stops the new leader cleanly (exit 0)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    def leader_pid() -> int | None:
        with psycopg.connect(fresh_db) as c:
            row = c.execute(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE l.locktype = 'advisory' AND l.granted AND l.objid = %s",
                (0x41494353,),
            ).fetchone()
        return None if row is None else int(str(row[0]).rsplit("-", 1)[1])

    env = dict(
        os.environ, AIC_DATABASE_URL=fresh_db, AIC_STATE_DIR=str(tmp_path), AIC_LOG_LEVEL="WARNING"
    )
    logs = [(tmp_path / f"scheduler-{i}.log").open("wb") for i in range(2)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "cli.main", "scheduler", "run"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        for log in logs
    ]
    try:
        deadline = time.monotonic() + 30
        while leader_pid() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        first = leader_pid()
        assert first in {p.pid for p in procs}
        killed = next(p for p in procs if p.pid == first)
        other = next(p for p in procs if p.pid != first)
        killed.send_signal(signal.SIGKILL)
        killed.wait(10)
        deadline = time.monotonic() + 30
        while leader_pid() != other.pid and time.monotonic() < deadline:
            time.sleep(0.1)
        assert leader_pid() == other.pid
        other.send_signal(signal.SIGTERM)
        assert other.wait(30) == 0
        assert leader_pid() is None
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)
        for log in logs:
            log.close()


@pytest.mark.chaos
def test_scheduler_catches_up_once_after_downtime(
    fresh_db: str, db: psycopg.Connection[tuple[object, ...]]
) -> None:
    """A scheduler that was down while its 02:00 preventive run passed runs every job once as
    it becomes leader (catch-up, on its clock), creating the due orders exactly once; its
    jobs coalesce (a run of missed times is one run) and run again at their regular time."""
    import time

    from psycopg_pool import ConnectionPool

    from core.clock import FixedClock
    from scheduler.jobs import JobContext, build, run

    expected = generate_preventive(db, now=NOW)
    db.rollback()  # what the catch-up should create, measured then undone
    assert expected.created
    with ConnectionPool(fresh_db, min_size=1, max_size=4) as pool:
        ctx = JobContext(pool, clock=FixedClock(NOW))
        for job in build(ctx).get_jobs():
            assert job.coalesce and job.max_instances == 1 and job.misfire_grace_time == 3600
        stop = threading.Event()
        thread = threading.Thread(
            target=run, args=(ctx, fresh_db, stop), kwargs={"heartbeat_s": 0.2}
        )
        thread.start()
        try:
            deadline = time.monotonic() + 30
            while (
                len(_orders(db, "type = 'preventive'")) < len(expected.created)
                and time.monotonic() < deadline
            ):
                time.sleep(0.2)
                db.rollback()
        finally:
            stop.set()
            thread.join(timeout=30)
    db.rollback()
    orders = _orders(db, "type = 'preventive'")
    assert len(orders) == len(expected.created) == len({o[5] for o in orders})


def _window_anomaly(
    conn: psycopg.Connection[tuple[object, ...]], start: datetime, *, score: float = 9.5
) -> int:
    row = conn.execute(
        """INSERT INTO anomalies (robot_id, detector, model_version, component, kind, window_start,
               window_end, score, severity, evidence)
           VALUES (%s, 'baseline-cusum', 'baseline-cusum/1', 'igbt_cooling', 'cooling_degradation',
                   %s, %s, %s, 'critical', %s) RETURNING id""",
        (ROBOT, start, start + timedelta(days=1), score, Jsonb({"feature": "igbt_rise_per_kw"})),
    ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.clock
def test_a_repair_closes_its_evidence_and_only_newer_evidence_reopens(
    db: psycopg.Connection[tuple[object, ...]],
) -> None:
    """Issue 16: after WO-1 was completed, the next predictive run opened WO-18 from the same
    anomaly. Now: detection → order → repair clears the evidence → no new order, also when
    a rescoring stores another window begun before the repair → a fault found in a window
    after the repair opens a new order."""
    first = _window_anomaly(db, NOW - timedelta(days=1))
    (oid,) = generate_predictive(db, now=NOW).created
    done_at = NOW + timedelta(hours=3)
    transition(db, order_id=oid, to="confirmed", actor="deng-keming", now=NOW)
    _agree(db, oid)
    transition(
        db, order_id=oid, to="dispatched", actor="deng-keming", technician_id="zeng-guangkuo",
        now=NOW,
    )  # fmt: skip
    transition(db, order_id=oid, to="in_progress", actor="zeng-guangkuo", now=done_at)
    transition(
        db,
        order_id=oid,
        to="completed",
        actor="zeng-guangkuo",
        now=done_at,
        completion={
            "cause": "风扇滤网堵塞",
            "resolution": "清洁滤网",
            "parts_used": [],
            "time_spent_min": 30,
            "rating": 5,
            "signer": "王店长",
        },
    )
    state = db.execute(
        "SELECT status, cleared_by FROM anomalies WHERE id = %s", (first,)
    ).fetchone()
    assert state == ("cleared", "zeng-guangkuo")
    late = _window_anomaly(db, NOW - timedelta(hours=12), score=11.0)  # late data, old window
    assert generate_predictive(db, now=done_at + timedelta(hours=1)).created == []
    assert db.execute("SELECT status FROM anomalies WHERE id = %s", (late,)).fetchone() == ("open",)
    _window_anomaly(db, done_at + timedelta(days=2))  # the fault again, after the repair
    (again,) = generate_predictive(db, now=done_at + timedelta(days=3, hours=1)).created
    assert again != oid


def _agree(db: psycopg.Connection[tuple[object, ...]], oid: int) -> None:
    """Out of warranty, a quote the customer accepted comes before the dispatch (4.2.2A)."""
    from service import quotes

    row = db.execute("SELECT warranty FROM work_orders WHERE id = %s", (oid,)).fetchone()
    if row == ("out_of_warranty",):
        quotes.propose(db, order_id=oid, minutes=60, parts=[], actor="deng-keming", now=NOW)
        quotes.accept(db, order_id=oid, accepted_by="王店长", actor="deng-keming", now=NOW)


@pytest.mark.clock
def test_urgent_work_is_spread_over_the_regions_technicians(
    db: psycopg.Connection[tuple[object, ...]],
) -> None:
    """Issue 16: seven priority-1 orders went to one technician and six became late. With a
    second technician in the region, urgent orders go to whoever can visit before the due
    date: both get work, and no order is late while the other technician had time."""
    db.execute(
        "INSERT INTO staff (id, name, role, region) VALUES ('tech-b', '技工乙', 'technician', 'north')"
    )
    robots = [
        r[0]
        for r in db.execute(
            "SELECT r.robot_id FROM robots r JOIN sites s ON s.id = r.site_id"
            " WHERE s.region = 'north' ORDER BY r.robot_id LIMIT 7"
        )
    ]
    for robot in robots:
        db.execute(
            """INSERT INTO anomalies (robot_id, detector, model_version, component, kind,
                   window_start, window_end, score, severity, predicted_failure, evidence)
               VALUES (%s, 'rules', 'rules/1', 'exhaust_fan', 'exhaust_fan_failure', %s, %s, 1,
                       'critical', %s, '{}')""",
            (robot, NOW - timedelta(days=1), NOW, NOW + timedelta(days=4)),
        )
    created = generate_predictive(db, now=NOW).created
    assert len(created) == len(robots)
    rows = db.execute(
        "SELECT technician_id, window_late FROM work_orders WHERE id = ANY(%s)", (created,)
    ).fetchall()
    techs = {t for t, _ in rows}
    assert techs == {"zeng-guangkuo", "tech-b"}, rows
    late = [t for t, was_late in rows if was_late]
    assert late == [], f"late orders while a colleague was free: {rows}"


def test_a_job_that_fits_no_window_says_why(db: psycopg.Connection[tuple[object, ...]]) -> None:
    """A 3-hour commissioning at a kitchen open around the clock stayed `new` with no reason."""
    from scheduler import commissioning

    site = db.execute("SELECT site_id FROM robots WHERE robot_id = %s", (ROBOT,)).fetchone()
    assert site is not None
    db.execute("DELETE FROM site_service_hours WHERE site_id = %s", site)
    for weekday in range(1, 8):
        db.execute(
            "INSERT INTO site_service_hours (site_id, weekday, opens, closes)"
            " VALUES (%s, %s, '06:00', '05:30')",
            (site[0], weekday),
        )
    db.execute("UPDATE robots SET commissioning = 'pending' WHERE robot_id = %s", (ROBOT,))
    (oid,) = commissioning.generate(db, now=NOW, robot_ids=[ROBOT])
    status, evidence = db.execute(
        "SELECT status, evidence FROM work_orders WHERE id = %s", (oid,)
    ).fetchone()  # type: ignore[misc]
    assert status == "new"
    assert "no 180-minute window outside the kitchen's service hours" in evidence["no_window"]
    assert "quietest slot 建议时段" in evidence["no_window"]  # for the lead to offer


@pytest.mark.clock
def test_when_the_technician_cannot_make_it_the_lead_covers(
    db: psycopg.Connection[tuple[object, ...]],
) -> None:
    """One technician, seven urgent orders due within the day: the technician took them all
    and four were late. The lead (组长) covers what the technician cannot do in time."""
    robots = [
        r[0]
        for r in db.execute(
            "SELECT r.robot_id FROM robots r JOIN sites s ON s.id = r.site_id"
            " WHERE s.region = 'north' ORDER BY r.robot_id LIMIT 7"
        )
    ]
    for robot in robots:
        db.execute(
            """INSERT INTO anomalies (robot_id, detector, model_version, component, kind,
                   window_start, window_end, score, severity, predicted_failure, evidence)
               VALUES (%s, 'rules', 'rules/1', 'exhaust_fan', 'exhaust_fan_failure', %s, %s, 1,
                       'critical', %s, '{}')""",
            (robot, NOW - timedelta(days=1), NOW, NOW + timedelta(days=2, hours=12)),
        )

    def plan() -> list[tuple[str, bool]]:
        created = generate_predictive(db, now=NOW).created
        return db.execute(
            "SELECT technician_id, window_late FROM work_orders WHERE id = ANY(%s)", (created,)
        ).fetchall()

    with db.transaction(force_rollback=True):  # the technician alone, as before
        db.execute("UPDATE staff SET active = false WHERE id = 'deng-keming'")
        alone = plan()
    rows = plan()
    assert {t for t, _ in alone} == {"zeng-guangkuo"}
    assert {t for t, _ in rows} == {"zeng-guangkuo", "deng-keming"}, rows
    late, late_alone = (sum(1 for _, x in r if x) for r in (rows, alone))
    assert late < late_alone, (rows, alone)
