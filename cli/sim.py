"""``aic sim``: run the simulated fleet into the broker or a JSONL file."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer

from cli.context import console, fail, runtime, settings_or_exit

REPO_FLEET = Path(__file__).resolve().parent.parent / "examples" / "fleet.yaml"


def sim(
    scenario_file: Path | None = typer.Option(None, "--scenario", help="scenario YAML"),
    fleet_file: Path = typer.Option(REPO_FLEET, "--fleet", help="fleet YAML the robots come from"),
    days: float | None = typer.Option(None, help="simulated days (default 7, or the scenario's)"),
    seed: int | None = typer.Option(None, help="random seed (deterministic output)"),
    robots: int | None = typer.Option(
        None, "--robots", min=1, help="simulate only the first N robots"
    ),
    faults: float | None = typer.Option(
        None, "--faults", min=0, max=1, help="fraction of robots given a random fault"
    ),
    sample_s: float | None = typer.Option(None, "--sample-s", help="seconds between readings"),
    batch: int | None = typer.Option(None, "--batch", help="readings per telemetry message"),
    speed: float = typer.Option(
        0.0, help="simulated seconds per wall second; 0 = as fast as possible"
    ),
    realtime: bool = typer.Option(False, help="start now and run forward at --speed (default 1)"),
    end: datetime | None = typer.Option(
        None, help="end of the simulated window (default now, UTC)"
    ),
    out: Path | None = typer.Option(None, "--out", help="write JSONL here instead of publishing"),
    to_db: bool = typer.Option(
        False,
        "--to-db",
        help="store straight into the database through ingest's writer (no broker)",
    ),
    ground_truth: Path | None = typer.Option(
        None, help="ground-truth JSONL (default in the state dir)"
    ),
    run_id: str | None = typer.Option(None, help="name of this run in fault_ground_truth"),
    no_db: bool = typer.Option(False, "--no-db", help="do not write ground truth to the database"),
    skew_s: float | None = typer.Option(
        None, "--clock-skew-s", help="sd of per-robot clock offsets"
    ),
    dup_rate: float | None = typer.Option(
        None, "--duplicate-rate", help="probability of resending"
    ),
    malformed_rate: float | None = typer.Option(
        None, "--malformed-rate", help="probability of a corrupt message"
    ),
    flaps: float | None = typer.Option(
        None, "--flaps-per-day", help="connection losses per robot-day"
    ),
    credentials: Path | None = typer.Option(None, help="file of robot_id:password lines"),
) -> None:
    """Simulate the fleet: kitchens, physics and labelled faults, on the telemetry contract."""
    from core.fleet import load_fleet_file
    from firmware_sim.engine import build_simulation
    from firmware_sim.scenario import Scenario, load_scenario

    try:
        scenario = load_scenario(scenario_file) if scenario_file else Scenario()
    except ValueError as exc:
        raise fail(str(exc)) from exc
    settings = settings_or_exit()
    now = settings.clock().now()
    over: dict[str, object] = {}
    for key, value in (
        ("days", days),
        ("seed", seed),
        ("max_robots", robots),
        ("sample_s", sample_s),
        ("batch", batch),
    ):
        if value is not None:
            over[key] = value
    if end is not None:
        over["end"] = end if end.tzinfo else end.replace(tzinfo=UTC)
    elif scenario.end is None:
        over["end"] = now
    if realtime:
        over["start"] = now
        speed = speed or 1.0
    if faults is not None:
        over["random_faults"] = scenario.random_faults.model_copy(update={"fraction": faults})
    net = {
        k: v
        for k, v in (
            ("clock_skew_s", skew_s),
            ("duplicate_rate", dup_rate),
            ("malformed_rate", malformed_rate),
            ("flaps_per_day", flaps),
        )
        if v is not None
    }
    if net:
        over["network"] = scenario.network.model_copy(update=net)
    scenario = scenario.model_copy(update=over)
    try:
        simulation = build_simulation(load_fleet_file(fleet_file), scenario)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    run = run_id or f"sim-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    gt_path = ground_truth or settings.state_dir / "ground_truth" / f"{run}.jsonl"
    from firmware_sim.ground_truth import store, write_file

    write_file(gt_path, simulation.faults, run_id=run, seed=scenario.seed)
    console.print(
        f"{len(simulation.robots)} robots, {len(simulation.faults)} injected faults; "
        f"window {simulation.start:%Y-%m-%d %H:%M} → {simulation.end:%Y-%m-%d %H:%M} UTC"
    )
    console.print(f"ground truth: {gt_path}")
    if out is not None:
        _run_to_file(simulation, out, speed)
        return
    with runtime(need_broker=not to_db) as rt:
        if to_db:
            run_to_db(simulation, rt.services.database_url)
            with rt.pool.connection() as conn:
                store(conn, simulation.faults, run_id=run, seed=scenario.seed)
            return
        if not no_db:
            with rt.pool.connection() as conn:
                store(conn, simulation.faults, run_id=run, seed=scenario.seed)
        from core.settings import parse_mqtt_url
        from firmware_sim.outputs import MqttSink, pace

        passwords = _read_credentials(credentials) if credentials else None
        sink = MqttSink(
            parse_mqtt_url(rt.services.mqtt_url),
            passwords=passwords,
            protocol=rt.services.mqtt_protocol,
        )
        started = time.monotonic()
        for m in pace(simulation.messages(), speed=speed, start=simulation.start):
            sink.send(m)
        left = sink.close()
        elapsed = time.monotonic() - started
        console.print(
            f"published {sink.sent} messages in {elapsed:.1f} s "
            f"({simulation.counts()['readings']} readings); unacknowledged: {left}"
        )
        if left:
            raise typer.Exit(1)


def _run_to_file(simulation: object, out: Path, speed: float) -> None:
    from firmware_sim.engine import Simulation
    from firmware_sim.outputs import JsonlSink, pace

    assert isinstance(simulation, Simulation)
    sink = JsonlSink(out)
    for m in pace(simulation.messages(), speed=speed, start=simulation.start):
        sink.send(m)
    sink.close()
    console.print(f"wrote {sink.sent} messages to {out} ({simulation.counts()})")


def _read_credentials(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            robot, _, password = line.partition(":")
            out[robot.strip()] = password.strip()
    return out


def run_to_db(simulation: object, database_url: str) -> None:
    """Feed the simulation through ingest's parser and writer, without MQTT (backfills, backtests)."""
    import queue

    import psycopg

    from core.clock import FixedClock
    from firmware_sim.engine import Simulation
    from ingest.messages import parse_message
    from ingest.metrics import IngestMetrics
    from ingest.writer import Inbound, Writer, WriterConfig

    assert isinstance(simulation, Simulation)
    inbox: queue.Queue[Inbound] = queue.Queue(maxsize=5000)
    metrics = IngestMetrics()
    writer = Writer(
        connect=lambda: psycopg.connect(database_url, autocommit=True),
        inbox=inbox,
        ack=lambda m: None,
        metrics=metrics,
        config=WriterConfig(batch_messages=500, flush_interval_s=0.2),
        clock=FixedClock(simulation.end + timedelta(minutes=1)),
    )
    writer.start()
    started = time.monotonic()
    now = simulation.end + timedelta(minutes=1)
    for i, m in enumerate(simulation.messages()):
        inbox.put(
            Inbound(
                m.topic, m.payload, i, 1, 0, parse_message(m.topic, m.payload, now=now), time.time()
            )
        )
    writer.stop()
    writer.join()
    if writer.error is not None:
        raise fail(f"writer failed: {writer.error!r}", code=1)
    console.print(
        f"stored {metrics.value('aic_ingest_rows_written_total'):.0f} readings in "
        f"{time.monotonic() - started:.1f} s; quarantined "
        f"{metrics.total('aic_ingest_quarantined'):.0f}"
    )
