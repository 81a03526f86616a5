"""One ingest process: subscriber + bounded queue + writer, with a clean drain on stop."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field

import psycopg

from core.clock import Clock, SystemClock
from core.db import Conn
from core.settings import MqttEndpoint
from ingest.inbox import DEFAULT_READINGS, Inbox
from ingest.metrics import IngestMetrics
from ingest.subscriber import Subscriber, anonymous_allowed
from ingest.writer import Writer, WriterConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestConfig:
    database_url: str
    endpoint: MqttEndpoint
    client_id: str = field(default_factory=lambda: f"aic-ingest-{socket.gethostname()}")
    shared_group: str | None = None
    queue_size: int = 20000
    queue_readings: int = DEFAULT_READINGS
    protocol: str = "5"
    writer: WriterConfig = field(default_factory=WriterConfig)
    clock: Clock = field(default_factory=SystemClock)
    stall_warning_s: float = 10.0  # log when the oldest unacknowledged message is this old
    keepalive_s: int = 30
    # A development broker (embedded, tests) may accept anonymous clients; a real one must
    # not, or anyone could read the fleet's topics or take over sessions.
    insecure_broker_ok: bool = False


class IngestService:
    """``start()`` then ``stop()``; stop drains the queue, commits, acks, disconnects."""

    def __init__(self, config: IngestConfig, *, metrics: IngestMetrics | None = None) -> None:
        self.config = config
        self.metrics = metrics or IngestMetrics()
        # Bounded in messages by the broker's flow control (receive maximum = queue_size,
        # at most 2,000), in bytes by the 64 KiB cap per held message, and in parsed
        # readings by the queue itself (the network thread waits for room, briefly).
        self.inbox = Inbox(config.queue_readings)
        self._stop_watch = threading.Event()
        self.subscriber = Subscriber(
            config.endpoint,
            client_id=config.client_id,
            inbox=self.inbox,
            metrics=self.metrics,
            shared_group=config.shared_group,
            protocol=config.protocol,
            clock=config.clock,
            queue_limit=config.queue_size,
            keepalive_s=config.keepalive_s,
        )
        self.writer = Writer(
            connect=self._connect,
            inbox=self.inbox,
            ack=self.subscriber.ack,
            metrics=self.metrics,
            config=config.writer,
            clock=config.clock,
        )
        self.metrics.watch(
            depth=self.inbox.qsize,
            size=self.queued_bytes,
            oldest_age=self.oldest_unacked_s,
            readings=self.held_readings,
        )

    def _connect(self) -> Conn:
        # Autocommit, so each conn.transaction() is a real BEGIN/COMMIT, never a savepoint
        # inside an implicit transaction. synchronous_commit stays on: an ack is a promise.
        return psycopg.connect(
            self.config.database_url,
            connect_timeout=5,
            autocommit=True,
            application_name=f"aic-ingest-{os.getpid()}",
        )

    def queued_bytes(self) -> int:
        """Payload bytes of the messages waiting in the queue (each at most 64 KiB)."""
        with self.inbox.mutex:
            return sum(len(m.payload) for m in self.inbox.queue)

    def held_readings(self) -> int:
        """Parsed readings in memory: queued, and in the writer's batch in hand."""
        return self.inbox.readings + self.writer.pending_readings

    def oldest_unacked_s(self) -> float:
        """Age of the oldest message received and not yet stored and acknowledged."""
        with self.inbox.mutex:
            first = self.inbox.queue[0].received if self.inbox.queue else None
        times = [t for t in (first, self.writer.pending_since) if t is not None]
        return max(0.0, time.time() - min(times)) if times else 0.0

    def _watch(self) -> None:
        """Say it when nothing is being stored: a database stall raises no error by itself."""
        last = -1e9
        while not self._stop_watch.wait(1.0):
            age = self.oldest_unacked_s()
            if age >= self.config.stall_warning_s and time.monotonic() - last >= 30.0:
                last = time.monotonic()
                logger.warning(
                    "ingest stalled: the oldest unacknowledged message is %.0f s old, "
                    "%d messages queued; is the database slow or locked?",
                    age,
                    self.inbox.qsize(),
                )

    def check_broker(self) -> None:
        """Refuse a broker that lets anonymous clients in (unless told it is a dev broker)."""
        if self.config.insecure_broker_ok:
            return
        ep = self.config.endpoint
        if ep.username is None:
            raise ConnectionError(
                f"AIC_MQTT_URL {ep.url} has no user: ingest only runs against a broker with "
                "authentication (deploy/mosquitto); for a development broker pass --insecure-broker"
            )
        if anonymous_allowed(ep):
            raise ConnectionError(
                f"the broker at {ep.url} accepts anonymous clients, so anyone could read the "
                "fleet's topics or take over sessions: set allow_anonymous false "
                "(deploy/mosquitto); for a development broker pass --insecure-broker"
            )

    def start(self) -> None:
        self.check_broker()
        self._stop_watch.clear()
        threading.Thread(target=self._watch, name="ingest-watch", daemon=True).start()
        self.writer.start()
        self.subscriber.start()
        logger.info(
            "ingest running as %s%s",
            self.config.client_id,
            f" in shared group {self.config.shared_group}" if self.config.shared_group else "",
        )

    def stop(self, *, timeout_s: float = 30.0) -> None:
        """Drain: the writer stores and acks what is queued, then the client disconnects."""
        logger.info("ingest stopping: draining %d queued messages", self.inbox.qsize())
        self._stop_watch.set()
        self.writer.stop()
        self.writer.join(timeout=timeout_s)
        if self.writer.is_alive():
            logger.error(
                "writer did not finish within %.0f s; unacked messages will be redelivered",
                timeout_s,
            )
        self.subscriber.stop()
