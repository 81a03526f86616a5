"""A simulated fleet: every robot's messages merged in time order, plus the ground truth."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from core.fleet import Fleet
from firmware_sim.faults import Fault, draw_faults
from firmware_sim.kitchen import kitchens_from_fleet
from firmware_sim.robot import SimRobot
from firmware_sim.scenario import Scenario
from firmware_sim.specs import RobotSpec, SimMessage


@dataclass
class Simulation:
    scenario: Scenario
    robots: list[SimRobot]
    faults: list[Fault]
    start: datetime
    end: datetime

    def messages(self) -> Iterator[SimMessage]:
        """All robots' messages merged by simulated publish time (deterministic)."""
        return heapq.merge(
            *(r.messages(self.start, self.end) for r in self.robots),
            key=lambda m: (m.at, m.robot_id),
        )

    def counts(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for r in self.robots:
            for k, v in r.counts.items():
                total[k] = total.get(k, 0) + v
        return total


def build_simulation(fleet: Fleet, scenario: Scenario) -> Simulation:
    """Robots of the fleet (or the scenario's subset) with their kitchens, faults and updates."""
    start, end = scenario.window()
    kitchens = kitchens_from_fleet(fleet, scenario.seed)
    models = {m.code: m for m in fleet.models}
    specs = [
        RobotSpec(
            r.id,
            r.model,
            models[r.model].heater_max_w,
            r.firmware,
            r.install_date,
            kitchens[site.id],
        )
        for site, r in fleet.robots()
        if scenario.robots is None or r.id in scenario.robots
    ]
    if scenario.robots is not None:
        missing = set(scenario.robots) - {s.robot_id for s in specs}
        if missing:
            raise ValueError(f"robots not in the fleet: {sorted(missing)}")
    if scenario.max_robots is not None:
        specs = specs[: scenario.max_robots]
    ids = [s.robot_id for s in specs]
    faults = scenario.explicit_faults(start)
    unknown = {f.robot_id for f in faults} - set(ids)
    if unknown:
        raise ValueError(f"faults name robots outside the simulation: {sorted(unknown)}")
    explicit = {f.robot_id for f in faults}
    if scenario.random_faults.fraction:
        faults += draw_faults(
            [i for i in ids if i not in explicit],
            start=start,
            end=end,
            fraction=scenario.random_faults.fraction,
            seed=scenario.seed,
            kinds=scenario.random_faults.kinds,
            speed=scenario.random_faults.speed,
            onset_days=scenario.random_faults.onset_days,
        )
    by_robot: dict[str, list[Fault]] = {}
    for f in faults:
        by_robot.setdefault(f.robot_id, []).append(f)
    updates = scenario.updates(start)
    robots = [
        SimRobot(
            spec,
            seed=scenario.seed,
            faults=by_robot.get(spec.robot_id, []),
            updates=updates,
            sample_s=scenario.sample_s,
            batch=scenario.batch,
            network=scenario.network_options(),
            origin=start,
            noise=scenario.noise,
            aging_per_100_days=scenario.aging_per_100_days,
        )
        for spec in specs
    ]
    return Simulation(scenario, robots, faults, start, end)
