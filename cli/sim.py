"""``aic sim``: run the simulated fleet into the broker or a JSONL file."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.context import console, fail, runtime, settings_or_exit

REPO_FLEET = Path(__file__).resolve().parent.parent / "examples" / "fleet.yaml"


Opt = typer.Option
ScenarioFile = Annotated[Path | None, Opt("--scenario", help="scenario YAML")]
FleetFile = Annotated[Path, Opt("--fleet", help="fleet YAML the robots come from")]
Days = Annotated[float | None, Opt(help="simulated days (default 7, or the scenario's)")]
Seed = Annotated[int | None, Opt(help="random seed (deterministic output)")]
Robots = Annotated[int | None, Opt("--robots", min=1, help="simulate only the first N robots")]
Faults = Annotated[
    float | None, Opt("--faults", min=0, max=1, help="fraction of robots given a random fault")
]
SampleS = Annotated[float | None, Opt("--sample-s", help="seconds between readings")]
Batch = Annotated[int | None, Opt("--batch", help="readings per telemetry message")]
Speed = Annotated[float, Opt(help="simulated seconds per wall second; 0 = as fast as possible")]
Realtime = Annotated[bool, Opt(help="start now and run forward at --speed (default 1)")]
End = Annotated[datetime | None, Opt(help="end of the simulated window (default now, UTC)")]
Out = Annotated[Path | None, Opt("--out", help="write JSONL here instead of publishing")]
ToDb = Annotated[
    bool, Opt("--to-db", help="store straight into the database through ingest's writer")
]
GroundTruth = Annotated[Path | None, Opt(help="ground-truth JSONL (default in the state dir)")]
RunId = Annotated[str | None, Opt(help="name of this run in fault_ground_truth")]
NoDb = Annotated[bool, Opt("--no-db", help="do not write ground truth to the database")]
Skew = Annotated[float | None, Opt("--clock-skew-s", help="sd of per-robot clock offsets")]
DupRate = Annotated[float | None, Opt("--duplicate-rate", help="probability of resending")]
Malformed = Annotated[
    float | None, Opt("--malformed-rate", help="probability of a corrupt message")
]
Flaps = Annotated[float | None, Opt("--flaps-per-day", help="connection losses per robot-day")]
Credentials = Annotated[Path | None, Opt(help="file of robot_id:password lines")]
Workers = Annotated[
    int, Opt("--workers", min=1, max=64, help="with --to-db: store processes (robots split)")
]
Noise = Annotated[float | None, Opt("--noise", min=0, max=10, help="sensor noise x (1 = default)")]
FaultSpeed = Annotated[
    float | None,
    Opt("--fault-speed", min=0.05, max=20, help="fault progression speed (0.4 = 2.5x slower)"),
]
OnsetDays = Annotated[
    tuple[float, float] | None,
    Opt("--onset-days", help="random faults start between these two days of the window"),
]
Aging = Annotated[
    float | None,
    Opt("--aging", min=0, max=1, help="healthy wear of every robot, severity per 100 days"),
]


def sim(
    scenario_file: ScenarioFile = None,
    fleet_file: FleetFile = REPO_FLEET,
    days: Days = None,
    seed: Seed = None,
    robots: Robots = None,
    faults: Faults = None,
    sample_s: SampleS = None,
    batch: Batch = None,
    speed: Speed = 0.0,
    realtime: Realtime = False,
    end: End = None,
    out: Out = None,
    to_db: ToDb = False,
    ground_truth: GroundTruth = None,
    run_id: RunId = None,
    no_db: NoDb = False,
    skew_s: Skew = None,
    dup_rate: DupRate = None,
    malformed_rate: Malformed = None,
    flaps: Flaps = None,
    credentials: Credentials = None,
    noise: Noise = None,
    fault_speed: FaultSpeed = None,
    onset_days: OnsetDays = None,
    aging: Aging = None,
    workers: Workers = 1,
) -> None:
    """Simulate the fleet: kitchens, physics and labelled faults, on the telemetry contract."""
    from core.fleet import load_fleet_file
    from firmware_sim.engine import build_simulation
    from firmware_sim.ground_truth import write_file

    settings = settings_or_exit()
    now = settings.clock().now()
    scenario = _scenario(
        scenario_file,
        now=now,
        realtime=realtime,
        end=end,
        faults={"fraction": faults, "speed": fault_speed, "onset_days": onset_days},
        plain=dict(
            days=days,
            seed=seed,
            max_robots=robots,
            sample_s=sample_s,
            noise=noise,
            aging_per_100_days=aging,
        ),
        batch=batch,
        network=_network(skew_s, dup_rate, malformed_rate, flaps),
    )
    speed = (speed or 1.0) if realtime else speed
    try:
        simulation = build_simulation(load_fleet_file(fleet_file), scenario)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    run = run_id or f"sim-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    gt_path = ground_truth or settings.state_dir / "ground_truth" / f"{run}.jsonl"
    write_file(gt_path, simulation.faults, run_id=run, seed=scenario.seed)
    console.print(
        f"{len(simulation.robots)} robots, {len(simulation.faults)} injected faults; "
        f"window {simulation.start:%Y-%m-%d %H:%M} → {simulation.end:%Y-%m-%d %H:%M} UTC"
    )
    console.print(f"ground truth: {gt_path}")
    if out is not None:
        _run_to_file(simulation, out, speed)
        return
    _deliver(
        simulation,
        run=run,
        seed=scenario.seed,
        to_db=to_db,
        no_db=no_db,
        credentials=credentials,
        speed=speed,
        workers=workers,
    )


def _network(
    skew_s: float | None, dup_rate: float | None, malformed: float | None, flaps: float | None
) -> dict[str, float | None]:
    return {
        "clock_skew_s": skew_s,
        "duplicate_rate": dup_rate,
        "malformed_rate": malformed,
        "flaps_per_day": flaps,
    }


def _scenario(
    path: Path | None,
    *,
    now: datetime,
    realtime: bool,
    end: datetime | None,
    faults: dict[str, object],
    plain: dict[str, object],
    batch: int | None,
    network: dict[str, float | None],
) -> Any:
    """The scenario file (or the default scenario) with the command line's overrides."""
    from firmware_sim.scenario import Scenario, load_scenario

    try:
        scenario = load_scenario(path) if path else Scenario()
    except ValueError as exc:
        raise fail(str(exc)) from exc
    over = {k: v for k, v in (plain | {"batch": batch}).items() if v is not None}
    if end is not None:
        over["end"] = end if end.tzinfo else end.replace(tzinfo=UTC)
    elif scenario.end is None:
        over["end"] = now
    if realtime:
        over["start"] = now
    random = {k: v for k, v in faults.items() if v is not None}
    if random:
        try:
            over["random_faults"] = type(scenario.random_faults).model_validate(
                scenario.random_faults.model_dump() | random
            )
        except ValueError as exc:
            raise fail(f"random faults: {exc}") from exc
    net = {k: v for k, v in network.items() if v is not None}
    if net:
        over["network"] = scenario.network.model_copy(update=net)
    return scenario.model_copy(update=over)


def _deliver(
    simulation: Any,
    *,
    run: str,
    seed: int,
    to_db: bool,
    no_db: bool,
    credentials: Path | None,
    speed: float,
    workers: int = 1,
) -> None:
    """Store the ground truth, then the messages: straight into the database, or published."""
    from core.settings import parse_mqtt_url
    from firmware_sim.ground_truth import store
    from firmware_sim.outputs import MqttSink, pace

    with runtime(need_broker=not to_db) as rt:
        if to_db:
            run_to_db(simulation, rt.services.database_url, workers=workers)
        if to_db or not no_db:
            with rt.pool.connection() as conn:
                store(conn, simulation.faults, run_id=run, seed=seed)
        if to_db:
            return
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


def run_to_db(simulation: object, database_url: str, *, workers: int = 1) -> int:
    """Feed the simulation through ingest's parser and writer, without MQTT (backfills,
    backtests); returns the readings stored. With ``workers`` > 1 the robots are split
    across that many forked processes (each robot's messages stay in one process, in
    order), which stores exactly the same rows."""
    from firmware_sim.engine import Simulation

    assert isinstance(simulation, Simulation)
    started = time.monotonic()
    if workers <= 1 or len(simulation.robots) < 2:
        stored, quarantined = _store(simulation, database_url)
    else:
        stored, quarantined = _store_forked(simulation, database_url, workers)
    console.print(
        f"stored {stored} readings in {time.monotonic() - started:.1f} s; quarantined {quarantined}"
    )
    return stored


def _store_forked(simulation: Any, database_url: str, workers: int) -> tuple[int, int]:
    import multiprocessing
    from dataclasses import replace

    ctx = multiprocessing.get_context("fork")
    results: Any = ctx.Queue()

    def part(i: int) -> None:
        try:
            sub = replace(simulation, robots=simulation.robots[i::workers])
            results.put((i, *_store(sub, database_url), None))
        except BaseException as exc:  # reported to the parent, which fails
            results.put((i, 0, 0, repr(exc)))

    procs = [ctx.Process(target=part, args=(i,), daemon=True) for i in range(workers)]
    for p in procs:
        p.start()
    outcomes = [results.get() for _ in procs]
    for p in procs:
        p.join()
    errors = [f"worker {i}: {err}" for i, _, _, err in outcomes if err]
    if errors:
        raise fail("storing the simulation failed: " + "; ".join(errors), code=1)
    return sum(o[1] for o in outcomes), sum(o[2] for o in outcomes)


def _store(simulation: Any, database_url: str) -> tuple[int, int]:
    import queue

    import psycopg

    from core.clock import FixedClock
    from ingest.messages import parse_message
    from ingest.metrics import IngestMetrics
    from ingest.writer import Inbound, Writer, WriterConfig

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
    now = simulation.end + timedelta(minutes=1)
    for i, m in enumerate(simulation.messages()):
        inbox.put(
            Inbound(
                m.topic,
                m.payload,
                i,
                1,
                0,
                parse_message(m.topic, m.payload, now=now, decoded=m.body),
                time.time(),
            )
        )
    writer.stop()
    writer.join()
    if writer.error is not None:
        raise fail(f"writer failed: {writer.error!r}", code=1)
    return (
        int(metrics.value("aic_ingest_rows_written_total")),
        int(metrics.total("aic_ingest_quarantined")),
    )
