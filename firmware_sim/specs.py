"""What a simulated robot is (model, heater, firmware, kitchen), what may happen to it
(firmware updates, an unreliable network) and what it sends (a message on the contract)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from firmware_sim.kitchen import Kitchen


@dataclass(frozen=True)
class FirmwareUpdate:
    at: datetime
    version: str
    models: tuple[str, ...] = ()  # empty = every model
    robots: tuple[str, ...] = ()  # empty = every robot of those models
    igbt_offset_c: float = 0.0  # the update's side effect on the IGBT temperature

    def applies_to(self, robot_id: str, model: str) -> bool:
        return (not self.models or model in self.models) and (
            not self.robots or robot_id in self.robots
        )


@dataclass(frozen=True)
class NetworkOptions:
    clock_skew_s: float = 0.0  # sd of a constant per-robot clock offset
    duplicate_rate: float = 0.0  # probability a message is sent twice
    malformed_rate: float = 0.0  # probability a telemetry message is corrupted
    flaps_per_day: float = 0.0  # connectivity losses per robot per day
    flap_minutes: float = 20.0  # mean outage length


@dataclass(frozen=True)
class RobotSpec:
    robot_id: str
    model: str
    heater_max_w: float
    firmware: str
    install: date
    kitchen: Kitchen


@dataclass(frozen=True)
class SimMessage:
    at: datetime  # simulated time the robot publishes it
    robot_id: str
    topic: str
    payload: bytes
    retain: bool = False
    kind: str = "telemetry"
    malformed: bool = False
    # What ``payload`` encodes, for in-process consumers (the backfill into the database
    # skips decoding it again); None when malformed or not kept.
    body: object = field(default=None, compare=False, repr=False)

    def __lt__(self, other: SimMessage) -> bool:  # for heapq.merge ties
        return (self.at, self.robot_id) < (other.at, other.robot_id)
