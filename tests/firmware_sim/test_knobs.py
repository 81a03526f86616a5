"""The engineers' simulator knobs (issue 21): noise, fault speed, onset window, aging."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from firmware_sim.faults import KINDS, draw_faults
from firmware_sim.physics import Physics, Severity

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ROBOTS = [f"r{i:03d}" for i in range(200)]


def _deviations(noise: float) -> list[float]:
    phys = Physics(3500.0, random.Random(7), noise=noise)
    phys.power_w = 2000.0
    out = []
    for _ in range(50):
        m = phys._measure(
            phase="cooking", load=0.5, dosing=True, sev=Severity(), measured=phys.wok_c
        )
        out.append(m["igbt_temp_c"] - phys.igbt_c)
    return out


def test_noise_scales_every_sensor_sd() -> None:
    """The same random draws, twice the spread (up to the 2-decimal rounding)."""
    one, two = _deviations(1.0), _deviations(2.0)
    for a, b in zip(one, two, strict=True):
        assert abs(b - 2 * a) < 0.02


def test_slower_faults_take_longer_and_default_is_unchanged() -> None:
    end = T0 + timedelta(days=400)
    base = draw_faults(ROBOTS, start=T0, end=end, fraction=0.5, seed=3)
    again = draw_faults(ROBOTS, start=T0, end=end, fraction=0.5, seed=3, speed=1.0)
    assert base == again
    slow = draw_faults(ROBOTS, start=T0, end=end, fraction=0.5, seed=3, speed=0.4)
    spans = {f.robot_id: (f.failure - f.onset) for f in base if KINDS[f.kind].gradual}
    for f in slow:
        if KINDS[f.kind].gradual:
            assert (f.failure - f.onset) / spans[f.robot_id] == pytest.approx(2.5)


def test_onsets_in_the_first_ten_days() -> None:
    end = T0 + timedelta(days=90)
    faults = draw_faults(ROBOTS, start=T0, end=end, fraction=0.5, seed=4, onset_days=(0, 10))
    assert faults and all(T0 <= f.onset <= T0 + timedelta(days=10) for f in faults)
    default = draw_faults(ROBOTS, start=T0, end=end, fraction=0.5, seed=4)
    assert min(f.onset for f in default) >= T0 + timedelta(days=90 * 0.25)


def test_cli_knobs_reach_the_ground_truth(tmp_path: Path) -> None:
    out, gt = tmp_path / "sim.jsonl", tmp_path / "gt.jsonl"
    res = CliRunner().invoke(
        app,
        [
            "sim",
            "--days",
            "30",
            "--robots",
            "12",
            "--faults",
            "1",
            "--sample-s",
            "600",
            "--onset-days",
            "0",
            "5",
            "--fault-speed",
            "0.5",
            "--noise",
            "2",
            "--aging",
            "0.2",
            "--end",
            "2026-06-01T00:00:00",
            "--out",
            str(out),
            "--ground-truth",
            str(gt),
        ],
        env={"AIC_STATE_DIR": str(tmp_path)},
    )
    assert res.exit_code == 0, res.output
    faults = [json.loads(x) for x in gt.read_text().splitlines()]
    start = datetime(2026, 5, 2, tzinfo=UTC)
    assert len(faults) == 12
    assert all(datetime.fromisoformat(f["onset"]) <= start + timedelta(days=5) for f in faults)
    bad = CliRunner().invoke(
        app,
        ["sim", "--days", "3", "--onset-days", "5", "1", "--out", str(out)],
        env={"AIC_STATE_DIR": str(tmp_path)},
    )
    assert bad.exit_code != 0 and "onset_days" in bad.output


def test_aging_wears_healthy_robots(fleet: object) -> None:
    from firmware_sim.engine import build_simulation
    from firmware_sim.scenario import Scenario

    sim = build_simulation(
        fleet,  # type: ignore[arg-type]
        Scenario(end=T0 + timedelta(days=60), days=60, max_robots=1, aging_per_100_days=0.2),
    )
    robot = sim.robots[0]
    assert robot._severity(sim.start).cooling == 0.0
    half = robot._severity(sim.start + timedelta(days=50))
    assert half.cooling == half.bearing == half.clog == pytest.approx(0.1)
