"""Fixtures for simulator tests: the example fleet and a fixed window."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from core.fleet import Fleet
from firmware_sim.engine import Simulation, build_simulation
from firmware_sim.scenario import Scenario

END = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)


def simulate(fleet: Fleet, **kw: Any) -> tuple[Simulation, list[dict[str, Any]]]:
    """Run a scenario and return the simulation and every telemetry reading, decoded."""
    sim = build_simulation(fleet, Scenario(end=END, **kw))
    readings: list[dict[str, Any]] = []
    for m in sim.messages():
        if m.kind == "telemetry" and not m.malformed:
            body = json.loads(m.payload)
            readings.extend(body.get("batch", [body]))
    return sim, readings
