"""A firmware update that shifts a feature is judged against the new version's own
baseline: no alarm for the step itself, still an alarm for a drift on the new version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from analytics.repository import FEATURES
from analytics.scoring import score_robot
from analytics.segments import ScoringConfig, firmware_segments

DAY0 = datetime(2026, 9, 1, tzinfo=UTC)
HEALTHY = {
    "igbt_rise_per_kw": 8.0,
    "stir_vib_p90": 1.2,
    "stir_current_p50": 2.0,
    "pressure_per_flow": 1.5,
    "power_per_degree": 30.0,
    "heatup_s": 90.0,
    "fan_rpm_p50": 2400.0,
}


def windows(fws: list[str], igbt: list[float]) -> list[dict[str, Any]]:
    rng = np.random.default_rng(3)
    rows = []
    for i, (fw, rise) in enumerate(zip(fws, igbt, strict=True)):
        row = {f: v * (1 + rng.normal(0, 0.01)) for f, v in HEALTHY.items()}
        row["igbt_rise_per_kw"] = rise * (1 + rng.normal(0, 0.01))
        rows.append(
            {
                **row,
                "robot_id": "aic-t-1",
                "window_start": DAY0 + timedelta(days=i),
                "window_hours": 24,
                "model": "AIC-W1",
                "fw": fw,
                "n_cooking": 200,
                "err_count": 0,
                "err_codes": [],
            }
        )
    assert set(FEATURES) <= set(rows[0])
    return rows


def cooling_alarms(rows: list[dict[str, Any]]) -> list[datetime]:
    found, _ = score_robot(rows, cfg=ScoringConfig())
    return [
        a.window_start
        for a in found
        if a.detector == "baseline-cusum" and a.kind == "cooling_degradation"
    ]


def test_a_firmware_step_is_not_a_fault() -> None:
    """IGBT rise +35 % from the update on (day 15): alarms if the version is ignored,
    none when each version has its own baseline."""
    igbt = [8.0] * 15 + [10.8] * 15
    same_fw = windows(["3.2.1"] * 30, igbt)
    updated = windows(["3.2.1"] * 15 + ["3.3.0"] * 15, igbt)
    assert cooling_alarms(same_fw), "the step is large enough to alarm without segmentation"
    assert cooling_alarms(updated) == []
    assert [len(s) for s in firmware_segments(updated)] == [15, 15]


def test_a_drift_on_the_new_firmware_is_still_caught() -> None:
    """After the update's own 7-window baseline, a steady climb of the IGBT rise alarms."""
    igbt = [8.0] * 10 + [10.8] * 8 + [10.8 * (1 + 0.04 * k) for k in range(1, 13)]
    rows = windows(["3.2.1"] * 10 + ["3.3.0"] * 20, igbt)
    alarms = cooling_alarms(rows)
    assert alarms and min(alarms) >= DAY0 + timedelta(days=18)


def test_the_update_window_belongs_to_neither_version() -> None:
    """Issue 21: the window in which an update lands mixes both versions. Reported with
    two versions, it is left out — no alarm from the update day; counted in the old
    version's segment (as before), it alarmed with a large z."""
    igbt = [8.0] * 15 + [9.4] + [10.8] * 14
    fws = ["3.2.1"] * 16 + ["3.3.0"] * 14
    rows = windows(fws, igbt)
    assert cooling_alarms(rows), "the half-updated day alarms inside the old segment"
    rows[15]["fw_versions"] = 2  # what the feature SQL records for the update's window
    rows[15]["fw"] = "3.3.0"
    assert cooling_alarms(rows) == []
    assert [len(s) for s in firmware_segments(rows)] == [15, 14]


def test_a_steady_robot_borrows_the_fleet_scale() -> None:
    """Issue 21: seven very steady baseline windows give a tiny scale, and a +3 % shift
    reads as z > 5 for days. With the fleet's relative scale (3 % here) as a prior, the
    same shift is within normal."""
    from analytics.scoring import score_windows
    from analytics.segments import FleetNorms, fleet_priors

    fleet = []
    rng = np.random.default_rng(5)
    for n in range(8):
        rows = windows(["3.2.1"] * 30, [8.0] * 30)
        for r in rows:
            r["robot_id"] = f"aic-f-{n}"
            r["pressure_per_flow"] = 1.5 * (1 + rng.normal(0, 0.03))
        fleet += rows
    steady = windows(["3.2.1"] * 30, [8.0] * 30)
    for i, r in enumerate(steady):
        r["robot_id"] = "aic-steady"
        r["pressure_per_flow"] = 1.5 * (1.0 + (0.001 * (-1) ** i if i < 7 else 0.03))
    cfg = ScoringConfig()

    def dosing_alarms(norms: FleetNorms | None) -> int:
        result = score_windows(fleet + steady, cfg=cfg, norms=norms)
        return sum(
            1
            for a in result.anomalies
            if a.robot_id == "aic-steady" and a.kind == "dosing_tube_clog"
        )

    assert dosing_alarms(FleetNorms()) > 0  # no prior: the robot's own 7 windows alone
    priors = fleet_priors(
        {
            r: [x for x in fleet + steady if x["robot_id"] == r]
            for r in {x["robot_id"] for x in fleet + steady}
        },
        cfg,
    )
    assert abs(priors[("AIC-W1", "3.2.1")][3] - 0.03) < 0.015
    assert dosing_alarms(None) == 0  # priors from the same rows: the default


def test_no_alarm_on_a_window_without_the_indicator() -> None:
    """A day without cooking dosing has no pressure per flow (NaN): the CUSUM carried over
    from the day before does not make an anomaly with a NaN value (which PostgreSQL's JSON
    refuses) — found rescoring a 100-robot run."""
    rows = windows(["3.2.1"] * 20, [8.0] * 20)
    for i, r in enumerate(rows):
        if i >= 10:
            r["pressure_per_flow"] = 1.5 * (1.5 + 0.05 * i)
    rows[15]["pressure_per_flow"] = None
    found, _ = score_robot(rows, cfg=ScoringConfig())
    dosing = [a for a in found if a.kind == "dosing_tube_clog"]
    assert dosing and DAY0 + timedelta(days=15) not in [a.window_start for a in dosing]
    assert all(not np.isnan(a.evidence["value"]) for a in dosing)


def test_the_bridge_keeps_watching_a_fault_across_an_update() -> None:
    """Issue 21's cross-version bridge. Eight robots take version 3.3.0 on day 15, which
    runs the IGBT 35 % hotter; one of them has a clogging fan filter from day 10 on. Alone,
    the new version learns its own baseline from 7 windows that already hold the fault, and
    sees nothing until the rise outgrows it; bridged, 3.3.0 is judged against the robot's
    3.2.1 baseline corrected by the fleet's +35 %: the fault is followed through the update
    and no healthy robot is flagged for the step."""
    from dataclasses import replace

    from analytics.scoring import score_windows
    from analytics.segments import fleet_shifts, usable_segments

    fws = ["3.2.1"] * 15 + ["3.3.0"] * 15
    fleet = []
    for n in range(8):
        rows = windows(fws, [8.0] * 15 + [10.8] * 15)
        for r in rows:
            r["robot_id"] = f"aic-f-{n}"
        fleet += rows
    wear = [8.0 * (1 + max(0, i - 10) * 0.02) * (1.35 if i >= 15 else 1) for i in range(30)]
    sick = windows(fws, wear)
    for r in sick:
        r["robot_id"] = "aic-sick"
    cfg = ScoringConfig()
    segments = {r: usable_segments([x for x in fleet if x["robot_id"] == r], cfg)
                for r in {x["robot_id"] for x in fleet}}  # fmt: skip
    shift = fleet_shifts(segments, cfg)[("AIC-W1", "3.2.1", "3.3.0")]
    assert abs(shift[0] - 1.35) < 0.02 and abs(shift[1] - 1.0) < 0.02

    def cooling(c: ScoringConfig) -> tuple[list[int], int]:
        found = score_windows(fleet + sick, cfg=c).anomalies
        days = sorted(
            {(a.window_start - DAY0).days for a in found
             if a.robot_id == "aic-sick" and a.kind == "cooling_degradation"
             and a.detector == "baseline-cusum"}
        )  # fmt: skip
        healthy = sum(1 for a in found if a.robot_id != "aic-sick")
        return days, healthy

    alone, healthy_alone = cooling(replace(cfg, bridge_windows=0))
    bridged_days, healthy_bridged = cooling(cfg)
    assert healthy_alone == healthy_bridged == 0
    # Alone: alarms on the old version, then blind from the update to day 25; bridged: the
    # alarm holds through the update and every day after it.
    assert set(alone) & {13, 14} and not set(alone) & set(range(15, 26))
    assert set(range(16, 30)) <= set(bridged_days), bridged_days
    sick_alarm = [a for a in score_windows(fleet + sick, cfg=cfg).anomalies
                  if a.robot_id == "aic-sick" and a.window_start == DAY0 + timedelta(days=25)]  # fmt: skip
    evidence = sick_alarm[0].evidence
    assert evidence["fw_factor"] > 1.3 and evidence["value"] > 10.8  # the raw reading


def test_an_acknowledged_alarm_starts_its_cusums_again() -> None:
    """Issue 21: a CUSUM never forgot. A +3 % step (z ≈ 3) keeps the cooling CUSUM over h
    every day once it crossed; after the lead acknowledges the alarm (or a repair clears
    it) the component's CUSUMs start again, and the alarm returns only when the evidence
    has built up again. Other components are not reset."""
    rows = windows(["3.2.1"] * 40, [8.0] * 10 + [8.24] * 30)

    def days(resets: list[tuple[datetime, str]] | None) -> list[int]:
        found, _ = score_robot(rows, cfg=ScoringConfig(), resets=resets)
        return sorted(
            (a.window_start - DAY0).days
            for a in found
            if a.detector == "baseline-cusum" and a.kind == "cooling_degradation"
        )

    always = days(None)
    first = always[0]
    assert always == list(range(first, 40))
    ack = DAY0 + timedelta(days=first + 2, hours=15)
    again = days([(ack, "igbt_cooling")])
    assert again[:3] == [first, first + 1, first + 2]
    assert not set(again) & set(range(first + 3, first + 8))  # quiet while it builds up
    assert again[-1] == 39  # ... and back: the step is still there
    assert days([(ack, "stir_drive")]) == always  # another component's reset changes nothing


def test_the_fleet_check_catches_a_robot_that_came_in_degrading() -> None:
    """Issue 21's early onsets: a dosing tube clogging from its first day makes the robot's
    own 7-window baseline a clogging one, and the fault is seen late or not before it
    fails. Against its fleet (eight robots of the same model and firmware) it stands out
    within days; the healthy robots and a robot 2 % off the fleet are not flagged."""
    from dataclasses import replace

    from analytics.scoring import score_windows

    fleet = []
    for n in range(8):
        rows = windows(["3.2.1"] * 20, [8.0] * 20)
        for r in rows:
            r["robot_id"] = f"aic-f-{n}"
        fleet += rows
    offset = windows(["3.2.1"] * 20, [8.0] * 20)
    for r in offset:
        r["robot_id"] = "aic-offset"
        r["pressure_per_flow"] *= 1.02
    clog = windows(["3.2.1"] * 20, [8.0] * 20)
    for i, r in enumerate(clog):
        r["robot_id"] = "aic-clog"
        r["pressure_per_flow"] = 1.5 * (1 + 0.04 * i)  # +4 % a day from its first day
    cfg = ScoringConfig()

    def first_alarm(c: ScoringConfig) -> dict[str, int]:
        found = score_windows(fleet + offset + clog, cfg=c).anomalies
        out: dict[str, int] = {}
        for a in found:
            if a.detector != "rules":
                day = (a.window_start - DAY0).days
                out[a.robot_id] = min(out.get(a.robot_id, day), day)
        return out

    with_fleet = first_alarm(cfg)
    assert set(with_fleet) == {"aic-clog"}  # healthy and 2 % off: quiet
    assert with_fleet["aic-clog"] <= 6  # before its own baseline is even complete
    own_only = first_alarm(replace(cfg, fleet_min_rel_spread=0.0))
    assert own_only.get("aic-clog", 99) > with_fleet["aic-clog"] + 3
    found = score_windows(fleet + offset + clog, cfg=cfg).anomalies
    fz = next(a for a in found if a.detector == "fleet-z")
    assert fz.kind == "dosing_tube_clog" and fz.model_version == "fleet-z/2"
    assert fz.evidence["fleet_centre"] == pytest.approx(1.5, rel=0.02)
    # One window over 5 fleet spreads alarms (+16 % on day 4 against a 3 % spread floor):
    # a day before two windows in a row would, which is what early onsets were missing.
    assert with_fleet["aic-clog"] == 4
    assert first_alarm(replace(cfg, fleet_persist=2))["aic-clog"] == 5
