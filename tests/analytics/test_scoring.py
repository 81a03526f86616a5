"""Scoring on a small fixed-seed simulated fleet: faults caught early, healthy robots quiet."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from analytics import registry
from analytics.segments import ScoringConfig
from analytics.service import backtest, score, train_forest
from core.errors import NotFoundError
from core.fleet import Fleet
from firmware_sim.engine import build_simulation
from firmware_sim.scenario import Scenario
from tests.conftest import clone_database, drop_database

END = datetime(2026, 11, 1, tzinfo=UTC)
DAYS = 20
FAULTY = {
    "aic-bj-00001": "cooling_degradation",
    "aic-bj-00002": "stir_bearing_wear",
    "aic-bj-00003": "dosing_tube_clog",
    "aic-tj-00004": "wok_sensor_drift",
    "aic-tj-00005": "heating_coil_degradation",
    "aic-sjz-00006": "exhaust_fan_failure",
}
HEALTHY = ["aic-ty-00007", "aic-bj-00008"]


@pytest.fixture(scope="module")
def sim_db(pg_admin_url: str, fleet_template_url: str, fleet: Fleet) -> Iterator[str]:
    """A database holding 20 simulated days of 8 robots, 6 with a known fault."""
    from cli.sim import run_to_db

    url = clone_database(pg_admin_url, fleet_template_url, "aic_scoring")
    faults = [{"robot": r, "kind": k, "onset_day": 9, "failure_day": 18} for r, k in FAULTY.items()]
    faults[-1] = {"robot": "aic-sjz-00006", "kind": "exhaust_fan_failure", "onset_day": 15}
    scenario = Scenario(
        end=END,
        days=DAYS,
        seed=21,
        sample_s=120,
        batch=20,
        robots=[*FAULTY, *HEALTHY],
        faults=faults,
    )
    simulation = build_simulation(fleet, scenario)
    run_to_db(simulation, url)
    from firmware_sim.ground_truth import store

    with psycopg.connect(url) as conn:
        store(conn, simulation.faults, run_id="t", seed=21)
    yield url
    drop_database(pg_admin_url, url)


@pytest.fixture(scope="module")
def scored(sim_db: str) -> str:
    with psycopg.connect(sim_db) as conn:
        score(conn, start=END - timedelta(days=DAYS), end=END, use_forests=False)
    return sim_db


def _anomalies(url: str) -> list[tuple[str, str, str, datetime]]:
    with psycopg.connect(url) as conn:
        return conn.execute(  # type: ignore[return-value]
            "SELECT robot_id, detector, kind, window_end FROM anomalies ORDER BY window_end"
        ).fetchall()


@pytest.mark.parametrize("robot", [r for r, k in FAULTY.items() if k != "exhaust_fan_failure"])
def test_gradual_fault_detected_before_failure(scored: str, robot: str) -> None:
    """The baseline/CUSUM detector flags the right fault kind at least a day before failure."""
    failure = END - timedelta(days=DAYS) + timedelta(days=18)
    early = [
        a
        for a in _anomalies(scored)
        if a[0] == robot
        and a[1] == "baseline-cusum"
        and a[2] == FAULTY[robot]
        and a[3] <= failure - timedelta(days=1)
    ]
    assert early, f"{robot}: {FAULTY[robot]} not flagged before failure"


def test_sudden_fan_failure_caught_by_error_code(scored: str) -> None:
    """The exhaust-fan failure has no precursor; its error code raises an anomaly."""
    hits = [
        a for a in _anomalies(scored) if a[0] == "aic-sjz-00006" and a[2] == "exhaust_fan_failure"
    ]
    assert hits and all(a[1] == "rules" for a in hits)


def test_healthy_robots_stay_quiet(scored: str) -> None:
    """No anomaly at all on robots without a fault."""
    assert not [a for a in _anomalies(scored) if a[0] in HEALTHY]


def test_scoring_is_idempotent(scored: str) -> None:
    """Re-running the scoring over the same data creates nothing new."""
    with psycopg.connect(scored) as conn:
        before = conn.execute("SELECT count(*) FROM anomalies").fetchone()
        again = score(conn, start=END - timedelta(days=DAYS), end=END, use_forests=False)
        after = conn.execute("SELECT count(*) FROM anomalies").fetchone()
    assert again.anomalies_inserted == 0 and before == after


def test_backtest_report(scored: str) -> None:
    """A backtest scores the period and evaluates it against the ground truth."""
    with psycopg.connect(scored) as conn:
        rep = backtest(
            conn, run_id="t", start=END - timedelta(days=DAYS), end=END, use_forests=False
        )
    for kind in FAULTY.values():
        assert rep.kinds[kind].recall == 1.0, kind
    assert rep.false_episodes == 0
    assert rep.healthy_days_under_alarm == 0.0
    for kind in FAULTY.values():
        k = rep.kinds[kind]
        if kind == "exhaust_fan_failure":  # sudden: detected at failure, never "warned"
            assert k.sudden and k.warned_24h_share is None
        else:  # warned at least a day ahead (the wok sensor only just: 24 h on this seed)
            assert k.warned_24h_share == 1.0, kind


def test_error_code_rules_from_the_database_are_not_warnings(scored: str) -> None:
    """Every simulated failure raised its error code, and each code's anomaly alone detects
    the failure — yet none of them counts as a warning (issue 21)."""
    from analytics.evaluation import evaluate
    from analytics.repository import anomalies_between, ground_truth

    start = END - timedelta(days=DAYS)
    with psycopg.connect(scored) as conn:
        codes = [
            a for a in anomalies_between(conn, start=start, end=END) if a["error_code"] is not None
        ]
        truth = ground_truth(conn, run_id="t")
    assert {a["kind"] for a in codes} == set(FAULTY.values())
    rep = evaluate(truth, codes, start=start, end=END + timedelta(days=1), robots=8)
    for kind in FAULTY.values():
        assert rep.kinds[kind].recall == 1.0, kind
        assert rep.kinds[kind].warned_24h == 0 and rep.kinds[kind].lead_hours == [], kind


def test_registry_round_trip(scored: str) -> None:
    """Train → list → activate → load; a second version; rollback returns to the first."""
    with psycopg.connect(scored) as conn:
        start = END - timedelta(days=DAYS)
        with pytest.raises(ValueError, match="healthy windows"):
            train_forest(conn, robot_model="AIC-NONE", start=start, end=END)
        model = conn.execute(
            "SELECT model FROM robots WHERE robot_id = %s", (HEALTHY[0],)
        ).fetchone()
        assert model is not None
        rows = conn.execute(
            "SELECT count(*) FROM robot_features WHERE model = %s", (model[0],)
        ).fetchone()
        assert rows is not None
        robot_model = model[0]
        first = train_forest(conn, robot_model=robot_model, start=start, end=END, min_windows=20)
        registry.activate(conn, model_id=first)
        active = registry.load_active(conn)
        assert active[(robot_model, None)][1].threshold_ > 0
        with pytest.raises(NotFoundError):
            registry.rollback(conn, robot_model=robot_model)
        second = train_forest(
            conn, robot_model=robot_model, start=start, end=END, random_state=1, min_windows=20
        )
        registry.activate(conn, model_id=second)
        back = registry.rollback(conn, robot_model=robot_model)
        assert back.id == first and back.active
        infos = {m.id: m for m in registry.list_models(conn)}
        assert infos[first].data_hash == infos[second].data_hash  # same training data
        # A model for one firmware version lives beside the model for all versions.
        fw = conn.execute(
            "SELECT fw FROM robot_features WHERE model = %s GROUP BY fw ORDER BY count(*) DESC"
            " LIMIT 1",
            (robot_model,),
        ).fetchone()
        assert fw is not None
        pinned = train_forest(
            conn, robot_model=robot_model, start=start, end=END, firmware=fw[0], min_windows=20
        )
        registry.activate(conn, model_id=pinned)
        active = registry.load_active(conn)
        assert set(active) >= {(robot_model, None), (robot_model, fw[0])}
        assert active[(robot_model, fw[0])][0] == f"iforest/{robot_model}@{fw[0]}/3"
        assert registry.list_models(conn)[-1].firmware == fw[0]
        with pytest.raises(NotFoundError):
            registry.rollback(conn, robot_model=robot_model, firmware=fw[0])
        with pytest.raises(ValueError, match=r"firmware 9\.9\.9"):
            train_forest(conn, robot_model=robot_model, start=start, end=END, firmware="9.9.9")
        # Live scoring with the active forest runs and stays idempotent.
        score(conn, start=start, end=END)
        n = conn.execute("SELECT count(*) FROM anomalies").fetchone()
        score(conn, start=start, end=END)
        assert conn.execute("SELECT count(*) FROM anomalies").fetchone() == n
        conn.rollback()


def test_unloadable_model_gives_a_clear_error(scored: str) -> None:
    """A stored model that cannot be unpickled here raises ModelLoadError naming the versions."""
    with psycopg.connect(scored) as conn:
        conn.execute(
            """INSERT INTO fault_models (name, robot_model, version, params, data_hash, n_train,
                   sklearn_version, artifact, active)
               VALUES ('iforest', 'AIC-OLD', 1, '{}', 'x', 0, '0.1.0', 'not a pickle', true)"""
        )
        with pytest.raises(registry.ModelLoadError, match=r"0\.1\.0"):
            registry.load_active(conn)
        conn.rollback()


def test_evaluate_writes_markdown_and_plots(scored: str, tmp_path: Path) -> None:
    """`aic models evaluate` reads the stored anomalies (no rescoring) and writes the report
    with a lead-time histogram and one timeline per fault kind that failed."""
    from typer.testing import CliRunner

    from cli.main import app

    out = tmp_path / "eval"
    env = {"AIC_DATABASE_URL": scored, "AIC_STATE_DIR": str(tmp_path)}
    r = CliRunner().invoke(app, ["models", "evaluate", "--run-id", "t", "--out", str(out)], env=env)
    assert r.exit_code == 0, r.output
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "| cooling_degradation |" in md and "![lead_times](lead_times.png)" in md
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert "lead_times.png" in pngs
    assert "timeline_aic-bj-00001_cooling_degradation.png" in pngs
    assert len([p for p in pngs if p.startswith("timeline_")]) >= 5  # the gradual kinds
    assert all((out / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    missing = CliRunner().invoke(
        app, ["models", "evaluate", "--run-id", "nope", "--out", str(out)], env=env
    )
    assert missing.exit_code == 2 and "no ground truth" in missing.output


def test_a_candidate_forest_is_evaluated_before_activation(scored: str, tmp_path: Path) -> None:
    """Issue 21: `aic models evaluate --candidate ID` scores the stored run with a trained,
    inactive forest in memory and evaluates it; nothing is written, nothing activated."""
    from typer.testing import CliRunner

    from analytics.service import evaluate_candidate
    from cli.main import app

    with psycopg.connect(scored) as conn:
        model = conn.execute(
            "SELECT model FROM robots WHERE robot_id = %s", (HEALTHY[0],)
        ).fetchone()
        assert model is not None
        mid = train_forest(
            conn, robot_model=model[0], start=END - timedelta(days=DAYS), end=END, min_windows=20
        )
        conn.commit()
        before = conn.execute("SELECT count(*) FROM anomalies").fetchone()
        report = evaluate_candidate(conn, run_id="t", model_id=mid)
        assert conn.execute("SELECT count(*) FROM anomalies").fetchone() == before
        assert conn.execute("SELECT active FROM fault_models WHERE id = %s", (mid,)).fetchone() == (
            False,
        )
        for kind in FAULTY.values():
            assert report.kinds[kind].recall == 1.0, kind
        with pytest.raises(NotFoundError):
            evaluate_candidate(conn, run_id="t", model_id=999_999)
    try:
        res = CliRunner().invoke(
            app,
            [
                "models",
                "evaluate",
                "--run-id",
                "t",
                "--candidate",
                str(mid),
                "--out",
                str(tmp_path),
            ],
            env={"AIC_DATABASE_URL": scored, "AIC_STATE_DIR": str(tmp_path)},
        )
    finally:  # the module's other tests count model versions
        with psycopg.connect(scored) as conn:
            conn.execute("DELETE FROM fault_models WHERE id = %s", (mid,))
    assert res.exit_code == 0, res.output
    assert "not active" in res.output and "warned" in res.output.lower()
    assert (tmp_path / "report.json").exists()


def test_live_scoring_finds_what_the_period_scoring_finds(pg_admin_url: str, scored: str) -> None:
    """Issue 19: the live run (feature windows brought up from the hours that received
    readings, the fleet's scale priors stored and reused) stores the same anomalies as
    scoring the whole period; a run with nothing received does nothing, and a late reading
    re-scores only its robot, still against the whole fleet's priors."""
    from analytics.service import ScoringRun, score_live

    url = clone_database(pg_admin_url, scored, "aic_live")
    try:
        with psycopg.connect(url) as conn:
            for table in ("anomalies", "robot_features", "feature_hours", "fleet_norms"):
                conn.execute(f"DELETE FROM {table}")
            conn.execute("UPDATE rollup_watermark SET upto = '-infinity' WHERE name = 'features'")
            conn.commit()
            received = END + timedelta(minutes=1)  # when the simulated backfill arrived
            first = score_live(conn, now=received + timedelta(minutes=1), use_forests=False)
            conn.commit()
            with psycopg.connect(scored) as period:
                windows = period.execute("SELECT count(*) FROM robot_features").fetchone()
            assert windows is not None and first.feature_rows == windows[0] > 100
            assert set(_anomalies(url)) == set(_anomalies(scored))
            quiet = score_live(conn, now=received + timedelta(minutes=6), use_forests=False)
            assert quiet == ScoringRun(0, 0, 0, [])
            robot = HEALTHY[0]
            late_at = received + timedelta(minutes=8)
            conn.execute(
                """INSERT INTO telemetry (ts, robot_id, seq, state, received_at, model)
                   VALUES (%s, %s, 999999, 'idle', %s, 'AIC-W1')""",
                (END - timedelta(days=2, hours=20), robot, late_at),
            )
            late = score_live(conn, now=late_at + timedelta(minutes=1), use_forests=False)
            assert late.feature_rows == 1 and late.anomalies_inserted == 0
            stamps = conn.execute("SELECT DISTINCT computed_at FROM fleet_norms").fetchall()
            assert stamps == [(received + timedelta(minutes=1),)]  # reused, not from 1 robot
            # Norms of another scoring version (e.g. before the cooling indicator took the
            # idle zero) are not reused: they were computed on other feature values.
            again_at = late_at + timedelta(minutes=5)
            conn.execute(
                """INSERT INTO telemetry (ts, robot_id, seq, state, received_at, model)
                   VALUES (%s, %s, 999998, 'idle', %s, 'AIC-W1')""",
                (END - timedelta(days=2, hours=19), robot, again_at),
            )
            other = replace(ScoringConfig(), version="baseline-cusum/next")
            score_live(conn, now=again_at + timedelta(minutes=1), use_forests=False, cfg=other)
            stamps = conn.execute("SELECT DISTINCT computed_at FROM fleet_norms").fetchall()
            assert (again_at + timedelta(minutes=1),) in stamps
    finally:
        drop_database(pg_admin_url, url)


def test_alarm_resets_come_from_acknowledged_and_cleared_alarms(scored: str) -> None:
    """What live scoring reads to start a component's CUSUMs again (issue 21): the times
    alarms were acknowledged by a lead or cleared by a repair, per robot and component."""
    from analytics.repository import alarm_resets

    with psycopg.connect(scored) as conn:
        first = conn.execute(
            """SELECT id, robot_id, component FROM anomalies WHERE detector = 'baseline-cusum'
               ORDER BY window_start, id LIMIT 2"""
        ).fetchall()
        (a, robot, component), (b, robot_b, component_b) = first
        ack, repaired = END + timedelta(hours=1), END + timedelta(hours=5)
        conn.execute(
            """UPDATE anomalies SET status = 'acknowledged', acknowledged_by = 'lead',
                      acknowledged_at = %s WHERE id = %s""",
            (ack, a),
        )
        conn.execute(
            """UPDATE anomalies SET status = 'cleared', cleared_by = 'tech', cleared_at = %s,
                      acknowledged_at = %s WHERE id = %s""",
            (repaired, ack, b),
        )
        got = alarm_resets(conn, robots=[robot, robot_b, "nobody"])
        conn.rollback()
    expected: dict[str, set[tuple[datetime, str]]] = {}
    expected.setdefault(robot, set()).add((ack, component))
    expected.setdefault(robot_b, set()).update({(ack, component_b), (repaired, component_b)})
    assert {r: set(v) for r, v in got.items()} == expected
