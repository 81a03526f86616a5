"""``aic ingest``: store robot telemetry from MQTT, exactly once."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import threading
from dataclasses import replace
from typing import Any

import typer

from cli.context import console, fail, runtime


def ingest(
    shared: str | None = typer.Option(
        None, "--shared", help="split the load with other processes: $share/GROUP/…"
    ),
    client_id: str | None = typer.Option(
        None, "--client-id", help="fixed MQTT client id (default aic-ingest-HOSTNAME)"
    ),
    metrics_port: int | None = typer.Option(
        None, "--metrics-port", help="serve Prometheus metrics on 127.0.0.1:PORT/metrics"
    ),
    batch: int = typer.Option(2000, min=1, help="messages per database batch (at most)"),
    flush_ms: int = typer.Option(100, min=1, help="flush a partial batch after this long"),
    queue_size: int = typer.Option(20000, min=10, help="bounded queue between MQTT and writer"),
    queue_readings: int = typer.Option(
        20000,
        min=100,
        help="parsed readings held in memory before the MQTT thread waits for the writer"
        " (batch messages: ~1.2 KB each)",
    ),
    protocol: str = typer.Option("5", help="MQTT protocol: 5 (falls back to 3.1.1) or 3.1.1"),
    insecure_broker: bool = typer.Option(
        False,
        "--insecure-broker",
        help="accept a broker without authentication (development only; the embedded broker"
        " is always accepted)",
    ),
    workers: int = typer.Option(
        1,
        min=1,
        max=32,
        help="ingest processes on one shared subscription ($share/GROUP, GROUP from --shared"
        " or aic-ingest); this one plus N-1 children, stopped together",
    ),
) -> None:
    """Run the ingest process until SIGTERM/SIGINT, then drain, flush, acknowledge and exit."""
    from ingest.service import IngestConfig
    from ingest.writer import WriterConfig

    with runtime(need_broker=True) as rt:
        endpoint = rt.settings.mqtt_endpoint() if rt.settings.mqtt_url else None
        if endpoint is None:
            from core.settings import parse_mqtt_url

            endpoint = parse_mqtt_url(rt.services.mqtt_url)
        config = IngestConfig(
            database_url=rt.services.database_url,
            endpoint=endpoint,
            shared_group=shared,
            queue_size=queue_size,
            queue_readings=queue_readings,
            protocol=protocol,
            writer=WriterConfig(batch_messages=batch, flush_interval_s=flush_ms / 1000),
            clock=rt.clock,
            # The embedded broker is private to this machine's loopback and this process.
            insecure_broker_ok=insecure_broker or rt.settings.mqtt_url is None,
        )
        if client_id:
            config = replace(config, client_id=client_id)
        children: list[subprocess.Popen[bytes]] = []
        if workers > 1:
            group = shared or "aic-ingest"
            base = config.client_id
            config = replace(config, shared_group=group, client_id=f"{base}-w0")
            children = _start_workers(
                workers,
                group=group,
                base=base,
                env={
                    "AIC_DATABASE_URL": rt.services.database_url,
                    "AIC_MQTT_URL": rt.services.mqtt_url,
                },
                args=[
                    *_worker_args(batch, flush_ms, queue_size, protocol, config.insecure_broker_ok),
                    *("--queue-readings", str(queue_readings)),
                ],
                metrics_port=metrics_port,
            )
        _serve(config, children, metrics_port)


def _serve(config: Any, children: list[subprocess.Popen[bytes]], metrics_port: int | None) -> None:
    """Run this process's ingest until SIGTERM/SIGINT (or a worker ends); drain and stop all."""
    from ingest.service import IngestService

    service = IngestService(config)
    if metrics_port:
        try:
            service.metrics.serve(metrics_port)
        except OSError as exc:
            raise fail(
                f"--metrics-port {metrics_port}: cannot listen on 127.0.0.1:{metrics_port}"
                f" ({exc.strerror or exc}); choose a free port"
            ) from exc
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        service.start()
    except ConnectionError as exc:
        raise fail(str(exc)) from exc
    # What is loaded now lives as long as the process: keep it out of the collector's scans,
    # and collect the young generation less often (ingest allocates a row tuple and an
    # error list per reading; none of them forms a cycle). Measured: 9.1 -> 7.2 µs of CPU
    # per reading in batch messages, most of it this (docs/performance.md).
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
    console.print(f"ingest running ({config.client_id}); Ctrl-C to stop")
    while not stop.wait(0.5):
        if not service.writer.is_alive():
            break
        if any(c.poll() is not None for c in children):
            console.print("an ingest worker ended: stopping the others")
            break
    service.stop()
    failed = _stop_workers(children)
    m = service.metrics
    console.print(
        f"stopped: {m.value('aic_ingest_rows_written_total'):.0f} readings stored, "
        f"{m.value('aic_ingest_duplicates_total'):.0f} duplicates"
    )
    if service.writer.error is not None:
        raise fail(f"ingest writer crashed: {service.writer.error!r}", code=1)
    if failed:
        raise fail(f"ingest workers ended with errors: {failed}", code=1)


def _worker_args(
    batch: int, flush_ms: int, queue_size: int, protocol: str, insecure: bool
) -> list[str]:
    return [
        *("--batch", str(batch), "--flush-ms", str(flush_ms), "--queue-size", str(queue_size)),
        *("--protocol", protocol, *(["--insecure-broker"] if insecure else [])),
    ]


def _start_workers(
    workers: int,
    *,
    group: str,
    base: str,
    env: dict[str, str],
    args: list[str],
    metrics_port: int | None,
) -> list[subprocess.Popen[bytes]]:
    """Workers 1..N-1: ``aic ingest`` on the same services and shared group, each with its
    own client id (its own persistent session on the broker) and metrics port."""
    children = []
    for k in range(1, workers):
        cmd = [
            sys.executable, "-c", "from cli.main import main; main()", "ingest",
            "--shared", group, "--client-id", f"{base}-w{k}", *args,
            *(["--metrics-port", str(metrics_port + k)] if metrics_port else []),
        ]  # fmt: skip
        children.append(subprocess.Popen(cmd, env={**os.environ, **env}))
    console.print(f"{workers} ingest workers in shared group {group}")
    return children


def _stop_workers(children: list[subprocess.Popen[Any]]) -> list[str]:
    """SIGTERM each child (it drains, flushes and acknowledges), wait; the failures."""
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    failed = []
    for k, child in enumerate(children, start=1):
        try:
            code = child.wait(timeout=60)
        except subprocess.TimeoutExpired:
            child.kill()
            code = child.wait()
        if code:
            failed.append(f"worker {k} exit {code}")
    return failed
