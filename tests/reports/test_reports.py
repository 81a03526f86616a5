"""The monthly fault statistics report on a seeded dataset with hand-computed figures."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg.types.json import Jsonb

from reports.catalog import REPORTS, run
from reports.export import to_csv, to_xlsx
from reports.periods import month_bounds, week_bounds

FAULTS = REPORTS["monthly-faults"].columns

A, B, EAST = "aic-bj-00001", "aic-bj-00002", "aic-sh-00019"


pytestmark = pytest.mark.clock
NOW = datetime(2026, 12, 1, 2, tzinfo=UTC)  # the reports are read on 1 December, 10:00 China time


def ts(day: int, hour: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


@pytest.fixture
def seeded(fresh_db: str) -> str:
    with psycopg.connect(fresh_db) as c:
        c.execute("UPDATE robots SET model = 'AIC-W1' WHERE robot_id IN (%s, %s, %s)", (A, B, EAST))
        events = [
            (A, ts(10), 1, "E203"),
            (A, ts(20, 3), 2, "E401"),
            (B, ts(12), 1, "E203"),
            (A, ts(25, month=10), 3, "E203"),  # October: not in the report
            (EAST, ts(5), 1, "E310"),
        ]
        c.cursor().executemany(
            "INSERT INTO robot_events (robot_id, ts, seq, type, code) VALUES (%s, %s, %s,"
            " 'fault', %s)",
            [(r, t, s, code) for r, t, s, code in events],
        )
        hours = [
            (A, ts(1), 100.0),
            (A, ts(30, 15), 300.0),
            (B, ts(1), 50.0),
            (B, ts(30, 15), 150.0),
            (EAST, ts(1), 10.0),
            (EAST, ts(30, 15), 90.0),
        ]
        c.cursor().executemany(
            "INSERT INTO telemetry_1h (robot_id, bucket, n, run_hours, err_count)"
            " VALUES (%s, %s, 60, %s, 0)",
            hours,
        )
        anomaly = c.execute(
            """INSERT INTO anomalies (robot_id, detector, model_version, component, kind,
                   window_start, window_end, score, severity, evidence)
               VALUES (%s, 'rules', 'rules/1', 'exhaust_fan', 'exhaust_fan_failure', %s, %s, 1,
                       'critical', %s) RETURNING id""",
            (A, ts(20), ts(21), Jsonb({"error_code": "E401"})),
        ).fetchone()
        assert anomaly is not None
        order = c.execute(
            """INSERT INTO work_orders (number, type, status, dedup_key, robot_id, site_id, region,
                   customer_id, title, due_at, warranty, anomaly_id, created_at)
               SELECT 'WO-T-1', 'repair', 'completed', 'x', r.robot_id, r.site_id, s.region,
                      s.customer_id, 'fan', %s, 'in_warranty', %s, %s
               FROM robots r JOIN sites s ON s.id = r.site_id WHERE r.robot_id = %s
               RETURNING id""",
            (ts(21), anomaly[0], ts(20, 8), A),
        ).fetchone()
        assert order is not None
        c.execute(
            "INSERT INTO work_order_events (work_order_id, at, actor, from_status, to_status)"
            " VALUES (%s, %s, 'tech', 'in_progress', 'completed')",
            (order[0], ts(20, 14)),
        )
    return fresh_db


def test_hand_computed_figures(seeded: str) -> None:
    """North AIC-W1: 300 operating hours; 2 cooling failures → MTBF 150 h; 1 fan failure →
    MTBF 300 h, repaired once in 6 h. East: 1 dosing failure over 80 h."""
    with psycopg.connect(seeded) as conn:
        rows = {
            (r["region"], r["model"], r["component"]): r
            for r in run(conn, "monthly-faults", period="2026-11", now=NOW)
        }
        north = run(conn, "monthly-faults", period="2026-11", region="north", now=NOW)
    cooling = rows[("north", "AIC-W1", "igbt_cooling")]
    assert (cooling["failures"], cooling["operating_hours"], cooling["mtbf_h"]) == (2, 300.0, 150.0)
    assert (cooling["repairs"], cooling["mttr_h"]) == (0, None)
    fan = rows[("north", "AIC-W1", "exhaust_fan")]
    assert (fan["failures"], fan["mtbf_h"], fan["repairs"], fan["mttr_h"]) == (1, 300.0, 1, 6.0)
    dosing = rows[("east", "AIC-W1", "dosing_pump")]
    assert (dosing["failures"], dosing["operating_hours"], dosing["mtbf_h"]) == (1, 80.0, 80.0)
    assert {r["region"] for r in north} == {"north"} and len(north) == 2


def test_exports_carry_headers_and_totals(seeded: str, tmp_path: Path) -> None:
    """CSV and XLSX open with the bilingual headers and the expected totals."""
    from openpyxl import load_workbook

    with psycopg.connect(seeded) as conn:
        rows = run(conn, "monthly-faults", period="2026-11", now=NOW)
    csv_text = to_csv(rows, FAULTS)
    assert csv_text.splitlines()[0].startswith(
        "区域 Region,机型 Model,部件 Component,故障次数 Failures"
    )
    path = tmp_path / "faults.xlsx"
    to_xlsx(rows, path, title="月度故障统计分析报告 2026-11", columns=FAULTS)
    ws = load_workbook(path).active
    assert ws is not None
    values = list(ws.iter_rows(values_only=True))
    assert values[1][0] == "区域 Region" and values[1][5] == "平均故障间隔(小时) MTBF (h)"
    total = values[-1]
    assert total[0] == "合计 Total" and total[3] == 4 and total[6] == 1


def test_bad_month_is_a_clear_error() -> None:
    """Periods are China time: December 2026 ends at 2026-12-31 16:00 UTC."""
    assert month_bounds("2026-12")[1] == datetime(2026, 12, 31, 16, tzinfo=UTC)
    assert week_bounds("2026-W49") == (
        datetime(2026, 11, 29, 16, tzinfo=UTC),
        datetime(2026, 12, 6, 16, tzinfo=UTC),
    )
    with pytest.raises(ValueError, match="2026-11"):
        month_bounds("November")
    with pytest.raises(ValueError, match="2026-W48"):
        week_bounds("2026-48")
    with pytest.raises(ValueError, match="needs month"):
        run(None, "monthly-faults", now=NOW)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown report"):
        run(None, "nope", now=NOW)  # type: ignore[arg-type]


def test_equipment_distribution_matches_the_fleet_file(fresh_db: str, fleet_file: Path) -> None:
    """区域设备分布统计表 per region and model equals a count made from examples/fleet.yaml."""
    from collections import Counter

    from core.fleet import load_fleet_file

    fleet = load_fleet_file(fleet_file)
    expected = Counter((site.region, r.model) for site, r in fleet.robots())
    with psycopg.connect(fresh_db) as conn:
        rows = run(conn, "distribution", now=NOW)
        north = run(conn, "distribution", region="north", now=NOW)
    assert {(r["region"], r["model"]): r["robots"] for r in rows} == dict(expected)
    assert sum(r["robots"] for r in north) == sum(
        v for (g, _), v in expected.items() if g == "north"
    )
    # Robots add up across models; distinct sites and customers do not: left blank.
    from reports.export import totals

    spec = REPORTS["distribution"]
    line = dict(
        zip([k for k, _ in spec.columns], totals(north, spec.columns, spec.no_total), strict=True)
    )
    assert line["robots"] == sum(r["robots"] for r in north)
    assert line["sites"] == "" and line["customers"] == ""


def test_out_of_box_pass_rate(fresh_db: str, tmp_path: Path) -> None:
    """Four robots installed in 2026-03 in the north: 2 pass, 1 fail, 1 pending → 2/3."""
    from openpyxl import load_workbook

    robots = ["aic-bj-00001", "aic-bj-00002", "aic-bj-00003", "aic-tj-00004"]
    results = ["pass", "pass", "fail", "pending"]
    with psycopg.connect(fresh_db) as conn:
        conn.execute(
            "UPDATE robots SET install_date = '2025-01-15', purchase_date = '2025-01-01'"
            " WHERE robot_id NOT IN (SELECT unnest(%s::text[]))",
            (robots,),
        )
        for robot, result in zip(robots, results, strict=True):
            conn.execute(
                "UPDATE robots SET purchase_date = '2026-03-01', install_date = '2026-03-10',"
                " warranty_end = '2027-03-01', commissioning = %s WHERE robot_id = %s",
                (result, robot),
            )
        rows = run(conn, "out-of-box", region="north", now=NOW)
    march = next(r for r in rows if r["month"] == "2026-03")
    assert (march["installed"], march["passed"], march["failed"], march["pending"]) == (4, 2, 1, 1)
    assert march["pass_rate"] == round(2 / 3, 3)
    path = tmp_path / "oob.xlsx"
    to_xlsx(rows, path, title="开箱合格率", columns=REPORTS["out-of-box"].columns)
    values = list(load_workbook(path).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert values[1][6] == "开箱合格率 Out-of-box pass rate"
    assert values[-1][0] == "合计 Total" and values[-1][2] == sum(r["installed"] for r in rows)


def test_distribution_splits_warranty_on_the_sites_day(
    fresh_db: str, session_now: datetime
) -> None:
    """A warranty that ended yesterday (China time) is over at 07:30 China time, although the
    UTC date is still the last day of the warranty; at 23:30 China time on that last day it
    is still in force."""
    from datetime import timedelta

    from core.clock import local_date, local_midnight

    last_day = local_date(session_now)
    with psycopg.connect(fresh_db) as conn:
        conn.execute(
            "UPDATE robots SET warranty_end = %s WHERE robot_id = 'aic-bj-00001'", (last_day,)
        )
        conn.execute("UPDATE robots SET active = false WHERE robot_id <> 'aic-bj-00001'")
        morning_after = local_midnight(last_day + timedelta(days=1)) + timedelta(
            hours=7, minutes=30
        )
        assert morning_after.astimezone(UTC).date() == last_day  # UTC still says the last day
        late_evening = local_midnight(last_day) + timedelta(hours=23, minutes=30)
        after = run(conn, "distribution", now=morning_after, region="north")
        before = run(conn, "distribution", now=late_evening, region="north")
    assert sum(r["in_warranty"] for r in after) == 0
    assert sum(r["in_warranty"] for r in before) == 1
