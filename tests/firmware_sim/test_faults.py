"""Each injected fault leaves its signature, raises its error code at failure; healthy robots stay healthy."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.fleet import Fleet
from firmware_sim.faults import KINDS, Fault, draw_faults
from firmware_sim.ground_truth import write_file
from tests.firmware_sim.conftest import END, simulate

ROBOT = "aic-bj-00001"
DAYS = 14
Row = dict[str, Any]


def _ts(r: Row) -> datetime:
    return datetime.fromisoformat(str(r["ts"]).replace("Z", "+00:00"))


def igbt_rise_per_kw(rows: list[Row]) -> float:
    v = [
        (r["m"]["igbt_temp_c"] - r["m"]["cabinet_temp_c"]) / (r["m"]["heater_power_w"] / 1000)
        for r in rows
        if r["state"] == "cooking" and r["m"]["heater_power_w"] > 2000
    ]
    return float(np.median(v))


def vibration(rows: list[Row]) -> float:
    return float(np.median([r["m"]["stir_vib_mm_s"] for r in rows if r["state"] == "cooking"]))


def pressure_per_flow(rows: list[Row]) -> float:
    return float(
        np.median(
            [
                r["m"]["pump_pressure_kpa"] / r["m"]["dose_flow_ml_s"]
                for r in rows
                if r["m"]["dose_flow_ml_s"] > 0
            ]
        )
    )


def cooking_power(rows: list[Row]) -> float:
    return float(np.median([r["m"]["heater_power_w"] for r in rows if r["state"] == "cooking"]))


def fan_speed(rows: list[Row]) -> float:
    return float(
        np.median(
            [
                r["m"]["exhaust_fan_rpm"]
                for r in rows
                if r["state"] in ("preheat", "cooking", "fault")
            ]
            or [0.0]
        )
    )


# kind -> (signal, expected ratio late/early: >x means rises by x, <x falls below x)
SIGNATURES: dict[str, tuple[Callable[[list[Row]], float], str, float]] = {
    "cooling_degradation": (igbt_rise_per_kw, ">", 1.3),
    "stir_bearing_wear": (vibration, ">", 2.0),
    "dosing_tube_clog": (pressure_per_flow, ">", 1.5),
    "wok_sensor_drift": (cooking_power, "<", 0.92),
    "heating_coil_degradation": (cooking_power, ">", 1.12),
}


def _windows(rows: list[Row], start: datetime, failure: datetime) -> tuple[list[Row], list[Row]]:
    early = [r for r in rows if _ts(r) < start + timedelta(days=2)]
    late = [r for r in rows if failure - timedelta(days=2) <= _ts(r) < failure]
    return early, late


@pytest.mark.parametrize("kind", sorted(SIGNATURES))
def test_gradual_fault_signature_is_visible(fleet: Fleet, kind: str) -> None:
    """The fault's signal moves clearly between the healthy start and the days before failure."""
    fn, direction, ratio = SIGNATURES[kind]
    sim, rows = simulate(
        fleet,
        days=DAYS,
        robots=[ROBOT],
        sample_s=30,
        seed=5,
        faults=[{"robot": ROBOT, "kind": kind, "onset_day": 3, "failure_day": 12}],
    )
    failure = sim.faults[0].failure
    early, late = _windows(rows, sim.start, failure)
    change = fn(late) / fn(early)
    assert (change > ratio) if direction == ">" else (change < ratio), (kind, change)
    after = [r for r in rows if _ts(r) >= failure]
    assert after and all(KINDS[kind].error_code in r["err"] for r in after)
    assert all(r["state"] == "fault" for r in after)
    assert not any(r["err"] for r in rows if _ts(r) < failure)


def test_fan_failure_is_sudden(fleet: Fleet) -> None:
    """The exhaust fan runs normally until it stops at once, with E401 and a fault event."""
    sim, rows = simulate(
        fleet,
        days=DAYS,
        robots=[ROBOT],
        sample_s=30,
        seed=5,
        faults=[{"robot": ROBOT, "kind": "exhaust_fan_failure", "onset_day": 7}],
    )
    failure = sim.faults[0].failure
    before = [r for r in rows if failure - timedelta(days=1) <= _ts(r) < failure]
    after = [r for r in rows if _ts(r) >= failure]
    assert fan_speed(before) > 2000 and fan_speed(after) == 0.0
    assert all("E401" in r["err"] for r in after)
    events = [json.loads(m.payload) for m in sim.messages() if m.kind == "event"]
    assert [e["code"] for e in events if e["type"] == "fault"] == ["E401"]


def test_healthy_robot_stays_healthy(fleet: Fleet) -> None:
    """Without a fault every signature is stable over two weeks and no error code appears."""
    sim, rows = simulate(fleet, days=DAYS, robots=[ROBOT], sample_s=30, seed=5)
    assert not sim.faults
    early, late = _windows(rows, sim.start, END)
    for kind, (fn, _, _) in SIGNATURES.items():
        change = fn(late) / fn(early)
        assert 0.93 < change < 1.07, (kind, change)
    assert not any(r["err"] for r in rows)
    assert fan_speed(late) > 2000


def test_random_faults_are_seeded_and_leave_others_healthy(fleet: Fleet) -> None:
    """Random draws depend only on the seed; roughly the asked fraction of robots gets one."""
    ids = [r.id for _, r in fleet.robots()]
    start = END - timedelta(days=90)
    a = draw_faults(ids, start=start, end=END, fraction=0.3, seed=9)
    b = draw_faults(ids, start=start, end=END, fraction=0.3, seed=9)
    assert a == b and a != draw_faults(ids, start=start, end=END, fraction=0.3, seed=10)
    assert 0.15 * len(ids) < len(a) < 0.45 * len(ids)
    assert len({f.robot_id for f in a}) == len(a)
    assert all(start <= f.onset <= f.failure for f in a)


def test_severity_progression() -> None:
    """Severity is 0 before onset, grows monotonically, and is 1 from failure on."""
    t0 = END - timedelta(days=10)
    f = Fault(ROBOT, "cooling_degradation", t0, t0 + timedelta(days=5))
    values = [f.severity(t0 + timedelta(hours=h)) for h in range(-5, 24 * 6, 5)]
    assert values[0] == 0.0 and values[-1] == 1.0
    assert all(b >= a for a, b in itertools.pairwise(values))
    with pytest.raises(ValueError):
        Fault(ROBOT, "gremlins", t0, t0)


def test_firmware_update_event_and_regression(fleet: Fleet) -> None:
    """A scheduled update emits firmware_updated and, in this scenario, runs the IGBT hotter."""
    sim, rows = simulate(
        fleet,
        days=6,
        robots=[ROBOT],
        sample_s=30,
        seed=5,
        firmware_updates=[{"day": 3, "version": "9.9.9", "igbt_offset_c": 8.0}],
    )
    events = [json.loads(m.payload) for m in sim.messages() if m.kind == "event"]
    updates = [e for e in events if e["type"] == "firmware_updated"]
    assert len(updates) == 1 and updates[0]["fw"] == "9.9.9"
    before = [r for r in rows if r["fw"] != "9.9.9"]
    after = [r for r in rows if r["fw"] == "9.9.9"]
    assert before and after
    assert igbt_rise_per_kw(after) > igbt_rise_per_kw(before) * 1.1


def test_ground_truth_file(tmp_path: Path, fleet: Fleet) -> None:
    """The ground truth names robot, fault, component, error code, onset and failure."""
    from firmware_sim.engine import build_simulation
    from firmware_sim.scenario import Scenario

    sim = build_simulation(
        fleet, Scenario(end=END, days=30, max_robots=20, seed=3, random_faults={"fraction": 0.5})
    )
    path = tmp_path / "gt.jsonl"
    write_file(path, sim.faults, run_id="r1", seed=3)
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert len(lines) == len(sim.faults) > 0
    assert {"robot_id", "kind", "component", "error_code", "onset", "failure"} <= set(lines[0])
