"""Injected faults: what degrades, how fast, when the robot functionally fails.

Each fault has an onset, a functional-failure time and a progression shape. Its
severity rises from 0 at onset to 1 at failure; physics reads the severity of
each kind, and at failure the robot raises the kind's error code and can no
longer cook properly. This is the ground truth fault models are scored against.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class FaultKind:
    name: str
    component: str
    error_code: str
    gradual: bool
    description: str
    # Typical onset-to-failure duration for random draws (days).
    min_days: float = 0.0
    max_days: float = 0.0


KINDS: dict[str, FaultKind] = {
    k.name: k
    for k in (
        FaultKind(
            "cooling_degradation",
            "igbt_cooling",
            "E203",
            True,
            "fan filter clogs; IGBT runs hotter per kW until over-temperature",
            8,
            30,
        ),
        FaultKind(
            "stir_bearing_wear",
            "stir_drive",
            "E115",
            True,
            "stir gearbox bearing wears; vibration and current under load rise",
            10,
            40,
        ),
        FaultKind(
            "dosing_tube_clog",
            "dosing_pump",
            "E310",
            True,
            "dosing tube clogs; pump pressure for the same flow rises until blocked",
            6,
            25,
        ),
        FaultKind(
            "wok_sensor_drift",
            "wok_temp_sensor",
            "E221",
            True,
            "wok temperature sensor reads high; heater power for a reading falls",
            10,
            35,
        ),
        FaultKind(
            "heating_coil_degradation",
            "induction_coil",
            "E210",
            True,
            "induction coil loses efficiency; heat-up slows, power for a temperature rises",
            10,
            40,
        ),
        FaultKind(
            "exhaust_fan_failure", "exhaust_fan", "E401", False, "exhaust fan stops suddenly"
        ),
    )
}


@dataclass(frozen=True)
class Fault:
    """One injected fault on one robot."""

    robot_id: str
    kind: str
    onset: datetime
    failure: datetime
    shape: float = 2.0  # severity = progress ** shape: slow start, faster near failure

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {sorted(KINDS)}")
        if self.failure < self.onset:
            raise ValueError(f"{self.robot_id} {self.kind}: failure before onset")

    @property
    def error_code(self) -> str:
        return KINDS[self.kind].error_code

    @property
    def component(self) -> str:
        return KINDS[self.kind].component

    def severity(self, t: datetime) -> float:
        """0 before onset, rising to 1 at the functional failure, 1 after."""
        if t < self.onset:
            return 0.0
        if t >= self.failure:
            return 1.0
        span = (self.failure - self.onset).total_seconds()
        return float(((t - self.onset).total_seconds() / span) ** self.shape)

    def failed(self, t: datetime) -> bool:
        return t >= self.failure


def draw_faults(
    robot_ids: list[str],
    *,
    start: datetime,
    end: datetime,
    fraction: float,
    seed: int,
    kinds: list[str] | None = None,
    speed: float = 1.0,
    onset_days: tuple[float, float] | None = None,
) -> list[Fault]:
    """Draw one fault for about ``fraction`` of the robots; the rest stay healthy.

    Deterministic for a seed. Gradual faults start after a healthy stretch of at
    least a quarter of the window, so detectors have healthy data to learn from —
    unless ``onset_days`` places onsets (and sudden failures) elsewhere. ``speed``
    divides each kind's onset-to-failure span (0.4: 2.5 times slower).
    """
    rng = random.Random(f"faults:{seed}")
    names = kinds or sorted(KINDS)
    window = (end - start).total_seconds()
    out: list[Fault] = []
    for robot_id in sorted(robot_ids):
        if rng.random() >= fraction:
            continue
        kind = KINDS[rng.choice(names)]
        if kind.gradual:
            days = rng.uniform(kind.min_days, kind.max_days) / speed
            span = min(days * 86400, window * 0.7 / speed)
            if onset_days is not None:
                onset_s = rng.uniform(onset_days[0] * 86400, min(window, onset_days[1] * 86400))
            else:
                latest_onset = window - span * 0.5  # failure may fall after the window end
                onset_s = rng.uniform(window * 0.25, max(window * 0.25 + 1, latest_onset))
            onset = start + timedelta(seconds=onset_s)
            out.append(
                Fault(
                    robot_id,
                    kind.name,
                    onset,
                    onset + timedelta(seconds=span),
                    shape=rng.uniform(1.5, 2.5),
                )
            )
        else:
            lo, hi = (
                (onset_days[0] * 86400, min(window, onset_days[1] * 86400))
                if onset_days is not None
                else (window * 0.25, window * 0.95)
            )
            at = start + timedelta(seconds=rng.uniform(lo, hi))
            out.append(Fault(robot_id, kind.name, at, at, shape=1.0))
    return out
