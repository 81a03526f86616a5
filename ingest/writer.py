"""The one writer thread: drains the bounded queue, writes batches, acks after COMMIT."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

import msgspec
import psycopg

from core.clock import Clock, SystemClock
from core.db import Conn
from ingest import repository as repo
from ingest.messages import Event, Parsed, Reading, Status
from ingest.metrics import IngestMetrics

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Errors caused by the data of a row: find the row, quarantine it, commit the rest.
ROW_ERRORS = (psycopg.errors.DataError, psycopg.errors.IntegrityError)


@dataclass(slots=True)
class Inbound:
    """One MQTT message waiting to be stored and acknowledged."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    gen: int  # connection generation: only messages of the live connection are acked
    parsed: Parsed
    received: float  # time.time() on arrival

    @property
    def weight(self) -> int:
        """Readings it holds in memory (at least 1: an event, a status, a rejection)."""
        return len(self.parsed.readings) or 1


SEQ_JUMP_MAX = 1_000_000_000  # 31 years of one message a second


@dataclass(frozen=True, slots=True)
class WriterConfig:
    batch_messages: int = 2000
    # A batch also ends at this many readings: 2,000 batch messages would be 200,000+
    # readings in memory and in one transaction.
    batch_readings: int = 10_000
    flush_interval_s: float = 0.1
    directory_refresh_s: float = 60.0
    retry_initial_s: float = 0.2
    retry_max_s: float = 5.0


class Writer(threading.Thread):
    """Owns all telemetry writes. ``stop()`` drains the queue, flushes, acks, and ends."""

    def __init__(
        self,
        *,
        connect: Callable[[], Conn],
        inbox: queue.Queue[Inbound],
        ack: Callable[[Inbound], None],
        metrics: IngestMetrics,
        config: WriterConfig = WriterConfig(),
        clock: Clock | None = None,
    ) -> None:
        super().__init__(name="ingest-writer", daemon=True)
        self.clock = clock or SystemClock()
        self._connect = connect
        self._inbox = inbox
        self._ack = ack
        self.metrics = metrics
        self.config = config
        self._stopping = threading.Event()
        self._conn: Conn | None = None
        self._days: set[date] = set()
        self._directory: dict[str, repo.RobotInfo] = {}
        self._max_seq: dict[str, int] = {}  # highest stored seq per robot, as far as seen
        self._directory_at = 0.0
        self.committed_batches = 0
        # Arrival time (time.time()) of the oldest message taken from the queue and not yet
        # acknowledged: the batch in hand, while it is written or retried.
        self.pending_since: float | None = None
        self.pending_readings = 0  # readings of that batch
        self.error: Exception | None = None
        self.healthy = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    # -- main loop -------------------------------------------------------------
    def run(self) -> None:
        try:
            while True:
                batch, readings = self._collect()
                if batch:
                    self._write_with_retry(batch, readings)
                elif self._stopping.is_set():
                    break
        except Exception as exc:
            # A bug, not bad data or a database outage: stop without acking; the
            # process exits non-zero and the broker redelivers after a restart.
            self.error = exc
            logger.critical("writer crashed; nothing more is acknowledged", exc_info=True)
        finally:
            if self._conn is not None:
                self._conn.close()
        logger.info("writer stopped after %d batches", self.committed_batches)

    def _collect(self) -> tuple[list[Inbound], int]:
        """Take up to batch_messages (or batch_readings), waiting at most flush_interval for
        the first ones; the batch and the readings it holds."""
        batch: list[Inbound] = []
        readings = 0
        deadline = time.monotonic() + self.config.flush_interval_s
        while len(batch) < self.config.batch_messages and readings < self.config.batch_readings:
            timeout = deadline - time.monotonic()
            try:
                if timeout <= 0:
                    item = self._inbox.get_nowait()
                else:
                    item = self._inbox.get(timeout=timeout)
            except queue.Empty:
                break
            batch.append(item)
            readings += item.weight
        return batch, readings

    def _write_with_retry(self, batch: list[Inbound], readings: int) -> None:
        delay = self.config.retry_initial_s
        self.pending_since = min(m.received for m in batch)
        self.pending_readings = readings
        while True:
            try:
                self._write(batch)
                self.healthy.set()
                self.pending_since = None
                self.pending_readings = 0
                return
            except psycopg.Error as exc:
                self.healthy.clear()
                self.metrics.db_errors.inc()
                logger.error(
                    "batch of %d messages not stored (%s: %s); not acknowledged, retrying in %.1f s",
                    len(batch),
                    type(exc).__name__,
                    str(exc).strip().splitlines()[0] if str(exc) else "",
                    delay,
                )
                if self._conn is not None:
                    try:
                        self._conn.close()
                    finally:
                        self._conn = None
                time.sleep(delay)
                delay = min(delay * 2, self.config.retry_max_s)

    # -- one batch ---------------------------------------------------------------
    def _connection(self) -> Conn:
        if self._conn is None or self._conn.closed:
            conn = self._connect()
            if not conn.autocommit:
                conn.close()
                raise ValueError("the writer needs an autocommit connection")
            repo.prepare_session(conn)
            self._conn = conn
        return self._conn

    def _refresh_directory(self, conn: Conn, *, force: bool) -> None:
        age = time.monotonic() - self._directory_at
        if force and age < 5.0:
            return
        if force or age > self.config.directory_refresh_s:
            self._directory = repo.load_directory(conn)
            self._directory_at = time.monotonic()
            for robot_id, info in self._directory.items():
                if info.max_seq is not None:
                    self._max_seq[robot_id] = max(self._max_seq.get(robot_id, 0), info.max_seq)

    def _write(self, batch: list[Inbound]) -> None:
        started = time.perf_counter()
        conn = self._connection()
        now = self.clock.now()
        self._refresh_directory(conn, force=False)
        unknown = {
            m.parsed.robot_id
            for m in batch
            if m.parsed.robot_id and m.parsed.robot_id not in self._directory
        }
        if unknown:
            self._refresh_directory(conn, force=True)
        readings, events, statuses, quarantine = self._sort(batch)
        counts = repo.WriteCounts()
        with conn.transaction():
            days = {r.ts.date() for r in readings} - self._days
            repo.ensure_days(conn, days=sorted(days))
            stored = self._bisect(
                conn,
                readings,
                lambda rows: repo.insert_readings(conn, readings=rows, now=now),
                quarantine,
                "telemetry",
            )
            stored_events = self._bisect(
                conn,
                events,
                lambda rows: repo.insert_events(conn, events=rows, now=now),
                quarantine,
                "event",
            )
            counts.gaps_opened, counts.gaps_closed = repo.update_robot_state(
                conn, readings=readings, stored=stored + stored_events, now=now
            )
            repo.apply_statuses(conn, statuses=statuses, now=now)
            # A retained status comes back on every reconnect: quarantine it once.
            quarantine = repo.drop_known_status_rejections(conn, rows=quarantine)
            counts.quarantined = repo.insert_quarantine(conn, rows=quarantine, now=now)
        commit_time = time.time()
        self._days |= days
        for robot_id, seq in (*stored, *stored_events):
            if seq > self._max_seq.get(robot_id, -1):
                self._max_seq[robot_id] = seq
        counts.readings = len(stored)
        counts.duplicates = len(readings) - len(stored) + len(events) - len(stored_events)
        counts.events = len(stored_events)
        self._record(batch, counts, quarantine, readings, started, commit_time)
        for m in batch:  # arrival order
            self._ack(m)
        self.committed_batches += 1

    def _sort(
        self, batch: list[Inbound]
    ) -> tuple[list[Reading], list[Event], list[Status], list[repo.QuarantineRow]]:
        """Readings, events and statuses to store; what the registry refuses to quarantine."""
        readings: list[Reading] = []
        events: list[Event] = []
        statuses: list[Status] = []
        quarantine: list[repo.QuarantineRow] = []
        kinds: Counter[str] = Counter()
        for m in batch:
            p = m.parsed
            kinds[p.kind] += 1
            quarantine.extend(
                repo.QuarantineRow(m.topic, r.payload, r.reason, r.detail) for r in p.rejections
            )
            single = len(p.readings) == 1 and not p.rejections
            for r in p.readings:
                reason = self._registry_check(r.robot_id, r.ts, r.seq)
                if reason:
                    raw = m.payload if single else _reading_json(r)
                    quarantine.append(repo.QuarantineRow(m.topic, raw, reason[0], reason[1]))
                else:
                    readings.append(r)
            if p.event is not None:
                reason = self._registry_check(p.event.robot_id, p.event.ts, p.event.seq)
                if reason:
                    quarantine.append(repo.QuarantineRow(m.topic, m.payload, *reason))
                else:
                    events.append(p.event)
            if p.status is not None:
                if p.status.robot_id in self._directory:
                    statuses.append(p.status)
                else:
                    quarantine.append(
                        repo.QuarantineRow(
                            m.topic,
                            m.payload,
                            "unknown_robot",
                            f"robot {p.status.robot_id!r} is not in the fleet registry",
                        )
                    )
        for kind, n in kinds.items():  # one metric update per kind, not per message
            self.metrics.messages.labels(kind).inc(n)
        return readings, events, statuses, quarantine

    def _registry_check(self, robot_id: str, ts: datetime, seq: int) -> tuple[str, str] | None:
        info = self._directory.get(robot_id)
        if info is None:
            return ("unknown_robot", f"robot {robot_id!r} is not in the fleet registry")
        high = self._max_seq.get(robot_id)
        if high is not None and seq > high + SEQ_JUMP_MAX:
            # A counter that survives reboots moves by one per message: a jump this size is
            # corruption or forgery, and storing it would pin max_seq (every later reading
            # "late", gap detection off for the robot).
            return (
                "seq_jump",
                f"seq {seq} jumps {seq - high} past the highest stored {high}"
                f" (at most {SEQ_JUMP_MAX})",
            )
        if ts < info.earliest_ts:
            return (
                "ts_before_install",
                f"ts {ts.isoformat()} is before install date {info.install_date}",
            )
        return None

    def _bisect(
        self,
        conn: Conn,
        rows: list[T],
        insert: Callable[[list[T]], list[tuple[str, int]]],
        quarantine: list[repo.QuarantineRow],
        what: str,
    ) -> list[tuple[str, int]]:
        """Insert rows; if the database rejects one, find it by halving, quarantine it."""
        if not rows:
            return []
        try:
            with conn.transaction():
                return insert(rows)
        except ROW_ERRORS as exc:
            if len(rows) == 1:
                row = rows[0]
                robot = getattr(row, "robot_id", "?")
                logger.warning("database rejected a %s row of %s: %s", what, robot, exc)
                quarantine.append(
                    repo.QuarantineRow(
                        f"aic/v1/{robot}/{what}",
                        _reading_json(row),
                        "db_rejected",
                        str(exc).strip().splitlines()[0],
                    )
                )
                return []
            half = len(rows) // 2
            return self._bisect(conn, rows[:half], insert, quarantine, what) + self._bisect(
                conn, rows[half:], insert, quarantine, what
            )

    def _record(
        self,
        batch: list[Inbound],
        counts: repo.WriteCounts,
        quarantine: list[repo.QuarantineRow],
        readings: list[Reading],
        started: float,
        commit_time: float,
    ) -> None:
        mt = self.metrics
        mt.rows.inc(counts.readings)
        mt.events.inc(counts.events)
        mt.duplicates.inc(counts.duplicates)
        for q in quarantine:
            mt.quarantined.labels(q.reason).inc()
        mt.gaps_opened.inc(counts.gaps_opened)
        mt.gaps_closed.inc(counts.gaps_closed)
        mt.batch_size.observe(len(batch))
        mt.batch_seconds.observe(time.perf_counter() - started)
        if readings:
            newest = max(r.ts for r in readings).timestamp()
            mt.lag_seconds.observe(max(0.0, commit_time - newest))


def _reading_json(row: object) -> bytes:
    """A reading or an event (struct or dataclass) as JSON, for its quarantine row."""
    return msgspec.json.encode(row)
