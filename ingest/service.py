"""One ingest process: subscriber + bounded queue + writer, with a clean drain on stop."""

from __future__ import annotations

import logging
import os
import queue
import socket
from dataclasses import dataclass, field

import psycopg

from core.clock import Clock, SystemClock
from core.db import Conn
from core.settings import MqttEndpoint
from ingest.metrics import IngestMetrics
from ingest.subscriber import Subscriber
from ingest.writer import Inbound, Writer, WriterConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestConfig:
    database_url: str
    endpoint: MqttEndpoint
    client_id: str = field(default_factory=lambda: f"aic-ingest-{socket.gethostname()}")
    shared_group: str | None = None
    queue_size: int = 20000
    protocol: str = "5"
    writer: WriterConfig = field(default_factory=WriterConfig)
    clock: Clock = field(default_factory=SystemClock)


class IngestService:
    """``start()`` then ``stop()``; stop drains the queue, commits, acks, disconnects."""

    def __init__(self, config: IngestConfig, *, metrics: IngestMetrics | None = None) -> None:
        self.config = config
        self.metrics = metrics or IngestMetrics()
        self.inbox: queue.Queue[Inbound] = queue.Queue(maxsize=config.queue_size)
        self.subscriber = Subscriber(
            config.endpoint,
            client_id=config.client_id,
            inbox=self.inbox,
            metrics=self.metrics,
            shared_group=config.shared_group,
            protocol=config.protocol,
            clock=config.clock,
        )
        self.writer = Writer(
            connect=self._connect,
            inbox=self.inbox,
            ack=self.subscriber.ack,
            metrics=self.metrics,
            config=config.writer,
            clock=config.clock,
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

    def start(self) -> None:
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
        self.writer.stop()
        self.writer.join(timeout=timeout_s)
        if self.writer.is_alive():
            logger.error(
                "writer did not finish within %.0f s; unacked messages will be redelivered",
                timeout_s,
            )
        self.subscriber.stop()
