"""The wire contract between firmware_sim and ingest, pinned by a test (never by an import).

Every kind of message the simulator produces goes through ingest's parser:
well-formed ones parse with no rejection; deliberately malformed ones are rejected.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from core.fleet import Fleet
from firmware_sim.engine import build_simulation
from firmware_sim.scenario import Scenario
from ingest.messages import parse_message

END = datetime(2026, 11, 1, tzinfo=UTC)


def test_every_simulator_message_satisfies_the_contract(fleet: Fleet) -> None:
    """Singles, batches, events of every type, status, duplicates and skewed clocks all parse."""
    scenario = Scenario(
        end=END,
        days=10,
        max_robots=8,
        seed=2,
        sample_s=60,
        random_faults={"fraction": 1.0},
        faults=[{"robot": "aic-bj-00001", "kind": "exhaust_fan_failure", "onset_day": 5}],
        firmware_updates=[{"day": 2, "version": "3.3.0"}],
        network={"clock_skew_s": 3, "duplicate_rate": 0.02, "flaps_per_day": 1},
    )
    kinds: set[str] = set()
    event_types: set[str] = set()
    for batch in (1, 20):
        sim = build_simulation(fleet, scenario.model_copy(update={"batch": batch}))
        now = END + timedelta(minutes=1)
        for m in sim.messages():
            parsed = parse_message(m.topic, m.payload, now=now)
            assert not parsed.rejections, (m.topic, m.payload[:200], parsed.rejections)
            kinds.add(
                parsed.kind
                if not parsed.readings or (len(parsed.readings) == 1 and batch == 1)
                else "batch"
            )
            if parsed.event is not None:
                event_types.add(parsed.event.type)
            if parsed.status is not None and m.retain:
                kinds.add("retained-status")
    assert {"telemetry", "batch", "event", "status", "retained-status"} <= kinds
    assert {"boot", "fault", "firmware_updated", "cleaning_done"} <= event_types


def test_malformed_messages_are_rejected(fleet: Fleet) -> None:
    """Every message the simulator corrupts on purpose gets a quarantine reason."""
    scenario = Scenario(
        end=END, days=3, max_robots=6, seed=4, sample_s=60, network={"malformed_rate": 0.05}
    )
    sim = build_simulation(fleet, scenario)
    malformed = [m for m in sim.messages() if m.malformed]
    assert len(malformed) > 20
    for m in malformed:
        parsed = parse_message(m.topic, m.payload, now=END)
        assert parsed.rejections and not parsed.readings, m.payload[:120]


def test_last_will_payload_satisfies_the_contract() -> None:
    """The robot's last will (`{"online": false}`, no ts) is a valid status."""
    p = parse_message(
        "aic/v1/aic-bj-00001/status",
        json.dumps({"online": False}).encode(),
        now=datetime(2026, 12, 1, tzinfo=UTC),
    )
    assert p.status is not None and not p.status.online and not p.rejections
