"""Services for benchmarks: a fresh database with the example fleet, a delivery-safe broker."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg import sql

from core.embedded import EmbeddedBroker, EmbeddedPostgres
from core.fleet import load_fleet_file
from core.fleet_repository import upsert_fleet
from core.migrate import migrate

REPO = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def bench_database(*, keep: bool = False) -> Iterator[str]:
    """A new database with the schema and example fleet on the local server (or an embedded one);
    dropped afterwards unless ``keep`` (then its URL is printed for a look inside)."""
    admin = os.environ.get("AIC_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    embedded: EmbeddedPostgres | None = None
    try:
        psycopg.connect(admin, connect_timeout=3).close()
    except psycopg.OperationalError:
        embedded = EmbeddedPostgres(Path(tempfile.mkdtemp()) / "pg", database="postgres")
        admin = embedded.start()
    name = f"aic_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    from urllib.parse import urlsplit, urlunsplit

    url = urlunsplit(urlsplit(admin)._replace(path=f"/{name}"))
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            migrate(conn)
        with psycopg.connect(url) as conn:
            upsert_fleet(conn, fleet=load_fleet_file(REPO / "examples" / "fleet.yaml"))
        yield url
    finally:
        if keep and embedded is None:
            print(f"kept database: {url}")
        else:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
        if embedded is not None:
            embedded.stop()


@contextlib.contextmanager
def bench_broker() -> Iterator[str]:
    """A private Mosquitto with the project's delivery-safe settings."""
    broker = EmbeddedBroker(Path(tempfile.mkdtemp()), prefer="mosquitto")
    url = broker.start()
    try:
        yield url
    finally:
        broker.stop()


def _stat_ticks(stat: str) -> int:
    """User + system CPU ticks from a /proc/PID/stat line."""
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    return _stat_ticks(Path(f"/proc/{pid}/stat").read_text()) / os.sysconf("SC_CLK_TCK")


def _group_cpu_ticks() -> dict[str, int]:
    """CPU ticks of every live process, summed by program name (Linux /proc)."""
    out: dict[str, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # exited while we looked
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        out[name] = out.get(name, 0) + _stat_ticks(text)
    return out


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine since boot, all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values[:8]) - idle, sum(values[:8])


class CpuMeter:
    """Where a machine's CPU went between ``start()`` and ``stop()``: cores busy in all, and
    cores used by PostgreSQL, Mosquitto and the bench's child processes that have exited
    (the C publishers). Processes that exit between the two readings are not counted by
    name, only in the machine's total and, if they are our children, in ``children``."""

    def start(self) -> CpuMeter:
        self._t = time.monotonic()
        self._machine = _machine_ticks()
        self._groups = _group_cpu_ticks()
        self._children = os.times().children_user + os.times().children_system
        return self

    def stop(self) -> dict[str, float]:
        seconds = time.monotonic() - self._t
        busy, total = _machine_ticks()
        groups = _group_cpu_ticks()
        kids = os.times().children_user + os.times().children_system - self._children
        ticks = os.sysconf("SC_CLK_TCK")

        def cores(name: str) -> float:
            used = groups.get(name, 0) - self._groups.get(name, 0)
            return round(max(used, 0) / ticks / seconds, 2)

        return {
            "seconds": round(seconds, 2),
            "machine_cores": os.cpu_count() or 0,
            "machine_busy_cores": round(
                (busy - self._machine[0]) / (total - self._machine[1]) * (os.cpu_count() or 1), 2
            ),
            "postgres_cores": cores("postgres"),
            "mosquitto_cores": cores("mosquitto"),
            "exited_children_cores": round(kids / seconds, 2),
        }


def proc_peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_rows(url: str, expected: int, *, timeout_s: float = 600.0) -> None:
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute("SELECT count(*) FROM telemetry").fetchone()
            if row and row[0] >= expected:
                return
            time.sleep(0.2)
    raise TimeoutError(f"only part of {expected} rows stored after {timeout_s:.0f} s")
