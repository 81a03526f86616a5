"""``aic demo``: the pipeline end to end on embedded defaults, ending with a summary.

Starts (or uses the configured) database and broker, builds the schema, loads
the example fleet, runs the simulated fleet with injected faults through the
broker into ingest, scores the data, and compares the anomalies with the
injected faults.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.context import console, runtime

REPO_FLEET = Path(__file__).resolve().parent.parent / "examples" / "fleet.yaml"
REPO_PLANS = Path(__file__).resolve().parent.parent / "examples" / "plans"


DEMO_PASSWORD = "aic-demo-2026"


def _serve(rt: object, port: int) -> None:
    """Give the demo staff a password and serve the API and dashboard until Ctrl-C."""
    import uvicorn

    from api.app import create_app
    from api.repository import set_password
    from api.security import Tokens, hash_password
    from cli.context import Runtime
    from core.fleet_repository import active_staff_ids

    assert isinstance(rt, Runtime)
    with rt.pool.connection() as conn:
        hashed = hash_password(DEMO_PASSWORD)
        staff = active_staff_ids(conn)
        for staff_id in staff:
            set_password(conn, staff_id=staff_id, password_hash=hashed, now=rt.clock.now())
    app = create_app(rt.pool, Tokens.with_secret(rt.settings.jwt_secret), clock=rt.clock)
    console.rule("Dashboard 控制台")
    console.print(
        f"open http://127.0.0.1:{port}/login — sign in as a lead (e.g. deng-keming 华北, "
        f"zheng-zhuzi 华东) or hq-manager, password {DEMO_PASSWORD}; API docs at /docs"
    )
    console.print("Ctrl-C stops everything.")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def _firmware_quality(rt: object, *, now: datetime) -> None:
    """各版本故障率: the report that shows a firmware version doing worse than the last."""
    from cli.context import Runtime
    from cli.report import emit
    from reports.catalog import REPORTS, run

    assert isinstance(rt, Runtime)
    from core.labels import Labels

    with rt.pool.connection() as conn:
        rows = run(conn, "firmware-quality", now=now)
        names = Labels.load(conn)
    if rows:
        report = REPORTS["firmware-quality"]
        # 是/否, not Python's True/False; "worse" comes with its reason (p or the shift).
        emit(rows, report, report.title, None, names=names)


def _schedule(rt: object, *, now: datetime) -> None:
    """Load the plans, turn anomalies and due tasks into work orders, show them per region."""
    from cli.context import Runtime
    from core.clock import format_local
    from core.labels import Labels
    from core.maintenance import refresh_rollups
    from scheduler import commissioning
    from scheduler.orders import generate_predictive, generate_preventive
    from scheduler.repository import load_plan_directory
    from service import software
    from service.parts import load_parts, read_parts_file
    from service.repository import order_queue

    assert isinstance(rt, Runtime)
    with rt.pool.connection() as conn:
        load_plan_directory(conn, REPO_PLANS, now=now, skip_loaded=True)
        load_parts(conn, read_parts_file(REPO_PLANS.parent / "parts.yaml"), now=now)
        conn.commit()  # TimescaleDB refreshes its rollups outside a transaction
        refresh_rollups(conn, now=now, lag=timedelta(0))
        predictive = generate_predictive(conn, now=now)
        preventive = generate_preventive(conn, now=now)
        commissioned = commissioning.generate(conn, now=now)
        updates = software.sync_from_events(conn, now=now)
    console.print(
        f"work orders: {len(predictive.created)} predictive/repair, "
        f"{len(preventive.created)} preventive ({preventive.merged} tasks merged into "
        f"predictive visits), {len(commissioned)} commissioning; "
        f"{updates} software updates recorded from the robots"
    )
    _firmware_quality(rt, now=now)
    with rt.pool.connection() as conn:
        queue = order_queue(conn, region=None, status=None, limit=100_000)
        names = Labels.load(conn)
    table = Table(
        title="Work orders per region 各区域工单 (site time 当地时间)",
        caption="times are the sites' local time, China time UTC+08:00",
    )
    for col in (
        "region 区域",
        "lead 组长",
        "order",
        "P",
        "robot",
        "due",
        "visit window 上门时间",
        "task",
    ):
        table.add_column(col, overflow="fold")
    shown: dict[str, int] = {}
    for o in sorted(queue, key=lambda o: (o.region, o.priority, o.due_at)):
        if o.status not in ("new", "scheduled"):
            continue
        shown[o.region] = shown.get(o.region, 0) + 1
        if shown[o.region] > 4:
            continue
        window = "-"
        if o.window_start and o.window_end:
            window = f"{format_local(o.window_start, o.timezone, zone_suffix=False)[5:]}–"
            window += format_local(o.window_end, o.timezone, zone_suffix=False)[11:]
        table.add_row(
            f"{names.region(o.region)} {names.region(o.region, 'en')}",
            names.person(o.lead_id),
            o.number,
            str(o.priority),
            o.robot_id,
            format_local(o.due_at, o.timezone, zone_suffix=False)[5:10],
            window,
            o.title.split(" / ")[-1],
        )
    console.print(table)
    console.print("orders per region: " + ", ".join(f"{k} {v}" for k, v in shown.items()))


def demo(
    fleet_file: Path = typer.Option(REPO_FLEET, "--fleet", help="fleet YAML to load"),
    robots: int = typer.Option(100, min=1, help="how many robots to simulate"),
    days: float = typer.Option(30.0, min=8, help="simulated days (the first 7 are the baseline)"),
    faults: float = typer.Option(0.5, min=0, max=1, help="fraction of robots with a fault"),
    seed: int = typer.Option(7),
    serve: bool = typer.Option(True, help="serve the dashboard afterwards until Ctrl-C"),
    port: int = typer.Option(8000, min=1, max=65535, help="dashboard port"),
) -> None:
    """Run simulator → MQTT → ingest → PostgreSQL → scoring → work orders, then serve the dashboard."""
    from core.fleet import load_fleet_file
    from firmware_sim.engine import build_simulation
    from firmware_sim.ground_truth import store

    fleet = load_fleet_file(fleet_file)
    with runtime(need_broker=True) as rt:
        console.rule("AIC fleet care demo")
        console.print(f"database: {rt.services.database_url.split('?')[0]}")
        console.print(f"broker:   {rt.services.mqtt_url}")
        _load_fleet(rt, fleet)
        end = rt.clock.now().replace(microsecond=0) - timedelta(minutes=1)
        simulation = build_simulation(
            fleet, _scenario(end=end, days=days, seed=seed, robots=robots, faults=faults)
        )
        run_id = f"demo-{end:%Y%m%dT%H%M%S}"
        with rt.pool.connection() as conn:
            store(conn, simulation.faults, run_id=run_id, seed=seed)
        _publish_and_ingest(rt, simulation, days=days)
        _detect(rt, run_id=run_id, start=simulation.start, end=end)
        _schedule(rt, now=end + timedelta(minutes=1))
        if serve:
            _serve(rt, port)


def _load_fleet(rt: Any, fleet: Any) -> None:
    from core.fleet_repository import upsert_fleet
    from core.migrate import migrate

    with rt.pool.connection() as conn:
        conn.autocommit = True
        applied = migrate(conn)
        conn.autocommit = False
        counts = upsert_fleet(conn, fleet=fleet)
    console.print(
        f"schema: {len(applied)} migrations applied; fleet: {counts.sites} sites, "
        f"{counts.robots} robots in {counts.regions} regions"
    )


def _scenario(*, end: datetime, days: float, seed: int, robots: int, faults: float) -> Any:
    from firmware_sim.scenario import Scenario

    return Scenario(
        end=end,
        days=days,
        seed=seed,
        sample_s=120,
        batch=10,
        max_robots=robots,
        random_faults={"fraction": faults},
        network={"duplicate_rate": 0.002, "malformed_rate": 0.0005},
        # An over-the-air update that runs the W1's IGBT hotter: the firmware-quality
        # report flags it against its predecessor.
        firmware_updates=[
            {
                "day": round(days * 0.6, 1),
                "version": "3.3.0",
                "models": ["AIC-W1"],
                "igbt_offset_c": 6.0,
            }
        ],
    )


def _publish_and_ingest(rt: Any, simulation: Any, *, days: float) -> None:
    """Publish the simulation over MQTT while ingest stores it; wait until all is stored."""
    from core.settings import parse_mqtt_url
    from firmware_sim.outputs import MqttSink
    from ingest.service import IngestConfig, IngestService

    endpoint = parse_mqtt_url(rt.services.mqtt_url)
    ingest = IngestService(
        IngestConfig(
            database_url=rt.services.database_url,
            endpoint=endpoint,
            client_id="aic-demo-ingest",
            protocol=rt.services.mqtt_protocol,
            clock=rt.clock,
            insecure_broker_ok=True,  # the demo's own broker on loopback
        )
    )
    ingest.start()
    console.print(
        f"simulating {len(simulation.robots)} robots × {days:g} days with "
        f"{len(simulation.faults)} injected faults …"
    )
    started = time.monotonic()
    sink = MqttSink(endpoint, protocol=rt.services.mqtt_protocol)
    _publish(sink, simulation)
    left = sink.close(timeout_s=300)
    _wait_for(ingest, sent=sink.sent)
    ingest.stop()
    metrics = ingest.metrics
    console.print(
        f"published {sink.sent} messages ({simulation.counts()['readings']} readings) in "
        f"{time.monotonic() - started:.0f} s; unacknowledged {left}"
    )
    console.print(
        f"ingest: {metrics.value('aic_ingest_rows_written_total'):.0f} readings stored, "
        f"{metrics.value('aic_ingest_duplicates_total'):.0f} duplicates ignored, "
        f"{metrics.total('aic_ingest_quarantined'):.0f} messages quarantined"
    )


def _publish(sink: Any, simulation: Any) -> None:
    span = (simulation.end - simulation.start).total_seconds()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        sim_task = progress.add_task("simulate → MQTT 模拟上报", total=span)
        done = 0.0
        for m in simulation.messages():
            sink.send(m)
            now_s = (m.at - simulation.start).total_seconds()
            if now_s - done > span / 200:
                progress.update(sim_task, completed=now_s)
                done = now_s
        progress.update(sim_task, completed=span)


def _wait_for(ingest: Any, *, sent: int) -> None:
    """Until ingest has processed every message the broker acknowledged (5 min at most)."""

    def received() -> float:
        return float(ingest.metrics.total("aic_ingest_messages_received"))

    deadline = time.monotonic() + 300
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), console=console
    ) as progress:
        store_task = progress.add_task("ingest → PostgreSQL 入库", total=sent)
        while (received() < sent or ingest.inbox.qsize()) and time.monotonic() < deadline:
            progress.update(store_task, completed=received())
            time.sleep(0.2)
        progress.update(store_task, completed=sent)


def _detect(rt: Any, *, run_id: str, start: datetime, end: datetime) -> None:
    """Score the run as if live and show what was caught of the injected faults."""
    from analytics.evaluation import to_markdown
    from analytics.repository import anomaly_counts
    from analytics.service import backtest
    from core.fleet_repository import region_summaries

    with rt.pool.connection() as conn:
        report = backtest(conn, run_id=run_id, start=start, end=end, use_forests=False)
        by_kind = anomaly_counts(conn)
        regions = region_summaries(conn)
    table = Table(title="Anomalies 异常")
    for col in ("fault kind", "detector", "windows", "robots"):
        table.add_column(col)
    for kind, det, n, r in by_kind:
        table.add_row(kind, det, str(n), str(r))
    console.print(table)
    console.print(to_markdown(report, title="Injected faults caught 故障检出"))
    console.print(
        "Regions 区域: " + ", ".join(f"{r.name_zh} {r.name_en} ({r.lead})" for r in regions)
    )
