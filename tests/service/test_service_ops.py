"""Service operations of issue 8 on the example fleet and parts catalog, with hand-computed
figures: warranty and pricing at completion, stock and faulty returns, replenishment
alerts, the 30-day parts forecast, commissioning, software updates and the reports."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from core.errors import NotFoundError
from reports.catalog import REPORTS, run
from reports.export import to_csv, to_xlsx
from scheduler import commissioning
from scheduler.forecast import forecast
from scheduler.plans import Plan
from scheduler.repository import store_plan
from service import parts, software
from service.commissioning import CHECKLIST
from service.errors import StockError
from service.orders import transition

Db = psycopg.Connection[tuple[Any, ...]]
pytestmark = pytest.mark.clock
NOV10 = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)  # 10:00 China time
W1_NORTH = "aic-bj-00002"  # AIC-W1, site-bj-001, customer cust-001, warranty ended 2026-02
W2_NORTH = "aic-bj-00001"  # AIC-W2: 200,000-cycle cap
S1_NORTH = "aic-bj-00003"  # AIC-S1: warranty from commissioning, 18 months


@pytest.fixture
def db(fresh_db: str) -> Iterator[Db]:
    conn = psycopg.connect(fresh_db)
    yield conn
    conn.close()


def one(db: Db, query: str, params: tuple[Any, ...] = ()) -> dict[str, Any] | None:
    with db.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchone()  # type: ignore[arg-type]


def all_(db: Db, query: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    with db.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()  # type: ignore[arg-type]


def order(
    db: Db,
    robot: str,
    *,
    type_: str = "repair",
    tasks: tuple[str, ...] = ("exhaust-fan-replace",),
    created: datetime = NOV10,
    due: datetime | None = None,
    status: str = "in_progress",
) -> int:
    row = one(
        db,
        """INSERT INTO work_orders (number, type, status, dedup_key, robot_id, site_id, region,
               customer_id, title, tasks, due_at, warranty, technician_id, created_at)
           SELECT 'WO-T-' || nextval('work_order_number_seq'), %s, %s,
                  'test:' || nextval('work_order_number_seq'), r.robot_id, r.site_id, s.region,
                  s.customer_id, 'test order', %s, %s, 'in_warranty', 'zeng-guangkuo', %s
           FROM robots r JOIN sites s ON s.id = r.site_id WHERE r.robot_id = %s RETURNING id""",
        (type_, status, Jsonb(list(tasks)), due or created + timedelta(days=1), created, robot),
    )
    assert row is not None
    db.execute(
        "INSERT INTO work_order_events (work_order_id, at, actor, to_status) VALUES (%s, %s, 's', 'new')",
        (row["id"], created),
    )
    return int(row["id"])


def complete(db: Db, oid: int, at: datetime, **extra: Any) -> dict[str, Any]:
    completion = {
        "cause": "worn",
        "resolution": "replaced",
        "parts_used": [],
        "time_spent_min": 20,
        "rating": 5,
        "signer": "店长",
        **extra,
    }
    return transition(
        db, order_id=oid, to="completed", actor="zeng-guangkuo", completion=completion, now=at
    )


def on_hand(db: Db, region: str, part: str) -> int:
    row = one(
        db, "SELECT on_hand FROM part_stock WHERE region = %s AND part_code = %s", (region, part)
    )
    assert row is not None
    return int(row["on_hand"])


def test_in_warranty_visit_is_free_but_priced_and_issues_parts(db: Db) -> None:
    """70 min → 1.5 h × 150 = 225; IGBT fan 260 + 2 filters × 45 = 350; north travel 100:
    675 recorded as cost, 0 charged; stock down; only the fan is returnable (坏料回仓)."""
    db.execute("UPDATE robots SET warranty_end = '2027-06-01' WHERE robot_id = %s", (W1_NORTH,))
    oid = order(db, W1_NORTH, tasks=("coil-cooling-inspect",))
    done = complete(
        db,
        oid,
        NOV10 + timedelta(hours=3),
        time_spent_min=70,
        parts_used=[{"code": "FAN-IGBT-120", "qty": 1}, {"code": "FAN-FILTER-120", "qty": 2}],
    )
    c = done["completion"]
    assert done["warranty"] == "in_warranty" and c["in_warranty"] is True
    assert c["quote"] == {
        "schedule_version": 1,
        "currency": "CNY",
        "labour_hours": "1.5",
        "labour": "225.00",
        "parts": "350.00",
        "travel": "100.00",
        "total": "675.00",
    }
    assert c["charged"] == "0"
    assert (on_hand(db, "north", "FAN-IGBT-120"), on_hand(db, "north", "FAN-FILTER-120")) == (5, 18)
    returns = parts.faulty_returns(db, region="north", now=NOV10)
    assert [(r["part_code"], r["qty"]) for r in returns] == [("FAN-IGBT-120", 1)]
    card = one(
        db,
        "SELECT in_warranty, charged FROM warranty_card_entries WHERE work_order_id = %s",
        (oid,),
    )
    assert card == {"in_warranty": True, "charged": Decimal("0.00")}
    entry = one(
        db,
        "SELECT customer_id, rating, kind FROM customer_file_entries WHERE work_order_id = %s",
        (oid,),
    )
    assert entry == {"customer_id": "cust-001", "rating": 5, "kind": "repair"}


def test_out_of_warranty_cycle_cap_and_void_are_charged(db: Db) -> None:
    """Warranty ended: 1 h minimum 150 + fan 640 + travel 100 = 890 charged. A W2 within its
    dates but past 200,000 cycles is out of warranty; so is a visit voided for misuse."""
    ended = order(db, W1_NORTH)
    c = complete(db, ended, NOV10, parts_used=[{"code": "FAN-EXH-200", "qty": 1}])["completion"]
    assert (c["in_warranty"], c["charged"]) == (False, "890.00")
    assert "warranty ended 2026-02" in c["warranty_reason"]

    db.execute("UPDATE robots SET warranty_end = '2027-06-01' WHERE robot_id = %s", (W2_NORTH,))
    db.execute("INSERT INTO robot_state (robot_id, cycles_total) VALUES (%s, 250000)", (W2_NORTH,))
    capped = complete(db, order(db, W2_NORTH), NOV10)["completion"]
    assert capped["in_warranty"] is False and "cap 200000" in capped["warranty_reason"]
    assert capped["charged"] == "250.00"  # 150 labour + 100 travel

    db.execute("UPDATE robot_state SET cycles_total = 1000 WHERE robot_id = %s", (W2_NORTH,))
    assert complete(db, order(db, W2_NORTH), NOV10)["completion"]["in_warranty"] is True
    voided = complete(db, order(db, W2_NORTH), NOV10, warranty_void_reason="water damage")
    assert voided["completion"]["warranty_reason"] == "voided: water damage"


def test_missing_stock_refuses_the_whole_completion(db: Db) -> None:
    """North has 2 induction coils: asking for 3 refuses the completion and leaves the
    filter that was listed first in stock (all or nothing)."""
    oid = order(db, W1_NORTH)
    with pytest.raises(StockError, match="2 on hand, 3 needed"):
        complete(
            db,
            oid,
            NOV10,
            parts_used=[{"code": "FAN-FILTER-120", "qty": 1}, {"code": "COIL-IND-5KW", "qty": 3}],
        )
    row = one(db, "SELECT status FROM work_orders WHERE id = %s", (oid,))
    assert row == {"status": "in_progress"}
    assert on_hand(db, "north", "FAN-FILTER-120") == 20
    moved = one(db, "SELECT count(*) AS n FROM part_movements WHERE kind = 'issue'")
    assert moved == {"n": 0}
    with pytest.raises(StockError, match="unknown part"):
        complete(db, oid, NOV10, parts_used=[{"code": "NO-SUCH-PART", "qty": 1}])


def test_replenishment_alert_and_faulty_return(db: Db) -> None:
    """Exhaust fans in the north: 3 on hand, minimum 2. Two used → 1 → a parts_low alert;
    a delivery of 5 → 6 and the alert is resolved. The removed fans come back once."""
    oid = order(db, W1_NORTH)
    complete(db, oid, NOV10, parts_used=[{"code": "FAN-EXH-200", "qty": 2}])
    alerts = all_(db, "SELECT message FROM alerts WHERE kind = 'parts_low' AND resolved_at IS NULL")
    assert len(alerts) == 1 and "FAN-EXH-200" in alerts[0]["message"]
    assert (
        parts.receive(
            db, region="north", part_code="FAN-EXH-200", qty=5, actor="deng-keming", now=NOV10
        )
        == 6
    )
    still = one(
        db, "SELECT count(*) AS n FROM alerts WHERE kind = 'parts_low' AND resolved_at IS NULL"
    )
    assert still == {"n": 0}
    (ret,) = parts.faulty_returns(db, region="north", now=NOV10)
    assert (ret["part_code"], ret["qty"], ret["received_at"]) == ("FAN-EXH-200", 2, None)
    with pytest.raises(NotFoundError):
        parts.receive_faulty_return(
            db, return_id=ret["id"], actor="deng-keming", region="east", now=NOV10
        )
    back = parts.receive_faulty_return(db, return_id=ret["id"], actor="deng-keming", now=NOV10)
    assert back["received_by"] == "deng-keming"
    assert parts.faulty_returns(db, region="north", now=NOV10) == []
    with pytest.raises(NotFoundError):
        parts.receive_faulty_return(db, return_id=ret["id"], actor="deng-keming", now=NOV10)
    with pytest.raises(ValueError, match="reason"):
        parts.adjust(
            db,
            region="north",
            part_code="FAN-EXH-200",
            qty=-1,
            actor="deng-keming",
            note=" ",
            now=NOV10,
        )


def test_forecast_of_parts_for_the_next_30_days(db: Db) -> None:
    """One active robot (north, AIC-W1). Open predictive order for the stir bearing due in
    10 days: 2 bearings + 1 grease. A one-task plan (3 filters every 30 days, in force for
    20 days) comes due in 10 days: 3 filters; a 60-day task (due in 40 days) does not count.
    Bearings: 8 on hand − 5 counted away = 3, minimum 4 → order 2 + 4 − 3 = 3."""
    now = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    db.execute("UPDATE robots SET active = false WHERE robot_id <> %s", (W1_NORTH,))
    db.execute(
        "INSERT INTO robot_state (robot_id, last_seen) VALUES (%s, %s)",
        (W1_NORTH, now - timedelta(minutes=5)),
    )
    task = {"title_zh": "t", "title_en": "t", "duration_min": 30}
    plan = Plan.model_validate(
        {
            "robot_model": "AIC-W1",
            "version": 99,
            "tasks": [
                {
                    **task,
                    "code": "filter-30",
                    "interval_days": 30,
                    "parts": [{"code": "FAN-FILTER-120", "qty": 3}],
                },
                {
                    **task,
                    "code": "grease-60",
                    "interval_days": 60,
                    "parts": [{"code": "GREASE-HT-200", "qty": 5}],
                },
            ],
        }
    )
    store_plan(db, plan=plan, source="test", now=now - timedelta(days=20))
    order(
        db,
        W1_NORTH,
        type_="predictive",
        tasks=("stir-bearing-replace",),
        created=now,
        due=now + timedelta(days=10),
        status="scheduled",
    )
    parts.adjust(
        db,
        region="north",
        part_code="BEARING-6204",
        qty=-5,
        actor="deng-keming",
        note="count",
        now=now,
    )
    rows = {(r["region"], r["part_code"]): r for r in forecast(db, now=now)}
    assert rows[("north", "BEARING-6204")] | {} == rows[("north", "BEARING-6204")]
    bearing = rows[("north", "BEARING-6204")]
    assert (bearing["needed"], bearing["open_orders"], bearing["on_hand"], bearing["to_order"]) == (
        2,
        1,
        3,
        3,
    )
    assert rows[("north", "GREASE-HT-200")]["needed"] == 1
    assert rows[("north", "FAN-FILTER-120")]["needed"] == 3
    assert rows[("north", "FAN-FILTER-120")]["to_order"] == 0  # 20 on hand, minimum 8
    assert {r[0] for r in rows} == {"north"}


def test_commissioning_orders_checklist_and_warranty_restart(db: Db) -> None:
    """A new S1 installed 2026-11-20: one commissioning order (not two); a failed heating
    test fails it and a re-commissioning order follows; passing restarts the S1's
    18-month warranty from that day. The out-of-box rate counts the first result (fail)."""
    db.execute(
        "UPDATE robots SET commissioning = 'pending', install_date = '2026-11-20',"
        " purchase_date = '2026-11-01', warranty_end = '2028-05-01' WHERE robot_id = %s",
        (S1_NORTH,),
    )
    now = datetime(2026, 11, 20, 2, tzinfo=UTC)
    (first,) = commissioning.generate(db, now=now, robot_ids=[S1_NORTH])
    assert commissioning.generate(db, now=now, robot_ids=[S1_NORTH]) == []
    db.execute("UPDATE work_orders SET status = 'in_progress' WHERE id = %s", (first,))
    failed = dict.fromkeys(CHECKLIST, True) | {"heating_test": False}
    done = complete(db, first, now + timedelta(hours=4), checklist=failed)
    assert done["completion"]["commissioning_passed"] is False
    (second,) = commissioning.generate(db, now=now + timedelta(days=1), robot_ids=[S1_NORTH])
    title = one(db, "SELECT title FROM work_orders WHERE id = %s", (second,))
    assert title is not None and title["title"].startswith("重新调试")
    db.execute("UPDATE work_orders SET status = 'in_progress' WHERE id = %s", (second,))
    complete(
        db, second, datetime(2026, 11, 22, 3, tzinfo=UTC), checklist=dict.fromkeys(CHECKLIST, True)
    )
    robot = one(
        db, "SELECT commissioning, warranty_end FROM robots WHERE robot_id = %s", (S1_NORTH,)
    )
    assert robot == {"commissioning": "pass", "warranty_end": date(2028, 5, 22)}
    card = one(
        db, "SELECT start_date, end_date FROM warranty_cards WHERE robot_id = %s", (S1_NORTH,)
    )
    assert card == {"start_date": date(2026, 11, 22), "end_date": date(2028, 5, 22)}
    nov = next(
        r for r in run(db, "out-of-box", region="north", now=NOV10) if r["month"] == "2026-11"
    )
    assert (nov["installed"], nov["passed"], nov["failed"], nov["pass_rate"]) == (1, 0, 1, 0.0)


def test_software_update_records_and_version_rates(db: Db) -> None:
    """Two robots (W1, W2) of site-bj-001 update over the air on 2026-11-12 → one line
    per model (synced once); a manual entry of the one W1 of another site. AIC-W1 3.2.0: 1 failure in 100
    robot-days; 3.3.0: 6 failures in 50 → 1.0 vs 12.0 per 100 robot-days, flagged worse.
    A version whose IGBT rise per kW is 20 % higher than its predecessor's is flagged
    even without more failures."""
    ts = datetime(2026, 11, 12, 3, tzinfo=UTC)
    for i, robot in enumerate((W1_NORTH, W2_NORTH)):
        db.execute(
            "INSERT INTO robot_events (ts, robot_id, seq, type, detail, fw)"
            " VALUES (%s, %s, %s, 'firmware_updated', '3.2.0 -> 3.3.0', '3.3.0')",
            (ts, robot, i),
        )
    assert software.sync_from_events(db, now=NOV10) == 2
    assert software.sync_from_events(db, now=NOV10) == 0
    entry = {"site_id": "site-tj-002", "model": "AIC-W1", "updated_on": date(2026, 11, 13)}
    software.record_manual(
        db, **entry, quantity=1, version="3.3.0", operator="曾广阔", now=NOV10 + timedelta(days=5)
    )
    with pytest.raises(ValueError, match="version"):
        software.record_manual(
            db,
            **entry,
            quantity=1,
            version="3.3.0; drop",
            operator="x",
            now=NOV10 + timedelta(days=5),
        )
    rows = run(db, "software-updates", period="2026-11", region="north", now=NOV10)
    lines = [(r["site_id"], r["model"], r["quantity"], r["operator"]) for r in rows]
    assert lines == [
        ("site-bj-001", "AIC-W1", 1, "ota"),
        ("site-bj-001", "AIC-W2", 1, "ota"),
        ("site-tj-002", "AIC-W1", 1, "曾广阔"),
    ]

    day0 = datetime(2026, 8, 1, tzinfo=UTC)
    robots = [
        r["robot_id"]
        for r in all_(
            db, "SELECT robot_id FROM robots WHERE model = 'AIC-W1' ORDER BY robot_id LIMIT 10"
        )
    ]
    for fw, days, offset in (("3.2.0", 10, 0), ("3.3.0", 5, 20)):
        for robot in robots:
            for d in range(days):
                db.execute(
                    "INSERT INTO robot_features (robot_id, window_start, model, fw, n_readings,"
                    " n_cooking, err_count) VALUES (%s, %s, 'AIC-W1', %s, 100, 10, 0)",
                    (robot, day0 + timedelta(days=offset + d), fw),
                )
    for fw, n, seq in (("3.2.0", 1, 100), ("3.3.0", 6, 200)):
        for k in range(n):
            db.execute(
                "INSERT INTO robot_events (ts, robot_id, seq, type, code, fw)"
                " VALUES (%s, %s, %s, 'fault', 'E401', %s)",
                (day0 + timedelta(days=k), robots[k], seq + k, fw),
            )
    rates = {
        r["version"]: r for r in run(db, "firmware-quality", now=NOV10) if r["model"] == "AIC-W1"
    }
    assert (rates["3.2.0"]["robot_days"], rates["3.2.0"]["failures_per_100d"]) == (100, 1.0)
    assert (rates["3.3.0"]["robot_days"], rates["3.3.0"]["failures_per_100d"]) == (50, 12.0)
    assert rates["3.3.0"]["p_value"] == 0.0069  # 6 of 7 events on a third of the robot-days
    assert rates["3.3.0"]["predecessor"] == "3.2.0" and rates["3.3.0"]["worse"] is True
    assert rates["3.2.0"]["worse"] is False

    # AIC-W2: same (zero) failures, but the IGBT runs 20 % hotter per kW on 3.3.0.
    w2 = [
        r["robot_id"]
        for r in all_(db, "SELECT robot_id FROM robots WHERE model = 'AIC-W2' LIMIT 3")
    ]
    for fw, rise, offset in (("3.2.1", 8.0, 0), ("3.3.0", 9.6, 10)):
        for robot in w2:
            for d in range(5):
                db.execute(
                    "INSERT INTO robot_features (robot_id, window_start, model, fw, n_readings,"
                    " n_cooking, err_count, igbt_rise_per_kw)"
                    " VALUES (%s, %s, 'AIC-W2', %s, 100, 50, 0, %s)",
                    (robot, day0 + timedelta(days=offset + d), fw, rise),
                )
    w2_rates = {
        r["version"]: r for r in run(db, "firmware-quality", now=NOV10) if r["model"] == "AIC-W2"
    }
    assert w2_rates["3.3.0"]["feature_shift"] == "igbt_rise_per_kw +20.0%"
    assert w2_rates["3.3.0"]["worse"] is True and w2_rates["3.3.0"]["p_value"] is None
    # Issue 17: the chart added the models' rates up into one bar per version; now one bar
    # per model and version.
    from reports.catalog import REPORTS

    assert REPORTS["firmware-quality"].chart == ("model_version", "failures_per_100d")
    bars = {r["model_version"] for r in run(db, "firmware-quality", now=NOV10)}
    assert {"AIC-W1 3.3.0", "AIC-W2 3.3.0"} <= bars


def test_service_quality_weekly_parts_and_customer_file(db: Db, tmp_path: Path) -> None:
    """North, week 2026-W46 (9–15 Nov, China time). Repair A created 10:00 on the 10th,
    fixed 17:00 the same day (rating 5, filter ×2, 20 min); repair B fixed 11:00 the next
    day (rating 3, fan ×1, 100 min); a preventive order created the 10th, due the 12th,
    still open. A's verification callback done and satisfied; B's not done."""
    db.execute("UPDATE robots SET warranty_end = '2027-06-01' WHERE robot_id = %s", (W1_NORTH,))
    a = order(db, W1_NORTH)
    b = order(db, W2_NORTH)
    order(
        db,
        W1_NORTH,
        type_="preventive",
        tasks=("fume-filter-clean",),
        due=NOV10 + timedelta(days=2),
        status="new",
    )
    complete(db, a, NOV10 + timedelta(hours=7), parts_used=[{"code": "FAN-FILTER-120", "qty": 2}])
    complete(
        db,
        b,
        NOV10 + timedelta(hours=25),
        rating=3,
        time_spent_min=100,
        parts_used=[{"code": "FAN-EXH-200", "qty": 1}],
    )
    db.execute(
        "UPDATE callbacks SET done_at = due_at, satisfied = true WHERE work_order_id = %s", (a,)
    )
    (q,) = run(db, "service-quality", period="2026-11", region="north", now=NOV10)
    assert (q["repairs"], q["same_day"], q["same_day_rate"]) == (2, 1, 0.5)
    assert (q["callbacks_due"], q["callbacks_done"], q["callback_rate"]) == (2, 1, 0.5)
    assert (q["satisfied"], q["satisfaction"], q["rated"], q["avg_rating"]) == (1, 1.0, 2, 4.0)

    (w,) = run(db, "weekly", period="2026-W46", region="north", now=NOV10)
    assert (w["created"], w["completed"], w["repairs"], w["hours"]) == (3, 2, 2, Decimal("2.0"))
    assert (w["open_items"], w["overdue"]) == (1, 1)
    (before,) = run(db, "weekly", period="2026-W45", region="north", now=NOV10)
    assert (before["created"], before["completed"], before["open_items"]) == (0, 0, 0)

    replaced = {
        r["part_code"]: r
        for r in run(db, "parts-replaced", period="2026-11", region="north", now=NOV10)
    }
    assert (replaced["FAN-FILTER-120"]["qty"], replaced["FAN-FILTER-120"]["qty_in_warranty"]) == (
        2,
        2,
    )
    fan = replaced["FAN-EXH-200"]
    assert (fan["qty"], fan["qty_out_of_warranty"], fan["value"]) == (1, 1, Decimal("640.00"))
    assert run(db, "parts-replaced", period="2026-10", region="north", now=NOV10) == []

    files = {r["customer_id"]: r for r in run(db, "customer-file", region="north", now=NOV10)}
    cust = files["cust-001"]
    # B (W2, warranty ended) charged: 2 h × 150 + 640 + 100 = 1040
    assert (cust["services"], cust["avg_rating"], cust["charged"]) == (
        2,
        Decimal("4.00"),
        Decimal("1040.00"),
    )
    assert (cust["work_orders"], cust["open_orders"]) == (3, 1)

    track = {
        r["robot_id"]: r
        for r in run(db, "equipment-tracking", period="2026-11", region="north", now=NOV10)
    }
    assert (track[W1_NORTH]["orders_completed"], track[W1_NORTH]["open_orders"]) == (1, 1)
    assert track[W1_NORTH]["last_service"] == NOV10 + timedelta(hours=7)

    from openpyxl import load_workbook

    rows = run(db, "parts-replaced", period="2026-11", region="north", now=NOV10)
    path = tmp_path / "parts.xlsx"
    to_xlsx(
        rows,
        path,
        title="月度维修更换零配件统计表 2026-11",
        columns=REPORTS["parts-replaced"].columns,
    )
    values = list(load_workbook(path).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert values[1][:2] == ("区域 Region", "配件编号 Part")
    assert values[-1][0] == "合计 Total" and values[-1][4] == 3 and values[-1][8] == 730  # 90 + 640
    assert (
        to_csv(rows, REPORTS["parts-replaced"].columns).splitlines()[0].startswith("区域 Region,")
    )


def test_every_report_runs_on_an_empty_period(db: Db) -> None:
    """Each report builds (no data is an empty list or zero rows, never an error)."""
    for name, report in REPORTS.items():
        period = {"month": "2026-01", "week": "2026-W02", None: None}[report.period]
        rows = run(db, name, period=period, region="east", now=NOV10)
        assert isinstance(rows, list), name
        assert all(r.get("region", "east") == "east" for r in rows), name


def test_warranty_is_decided_on_the_site_day(db: Db) -> None:
    """Warranty ends 30 Nov; a visit at 17:00 UTC on 30 Nov is 01:00 on 1 Dec in Beijing:
    out of warranty. The same visit at 15:00 UTC (23:00 Beijing) is still in."""
    db.execute("UPDATE robots SET warranty_end = '2026-11-30' WHERE robot_id = %s", (W1_NORTH,))
    late = complete(db, order(db, W1_NORTH), datetime(2026, 11, 30, 17, tzinfo=UTC))
    assert late["completion"]["in_warranty"] is False
    ok = complete(db, order(db, W1_NORTH), datetime(2026, 11, 30, 15, tzinfo=UTC))
    assert ok["completion"]["in_warranty"] is True


@pytest.mark.clock
def test_warranty_restarts_on_the_site_day_of_commissioning(db: Db) -> None:
    """Commissioning passed at 01:30 China time on 2 December (17:30 UTC on the 1st): the
    warranty counted from commissioning starts on the site's day, 2 December — the UTC
    date is a day early (it used ``start.date()`` of a UTC instant)."""
    db.execute(
        "UPDATE robots SET commissioning = 'pending', install_date = '2026-11-20',"
        " purchase_date = '2026-11-01', warranty_end = '2028-05-01' WHERE robot_id = %s",
        (S1_NORTH,),
    )
    now = datetime(2026, 11, 30, 2, tzinfo=UTC)
    (oid,) = commissioning.generate(db, now=now, robot_ids=[S1_NORTH])
    db.execute("UPDATE work_orders SET status = 'in_progress' WHERE id = %s", (oid,))
    complete(
        db, oid, datetime(2026, 12, 1, 17, 30, tzinfo=UTC), checklist=dict.fromkeys(CHECKLIST, True)
    )
    card = one(
        db, "SELECT start_date, end_date FROM warranty_cards WHERE robot_id = %s", (S1_NORTH,)
    )
    assert card == {"start_date": date(2026, 12, 2), "end_date": date(2028, 6, 2)}


def test_stock_movements_name_a_staff_member_who_keeps_that_stock(db: Db) -> None:
    """`--actor x` used to write "x" into part_movements: the actor must be an active staff
    member, and the region's lead (or HQ) — not a technician, not another region's lead."""
    from service.errors import ForbiddenError, UnknownActorError

    def receive(actor: str) -> int:
        return parts.receive(
            db, region="north", part_code="FAN-EXH-200", qty=1, actor=actor, now=NOV10
        )

    with pytest.raises(UnknownActorError, match="no active staff member 'x'"):
        receive("x")
    with pytest.raises(ForbiddenError, match="leads keep the regional stock"):
        receive("zeng-guangkuo")  # a north technician
    with pytest.raises(ForbiddenError, match="another region"):
        receive("zheng-zhuzi")  # the east lead
    before = receive("deng-keming")
    assert receive("hq-manager") == before + 1
    actors = {r["actor"] for r in all_(db, "SELECT DISTINCT actor FROM part_movements")}
    assert actors <= {"deng-keming", "hq-manager", "loader"}


def test_manual_software_records_are_checked(db: Db) -> None:
    """`aic software record` accepted version "banana", 50 units at a site with one robot,
    and a date in 2030."""
    entry = {"site_id": "site-bj-001", "model": "AIC-W1", "operator": "曾广阔", "now": NOV10}
    robots = one(
        db,
        "SELECT count(*) AS n FROM robots WHERE site_id = 'site-bj-001' AND model = 'AIC-W1'",
    )
    assert robots is not None
    with pytest.raises(ValueError, match="release number"):
        software.record_manual(db, **entry, updated_on=None, quantity=1, version="banana")
    with pytest.raises(ValueError, match=f"the site has {robots['n']} AIC-W1"):
        software.record_manual(db, **entry, updated_on=None, quantity=50, version="3.3.0")
    with pytest.raises(ValueError, match="after today"):
        software.record_manual(
            db, **entry, updated_on=date(2030, 1, 1), quantity=1, version="3.3.0"
        )
    assert software.record_manual(db, **entry, updated_on=None, quantity=1, version="3.3.1-rc1")
