"""Simulator outputs: JSONL round trip, MQTT with per-robot outboxes across a broker restart, CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from cli.main import app
from core.fleet import Fleet
from core.settings import parse_mqtt_url
from firmware_sim.engine import build_simulation
from firmware_sim.outputs import JsonlSink, MqttSink, read_jsonl
from firmware_sim.scenario import Scenario
from tests.brokers import ProjectBroker
from tests.firmware_sim.conftest import END
from tests.ingest.helpers import count, wait_until


def test_jsonl_round_trip(tmp_path: Path, fleet: Fleet) -> None:
    """What the JSONL sink writes reads back byte for byte, malformed payloads included."""
    sim = build_simulation(
        fleet, Scenario(end=END, days=1, max_robots=3, seed=1, network={"malformed_rate": 0.05})
    )
    sink = JsonlSink(tmp_path / "out.jsonl")
    sent = list(sim.messages())
    for m in sent:
        sink.send(m)
    sink.close()
    back = list(read_jsonl(tmp_path / "out.jsonl"))
    assert [(m.topic, m.payload, m.retain) for m in sent] == back


@pytest.mark.broker
def test_outbox_replays_after_broker_restart(
    fleet: Fleet, fresh_db: str, project_broker: ProjectBroker, start_ingest: Callable[..., Any]
) -> None:
    """Robots keep publishing while the broker restarts; their outboxes replay; nothing is lost."""
    from datetime import UTC, datetime, timedelta

    start_ingest(fresh_db, project_broker.url)
    end = datetime.now(UTC) - timedelta(minutes=1)
    sim = build_simulation(fleet, Scenario(end=end, days=1, max_robots=4, seed=1, sample_s=60))
    messages = list(sim.messages())
    readings = sum(1 for m in messages if m.kind == "telemetry")
    sink = MqttSink(parse_mqtt_url(project_broker.url))
    half = len(messages) // 2
    for m in messages[:half]:
        sink.send(m)
    project_broker.stop()
    for m in messages[half:]:
        sink.send(m)  # broker down: into the outboxes
    assert sink.pending() > 0
    project_broker.start()
    assert sink.close(timeout_s=60) == 0
    stored = lambda: count(fresh_db, "SELECT count(*) FROM telemetry")  # noqa: E731
    try:
        wait_until(lambda: stored() == readings, timeout_s=30)
    finally:
        print(
            "expected",
            readings,
            "stored",
            stored(),
            "quarantined",
            count(fresh_db, "SELECT count(*) FROM quarantine"),
        )


@pytest.mark.broker
def test_cli_sim_to_broker_writes_ground_truth(
    tmp_path: Path, fresh_db: str, project_broker: ProjectBroker
) -> None:
    """`aic sim` publishes, writes the ground-truth file, and stores it in fault_ground_truth."""
    gt = tmp_path / "gt.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "sim",
            "--days",
            "2",
            "--robots",
            "6",
            "--faults",
            "1.0",
            "--seed",
            "3",
            "--ground-truth",
            str(gt),
            "--run-id",
            "cli-test",
        ],
        env={
            "AIC_DATABASE_URL": fresh_db,
            "AIC_MQTT_URL": project_broker.url,
            "AIC_STATE_DIR": str(tmp_path),
        },
    )
    assert result.exit_code == 0, result.output
    assert "unacknowledged: 0" in result.output
    lines = [json.loads(x) for x in gt.read_text().splitlines()]
    assert len(lines) == 6
    with psycopg.connect(fresh_db) as conn:
        stored = conn.execute(
            "SELECT robot_id, kind FROM fault_ground_truth WHERE run_id = 'cli-test' ORDER BY 1"
        ).fetchall()
    assert stored == sorted((x["robot_id"], x["kind"]) for x in lines)


def test_cli_sim_to_file_and_bad_scenario(tmp_path: Path) -> None:
    """--out writes JSONL without a broker; a bad scenario file is a clear error naming the field."""
    out = tmp_path / "sim.jsonl"
    env = {"AIC_STATE_DIR": str(tmp_path)}
    ok = CliRunner().invoke(
        app, ["sim", "--days", "1", "--robots", "2", "--out", str(out)], env=env
    )
    assert ok.exit_code == 0, ok.output
    assert out.stat().st_size > 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("days: -3\n")
    res = CliRunner().invoke(app, ["sim", "--scenario", str(bad), "--out", str(out)], env=env)
    assert res.exit_code == 2 and "days" in res.output
    bad.write_text("faults: [{robot: aic-bj-00001, kind: gremlins, onset_day: 1}]\n")
    res = CliRunner().invoke(app, ["sim", "--scenario", str(bad), "--out", str(out)], env=env)
    assert res.exit_code == 2 and "gremlins" in res.output


def test_simulator_and_ingest_over_the_amqtt_fallback(
    fleet: Fleet, fresh_db: str, tmp_path: Path, start_ingest: Callable[..., Any]
) -> None:
    """On a machine without mosquitto the demo's broker is amqtt (MQTT 3.1.1 only): robots and
    ingest speak 3.1.1 to it and every reading arrives."""
    from datetime import UTC, datetime, timedelta

    from core.embedded import EmbeddedBroker

    broker = EmbeddedBroker(tmp_path / "amqtt", prefer="amqtt")
    url = broker.start()
    try:
        start_ingest(fresh_db, url, protocol="3.1.1")
        end = datetime.now(UTC) - timedelta(minutes=1)
        sim = build_simulation(
            fleet, Scenario(end=end, days=1, max_robots=3, seed=2, sample_s=120, batch=5)
        )
        messages = list(sim.messages())
        sink = MqttSink(parse_mqtt_url(url), protocol="3.1.1")
        for m in messages:
            sink.send(m)
        assert sink.close(timeout_s=60) == 0
        readings = sim.counts()["readings"]
        wait_until(
            lambda: count(fresh_db, "SELECT count(*) FROM telemetry") == readings, timeout_s=30
        )
    finally:
        broker.stop()
