"""Fixtures for running ingest: in-process services and `aic ingest` subprocesses (a plugin)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from core.settings import parse_mqtt_url
from ingest.service import IngestConfig, IngestService
from ingest.writer import WriterConfig

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def start_ingest() -> Iterator[Callable[..., IngestService]]:
    """Start in-process ingest services; all are stopped at teardown."""
    started: list[IngestService] = []

    def start(
        db_url: str,
        mqtt_url: str,
        *,
        client_id: str | None = None,
        writer: WriterConfig | None = None,
        **kw: Any,
    ) -> IngestService:
        service = IngestService(
            IngestConfig(
                database_url=db_url,
                endpoint=parse_mqtt_url(mqtt_url),
                client_id=client_id or f"test-ingest-{uuid.uuid4().hex[:8]}",
                writer=writer or WriterConfig(batch_messages=500, flush_interval_s=0.05),
                **{"insecure_broker_ok": True, **kw},
            )
        )
        service.start()
        started.append(service)
        return service

    yield start
    for s in started:
        if s.writer.is_alive():
            s.stop(timeout_s=10)


@pytest.fixture
def spawn_ingest(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start `aic ingest` processes; any still running are killed at teardown."""
    procs: list[subprocess.Popen[bytes]] = []

    def spawn(db_url: str, mqtt_url: str, client_id: str, *args: str) -> subprocess.Popen[bytes]:
        """Start the process and wait until it has subscribed (its session exists)."""
        env = dict(
            os.environ,
            AIC_DATABASE_URL=db_url,
            AIC_MQTT_URL=mqtt_url,
            AIC_STATE_DIR=str(tmp_path / "state"),
            AIC_LOG_LEVEL="INFO",
        )
        log_path = tmp_path / f"ingest-{client_id}-{len(procs)}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "cli.main",
                    "ingest",
                    "--client-id",
                    client_id,
                    "--insecure-broker",
                    *args,
                ],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        procs.append(proc)
        deadline = time.monotonic() + 30
        while b"ingest running" not in log_path.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"aic ingest did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.05)
        return proc

    yield spawn
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
