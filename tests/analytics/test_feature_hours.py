"""Feature windows from per-hour parts (issue 19): the same figures as the raw day, and a
live refresh that re-reads only the hours that received readings."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
from psycopg.rows import dict_row

from analytics.features_repository import compute_features, refresh_features
from analytics.repository import FEATURES
from core.fleet import Fleet
from firmware_sim.engine import build_simulation
from firmware_sim.scenario import Scenario
from tests.conftest import clone_database, drop_database

END = datetime(2026, 10, 4, tzinfo=UTC)
DAYS = 3
START = END - timedelta(days=DAYS)
ROBOTS = ["aic-bj-00001", "aic-bj-00002", "aic-tj-00004", "aic-sjz-00006"]
D = timedelta(days=1)


@pytest.fixture(scope="module")
def raw_db(pg_admin_url: str, fleet_template_url: str, fleet: Fleet) -> Iterator[str]:
    """Three simulated days of four robots: a firmware update mid-day, a sudden fan failure
    (error codes), a dosing clog under way; every reading received 5 s after it was taken."""
    from cli.sim import run_to_db

    url = clone_database(pg_admin_url, fleet_template_url, "aic_feature_hours")
    scenario = Scenario(
        end=END,
        days=DAYS,
        seed=7,
        sample_s=120,
        batch=10,
        robots=ROBOTS,
        faults=[
            {"robot": "aic-sjz-00006", "kind": "exhaust_fan_failure", "onset_day": 1.6},
            {"robot": "aic-bj-00002", "kind": "dosing_tube_clog", "onset_day": 0, "failure_day": 5},
        ],
    )
    run_to_db(build_simulation(fleet, scenario), url)
    with psycopg.connect(url) as conn:
        conn.execute("UPDATE telemetry SET received_at = ts + interval '5 seconds'")
        conn.execute(  # an update that lands between two services of the same day
            "UPDATE telemetry SET fw = '3.3.0' WHERE robot_id = %s AND ts >= %s",
            (ROBOTS[0], START + timedelta(days=1, hours=12)),
        )
    yield url
    drop_database(pg_admin_url, url)


def _windows(conn: psycopg.Connection[Any]) -> dict[tuple[str, datetime], dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute("SELECT * FROM robot_features WHERE window_hours = 24").fetchall()
    return {(r["robot_id"], r["window_start"]): r for r in rows}


def _expected(conn: psycopg.Connection[Any]) -> dict[tuple[str, datetime], dict[str, Any]]:
    """The windows computed in Python straight from the raw readings (percentile_cont is
    numpy's linear percentile)."""
    with conn.cursor(row_factory=dict_row) as cur:
        raw = cur.execute("SELECT * FROM telemetry ORDER BY robot_id, ts, seq").fetchall()
    values: dict[tuple[str, datetime], dict[str, list[float]]] = defaultdict(
        lambda: defaultdict(list)
    )
    out: dict[tuple[str, datetime], dict[str, Any]] = {}
    last_state: dict[tuple[str, datetime], str] = {}
    starts: dict[tuple[str, datetime], list[tuple[datetime, str]]] = defaultdict(list)
    by_recipe: dict[tuple[str, datetime], dict[str, list[float]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for r in raw:
        key = (r["robot_id"], r["ts"].replace(hour=0, minute=0, second=0, microsecond=0))
        w = out.setdefault(key, {"n_readings": 0, "n_cooking": 0, "err_count": 0,
                                 "codes": set(), "fws": set(), "fw": None})  # fmt: skip
        w["n_readings"] += 1
        w["err_count"] += bool(r["err"])
        w["codes"].update(r["err"])
        if r["fw"] is not None:
            w["fw"] = r["fw"]
            w["fws"].add(r["fw"])
        v = values[key]
        cooking = r["state"] == "cooking"
        w["n_cooking"] += cooking
        if cooking and r["heater_power_w"] > 2000:
            v["igbt_rise"].append(r["igbt_temp_c"] - r["cabinet_temp_c"])
            v["igbt_kw"].append(r["heater_power_w"] / 1000)
        if r["state"] == "idle" and r["heater_power_w"] == 0:
            v["igbt_idle"].append(r["igbt_temp_c"] - r["cabinet_temp_c"])
        if cooking:
            v["stir_vib_p90"].append(r["stir_vib_mm_s"])
            v["stir_current_p50"].append(r["stir_current_a"])
        if cooking and r["dose_flow_ml_s"] > 0:
            v["pressure_per_flow"].append(r["pump_pressure_kpa"] / r["dose_flow_ml_s"])
        if cooking and r["wok_temp_c"] > r["cabinet_temp_c"] + 50:
            v["power_per_degree"].append(
                r["heater_power_w"] / (r["wok_temp_c"] - r["cabinet_temp_c"])
            )
            by_recipe[key][r["recipe"] or ""].append(v["power_per_degree"][-1])
        if r["heater_power_w"] > 0:
            v["fan_rpm_p50"].append(r["exhaust_fan_rpm"])
        if r["state"] != last_state.get(key):  # a window's heat-ups are its own
            starts[key].append((r["ts"], r["state"]))
        last_state[key] = r["state"]
    heat: dict[tuple[str, datetime], list[float]] = defaultdict(list)
    for key, marks in starts.items():
        for (ts, state), (nts, nstate) in pairwise(marks):
            if state == "preheat" and nstate == "cooking":
                heat[key].append((nts - ts).total_seconds())
    for key, w in out.items():
        v = values[key]
        w["igbt_idle_rise"] = float(np.median(v["igbt_idle"])) if v["igbt_idle"] else None
        w["igbt_kw"] = float(np.median(v["igbt_kw"])) if v["igbt_kw"] else None
        v["igbt_rise_per_kw"] = [r / kw for r, kw in zip(v["igbt_rise"], v["igbt_kw"], strict=True)]
        for f in FEATURES:
            q = 90 if f == "stir_vib_p90" else 50
            got = values[key].get(f) if f != "heatup_s" else heat.get(key)
            w[f] = float(np.percentile(got, q)) if got else None
        w["ppd_by_recipe"] = {rc: float(np.median(vs)) for rc, vs in by_recipe[key].items()}
    return out


def test_windows_from_hourly_parts_equal_the_raw_day(raw_db: str) -> None:
    with psycopg.connect(raw_db) as conn:
        n = compute_features(conn, start=START, end=END, now=END)
        got, expected = _windows(conn), _expected(conn)
    assert n == len(expected) == len(got) == len(ROBOTS) * DAYS
    checked = 0
    for key, e in expected.items():
        g = got[key]
        assert (g["n_readings"], g["n_cooking"], g["err_count"]) == (
            e["n_readings"], e["n_cooking"], e["err_count"]), key  # fmt: skip
        assert set(g["err_codes"]) == e["codes"] and g["fw"] == e["fw"], key
        assert g["fw_versions"] == max(1, len(e["fws"])), key
        for f in ("igbt_idle_rise", "igbt_kw"):
            assert g[f] == (None if e[f] is None else pytest.approx(e[f], rel=1e-12)), (key, f)
        got_recipes = g["ppd_by_recipe"] or {}
        assert set(got_recipes) == set(e["ppd_by_recipe"]), key
        for rc, value in e["ppd_by_recipe"].items():
            assert got_recipes[rc] == pytest.approx(value, rel=1e-12), (key, rc)
        for f in FEATURES:
            if e[f] is None:
                assert g[f] is None, (key, f)
            else:
                assert g[f] == pytest.approx(e[f], rel=1e-12), (key, f)
                checked += 1
    assert checked > 0.9 * len(expected) * len(FEATURES)
    assert any(g["fw_versions"] == 2 for g in got.values())  # the update's window
    assert any(g["err_codes"] for g in got.values())  # the fan failure's codes
    assert all(len(g["ppd_by_recipe"] or {}) >= 3 for g in got.values() if g["n_cooking"] > 50)


def test_features_computed_in_parallel_are_the_same_windows(raw_db: str) -> None:
    """Issue 19 (the engineers' loop): a period's features computed by two connections at
    once, each for half of the robots, are the windows one connection computes."""
    from psycopg_pool import ConnectionPool

    from analytics.service import compute_features_parallel

    with psycopg.connect(raw_db) as conn:
        compute_features(conn, start=START, end=END, now=END)
        conn.commit()
        serial = _windows(conn)
        conn.execute("DELETE FROM robot_features")
        conn.execute("DELETE FROM feature_hours")
        conn.commit()
    with ConnectionPool(raw_db, min_size=2, max_size=2, open=True) as pool:
        n = compute_features_parallel(pool, 2, start=START, end=END, now=END)
    with psycopg.connect(raw_db) as conn:
        parallel = _windows(conn)
    assert n == len(serial) == len(parallel) == len(ROBOTS) * DAYS
    for key, row in serial.items():
        assert {f: parallel[key][f] for f in row if f != "computed_at"} == {
            f: v for f, v in row.items() if f != "computed_at"
        }, key


def test_live_refresh_reads_only_new_hours_and_gives_the_same_windows(
    raw_db: str, pg_admin_url: str
) -> None:
    with psycopg.connect(raw_db) as conn:
        compute_features(conn, start=START, end=END, now=END)
        whole = _windows(conn)
        conn.execute("DELETE FROM robot_features")
        conn.execute("DELETE FROM feature_hours")
        conn.execute("UPDATE rollup_watermark SET upto = '-infinity' WHERE name = 'features'")
        conn.commit()
        now = START + timedelta(minutes=7)
        step = timedelta(minutes=47)
        first = refresh_features(conn, now=now)
        assert first.hours <= len(ROBOTS)  # only what had arrived: the first minutes
        conn.commit()
        most_hours = 0
        while now < END + timedelta(minutes=1):
            now += step
            r = refresh_features(conn, now=now)
            conn.commit()
            most_hours = max(most_hours, r.hours)
            assert set(r.robots) <= set(ROBOTS)
            assert r.earliest is None or r.earliest >= now - step - D
        assert most_hours <= 2 * len(ROBOTS)  # 47 minutes span at most two hours per robot
        live = _windows(conn)
    assert live.keys() == whole.keys()
    for key, w in whole.items():
        for col in ("n_readings", "n_cooking", "err_count", "err_codes", "fw", "fw_versions",
                    *FEATURES):  # fmt: skip
            assert live[key][col] == w[col], (key, col)


def test_late_and_uncommitted_readings(raw_db: str) -> None:
    """A reading that arrives days late re-derives its own old window; a reading received
    within the lag waits for the next refresh (its transaction may still be open)."""
    robot = ROBOTS[0]
    with psycopg.connect(raw_db) as conn:
        conn.execute("UPDATE rollup_watermark SET upto = '-infinity' WHERE name = 'features'")
        refresh_features(conn, now=END + timedelta(hours=1))
        day0 = (robot, START)
        before = _windows(conn)[day0]["n_readings"]
        arrival = END + timedelta(hours=2)
        conn.execute(
            """INSERT INTO telemetry (ts, robot_id, seq, state, received_at, model, fw)
               VALUES (%s, %s, 999999, 'idle', %s, 'AIC-W1', '3.2.1')""",
            (START + timedelta(hours=3, seconds=1), robot, arrival),
        )
        waiting = refresh_features(conn, now=arrival + timedelta(seconds=10))
        assert waiting.windows == [] and _windows(conn)[day0]["n_readings"] == before
        late = refresh_features(conn, now=arrival + timedelta(minutes=1))
        assert late.windows == [day0] and late.hours == 1
        assert _windows(conn)[day0]["n_readings"] == before + 1
        # Weeks later the window's hourly parts are pruned; a reading for it re-reads the
        # whole window's raw hours, not only its own.
        later = END + timedelta(days=20)
        pruned = refresh_features(conn, now=later)
        assert pruned.windows == []
        left = conn.execute("SELECT count(*) FROM feature_hours WHERE hour < %s", (END,))
        assert left.fetchone() == (0,)
        conn.execute(
            """INSERT INTO telemetry (ts, robot_id, seq, state, received_at, model, fw)
               VALUES (%s, %s, 999998, 'idle', %s, 'AIC-W1', '3.2.1')""",
            (START + timedelta(hours=4), robot, later + timedelta(minutes=1)),
        )
        old = refresh_features(conn, now=later + timedelta(minutes=2))
        assert old.windows == [day0] and old.hours > 5
        assert _windows(conn)[day0]["n_readings"] == before + 2
        conn.rollback()


def test_aic_models_score_live(raw_db: str, pg_admin_url: str, tmp_path: Path) -> None:
    """`aic models score --live` is the scheduler's 5-minute step, from the command line:
    the first run brings every window up, the next one finds nothing new."""
    from typer.testing import CliRunner

    from cli.main import app

    url = clone_database(pg_admin_url, raw_db, "aic_live_cli")
    try:
        with psycopg.connect(url) as conn:
            conn.execute("UPDATE rollup_watermark SET upto = '-infinity' WHERE name = 'features'")
        env = {"AIC_DATABASE_URL": url, "AIC_STATE_DIR": str(tmp_path),
               "AIC_NOW": (END + timedelta(hours=1)).isoformat()}  # fmt: skip
        first = CliRunner().invoke(app, ["models", "score", "--live"], env=env)
        assert first.exit_code == 0, first.output
        assert f"{len(ROBOTS) * DAYS} feature windows" in first.output
        again = CliRunner().invoke(app, ["models", "score", "--live"], env=env)
        assert again.exit_code == 0 and "0 feature windows" in again.output, again.output
    finally:
        drop_database(pg_admin_url, url)


def test_aic_models_score_a_period_with_two_workers(
    raw_db: str, pg_admin_url: str, tmp_path: Path
) -> None:
    """`aic models score --days N --workers 2` (issue 19): the period's windows computed
    by two connections equal one connection's; `--workers 0` is refused with a message."""
    from typer.testing import CliRunner

    from cli.main import app

    url = clone_database(pg_admin_url, raw_db, "aic_workers_cli")
    try:
        env = {"AIC_DATABASE_URL": url, "AIC_STATE_DIR": str(tmp_path),
               "AIC_NOW": END.isoformat()}  # fmt: skip
        args = ["models", "score", "--days", str(DAYS), "--end", END.isoformat()]
        two = CliRunner().invoke(app, [*args, "--workers", "2"], env=env)
        assert two.exit_code == 0, two.output
        assert f"{len(ROBOTS) * DAYS} feature windows" in two.output
        with psycopg.connect(url) as conn:
            parallel = _windows(conn)
        one = CliRunner().invoke(app, args, env=env)
        assert one.exit_code == 0 and f"{len(ROBOTS) * DAYS} feature windows" in one.output
        with psycopg.connect(url) as conn:
            serial = _windows(conn)
        assert {k: {f: r[f] for f in FEATURES} for k, r in parallel.items()} == {
            k: {f: r[f] for f in FEATURES} for k, r in serial.items()
        }
        bad = CliRunner().invoke(app, [*args, "--workers", "0"], env=env)
        assert bad.exit_code == 2 and "workers" in bad.output.lower()
    finally:
        drop_database(pg_admin_url, url)


def test_an_igbt_offset_update_does_not_move_the_cooling_indicator(
    pg_admin_url: str, fleet_template_url: str, fleet: Fleet
) -> None:
    """Issue 21 (cooling across firmware updates): an update that runs the IGBT 6 °C
    hotter at every power moved (IGBT − cabinet) / kW by 6 / kW (+15 % on this robot, +30 %
    on a 2 kW one), and the bridge's ratio then under-read a cooling fault degrading across
    it. The heater-off readings measure the offset: scoring takes the rise over them."""
    from analytics.segments import ScoringConfig, usable_segments
    from cli.sim import run_to_db

    url = clone_database(pg_admin_url, fleet_template_url, "aic_igbt_zero")
    try:
        end = datetime(2026, 10, 8, tzinfo=UTC)
        scenario = Scenario(
            end=end, days=6, seed=3, sample_s=120, batch=10, robots=[ROBOTS[0]],
            firmware_updates=[{"day": 3, "version": "9.9.9", "igbt_offset_c": 6.0}],
        )  # fmt: skip
        run_to_db(build_simulation(fleet, scenario), url)
        with psycopg.connect(url) as conn:
            compute_features(conn, start=end - timedelta(days=6), end=end, now=end)
            rows = sorted(_windows(conn).values(), key=lambda r: r["window_start"])
    finally:
        drop_database(pg_admin_url, url)
    before, after = usable_segments(rows, ScoringConfig())
    assert len(before) >= 2 and len(after) >= 2 and after[0]["fw"] == "9.9.9"
    assert all(abs(r["igbt_idle_rise"]) < 0.5 for r in before)
    assert all(abs(r["igbt_idle_rise"] - 6.0) < 0.5 for r in after)
    stored = {r["window_start"]: r["igbt_rise_per_kw"] for r in rows}  # the plain rise per kW
    level = np.median([r["igbt_rise_per_kw"] for r in before])
    assert all(stored[r["window_start"]] > 1.1 * level for r in after)
    assert all(r["igbt_rise_per_kw"] == pytest.approx(level, rel=0.03) for r in after)
