"""Scenario files: which faults, firmware updates and network conditions to simulate.

```yaml
seed: 7
days: 30                    # simulated window ends now (or at `end`)
sample_s: 30
batch: 1
random_faults: {fraction: 0.3, kinds: [cooling_degradation, stir_bearing_wear],
                speed: 1.0,            # 0.4 = faults progress 2.5x slower
                onset_days: [0, 10]}   # default: onset after the first quarter
noise: 1.0                  # sensor noise, x the physics' standard deviations
aging_per_100_days: 0.0     # healthy wear of every robot (cooling, bearing, tube)
faults:                     # explicit faults; times relative to the window start
  - {robot: aic-bj-00001, kind: cooling_degradation, onset_day: 10, failure_day: 24}
  - {robot: aic-sz-00040, kind: exhaust_fan_failure, onset_day: 20}
firmware_updates:
  - {day: 12, version: "3.3.0", models: [AIC-W1], igbt_offset_c: 6.0}
network: {clock_skew_s: 2, duplicate_rate: 0.01, malformed_rate: 0.001, flaps_per_day: 0.2}
```
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from firmware_sim.faults import KINDS, Fault
from firmware_sim.specs import FirmwareUpdate, NetworkOptions


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FaultEntry(_M):
    robot: str
    kind: str
    onset_day: float = Field(ge=0)
    failure_day: float | None = Field(default=None, ge=0)
    shape: float = Field(default=2.0, gt=0)


class UpdateEntry(_M):
    day: float = Field(ge=0)
    version: str
    models: list[str] = Field(default_factory=list)
    robots: list[str] = Field(default_factory=list)
    igbt_offset_c: float = 0.0


class RandomFaults(_M):
    fraction: float = Field(default=0.0, ge=0, le=1)
    kinds: list[str] | None = None
    # Progression speed: 1 = each kind's typical onset-to-failure span; 0.4 = 2.5x slower.
    speed: float = Field(default=1.0, gt=0, le=20)
    # Onset between these days of the window (default: after the first quarter).
    onset_days: tuple[float, float] | None = None

    @model_validator(mode="after")
    def _onset_order(self) -> RandomFaults:
        if self.onset_days is not None and not 0 <= self.onset_days[0] <= self.onset_days[1]:
            raise ValueError("onset_days: [first, last] with 0 <= first <= last")
        return self


class NetworkEntry(_M):
    clock_skew_s: float = Field(default=0.0, ge=0)
    duplicate_rate: float = Field(default=0.0, ge=0, le=1)
    malformed_rate: float = Field(default=0.0, ge=0, le=1)
    flaps_per_day: float = Field(default=0.0, ge=0)
    flap_minutes: float = Field(default=20.0, gt=0)


class Scenario(_M):
    seed: int = 1
    days: float = Field(default=7.0, gt=0)
    end: datetime | None = None
    start: datetime | None = None  # set for real-time runs: the window starts here instead
    sample_s: float = Field(default=30.0, ge=1, le=600)
    batch: int = Field(default=1, ge=1, le=500)
    robots: list[str] | None = None  # default: the whole fleet
    max_robots: int | None = Field(default=None, ge=1)
    random_faults: RandomFaults = Field(default_factory=RandomFaults)
    faults: list[FaultEntry] = Field(default_factory=list)
    firmware_updates: list[UpdateEntry] = Field(default_factory=list)
    network: NetworkEntry = Field(default_factory=NetworkEntry)
    noise: float = Field(default=1.0, ge=0, le=10)  # sensor noise, x the physics' sd
    aging_per_100_days: float = Field(default=0.0, ge=0, le=1)  # healthy wear, severity units

    def window(self) -> tuple[datetime, datetime]:
        """[start, end): by default the ``days`` up to now (history); with ``start``, from there on."""
        if self.start is not None:
            start = self.start.astimezone(UTC).replace(microsecond=0)
            return start, start + timedelta(days=self.days)
        end = (self.end or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
        return end - timedelta(days=self.days), end

    def explicit_faults(self, start: datetime) -> list[Fault]:
        out = []
        for i, f in enumerate(self.faults):
            if f.kind not in KINDS:
                raise ValueError(f"faults[{i}].kind: unknown {f.kind!r}; known: {sorted(KINDS)}")
            onset = start + timedelta(days=f.onset_day)
            if KINDS[f.kind].gradual:
                if f.failure_day is None or f.failure_day <= f.onset_day:
                    raise ValueError(f"faults[{i}]: a gradual fault needs failure_day > onset_day")
                failure = start + timedelta(days=f.failure_day)
            else:
                failure = onset
            out.append(Fault(f.robot, f.kind, onset, failure, f.shape))
        return out

    def updates(self, start: datetime) -> list[FirmwareUpdate]:
        return [
            FirmwareUpdate(
                start + timedelta(days=u.day),
                u.version,
                tuple(u.models),
                tuple(u.robots),
                u.igbt_offset_c,
            )
            for u in self.firmware_updates
        ]

    def network_options(self) -> NetworkOptions:
        return NetworkOptions(**self.network.model_dump())


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario YAML; errors name the field."""
    try:
        doc: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return Scenario.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ValueError(f"{path}: {where}: {err['msg']}") from exc
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
