"""Where simulated messages go: a JSONL file, or a broker with one MQTT client per robot."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from core.settings import MqttEndpoint
from firmware_sim.specs import SimMessage

logger = logging.getLogger(__name__)


def message_to_json(m: SimMessage) -> str:
    """One JSONL line: publish time, topic, payload (text, or base64 when not UTF-8), retain."""
    rec: dict[str, Any] = {"at": m.at.isoformat(), "topic": m.topic, "retain": m.retain, "qos": 1}
    try:
        rec["payload"] = m.payload.decode("utf-8")
    except UnicodeDecodeError:
        rec["payload_b64"] = base64.b64encode(m.payload).decode()
    if m.malformed:
        rec["malformed"] = True
    return json.dumps(rec, ensure_ascii=False)


def read_jsonl(path: Path) -> Iterable[tuple[str, bytes, bool]]:
    """Read (topic, payload, retain) back from a JSONL file written by ``JsonlSink``."""
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            payload = (
                base64.b64decode(rec["payload_b64"])
                if "payload_b64" in rec
                else rec["payload"].encode()
            )
            yield rec["topic"], payload, bool(rec.get("retain"))


class JsonlSink:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: TextIO = path.open("w", encoding="utf-8")
        self.sent = 0

    def send(self, m: SimMessage) -> None:
        self._fh.write(message_to_json(m) + "\n")
        self.sent += 1

    def close(self, timeout_s: float = 0.0) -> int:
        self._fh.close()
        return 0


@dataclass
class _Entry:
    topic: str
    payload: bytes
    retain: bool
    order: int


@dataclass
class RobotClient:
    """One robot's MQTT connection with a local outbox that survives disconnects.

    Messages wait in the outbox until the broker acknowledges them; after a
    reconnect the unacknowledged ones are sent again, in their original order.

    Acknowledged messages are also kept for ``replay_s`` seconds and sent again after
    every reconnect: a broker that crashes (SIGKILL, power loss) loses what it
    acknowledged since its last save to disk (up to a second with the project's
    configuration), and the server stores each (robot, ts, seq) once, so a replay
    costs duplicates it ignores, never a double row.
    """

    robot_id: str
    endpoint: MqttEndpoint
    password: str | None = None
    outbox: deque[_Entry] = field(default_factory=deque)
    inflight: dict[int, _Entry] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    protocol: str = "5"  # "5", or "3.1.1" for brokers without MQTT v5 (amqtt)
    replay_s: float = 5.0
    connected: bool = False
    acked: int = 0
    replayed: int = 0
    recent: deque[tuple[float, _Entry]] = field(default_factory=deque)  # (acked at, message)
    _connects: int = 0
    _order: int = 0
    _generation: int = 0
    _early: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        v5 = self.protocol == "5"
        c = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.robot_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else False,
        )
        c.max_inflight_messages_set(100)
        c.max_queued_messages_set(0)
        c.reconnect_delay_set(min_delay=1, max_delay=8)
        if self.password is not None:
            c.username_pw_set(self.robot_id, self.password)
        elif self.endpoint.username:
            c.username_pw_set(self.endpoint.username, self.endpoint.password)
        if self.endpoint.tls:
            c.tls_set()
        c.will_set(
            f"aic/v1/{self.robot_id}/status", json.dumps({"online": False}), qos=1, retain=True
        )
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_publish = self._on_publish
        self.client = c

    def start(self) -> None:
        if self.protocol == "5":
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = 3600
            self.client.connect_async(
                self.endpoint.host,
                self.endpoint.port,
                keepalive=30,
                clean_start=False,
                properties=props,
            )
        else:
            self.client.connect_async(self.endpoint.host, self.endpoint.port, keepalive=30)
        self.client.loop_start()

    def send(self, m: SimMessage) -> None:
        with self.lock:
            self._order += 1
            self.outbox.append(_Entry(m.topic, m.payload, m.retain, self._order))
        self.flush()

    def flush(self) -> None:
        """Publish from the outbox up to the inflight window.

        paho is never called while our lock is held: paho runs callbacks under its
        own mutex, and a callback waiting for our lock would deadlock a publisher
        waiting for paho's.
        """
        while True:
            with self.lock:
                if not self.connected or not self.outbox or len(self.inflight) >= 100:
                    return
                e = self.outbox.popleft()
                gen = self._generation
            info = self.client.publish(e.topic, e.payload, qos=1, retain=e.retain)
            with self.lock:
                if info.rc != mqtt.MQTT_ERR_SUCCESS or gen != self._generation:
                    self._insert_back([e])
                    return
                if info.mid in self._early:
                    self._early.discard(info.mid)
                    self.acked += 1
                    self._remember(e)
                else:
                    self.inflight[info.mid] = e

    def _insert_back(self, entries: list[_Entry]) -> None:
        merged = sorted([*entries, *self.outbox], key=lambda x: x.order)
        self.outbox.clear()
        self.outbox.extend(merged)

    def pending(self) -> int:
        with self.lock:
            return len(self.outbox) + len(self.inflight)

    def _on_connect(
        self, client: mqtt.Client, userdata: object, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            logger.error("robot %s: broker refused the connection: %s", self.robot_id, reason)
            return
        with self.lock:
            self.connected = True
            self._connects += 1
            if self._connects > 1:  # a reconnect: send the recently acknowledged again
                cutoff = time.monotonic() - self.replay_s
                again = [e for at, e in self.recent if at >= cutoff]
                self.recent.clear()
                self._insert_back(again)
                self.replayed += len(again)

    def _on_disconnect(
        self, client: mqtt.Client, userdata: object, flags: Any, reason: Any, properties: Any
    ) -> None:
        with self.lock:
            self.connected = False
            self._generation += 1
            # Unacknowledged messages go back to the outbox, in their original order.
            self._insert_back(list(self.inflight.values()))
            self.inflight.clear()
            self._early.clear()

    def _on_publish(
        self, client: mqtt.Client, userdata: object, mid: int, reason: Any, properties: Any
    ) -> None:
        with self.lock:
            entry = self.inflight.pop(mid, None)
            if entry is not None:
                self.acked += 1
                self._remember(entry)
            else:
                self._early.add(mid)  # acked before flush() recorded it

    def _remember(self, entry: _Entry) -> None:
        """Keep an acknowledged message for the replay window (caller holds the lock)."""
        now = time.monotonic()
        self.recent.append((now, entry))
        while self.recent and (now - self.recent[0][0] > self.replay_s or len(self.recent) > 20000):
            self.recent.popleft()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class MqttSink:
    """Publishes each robot's messages from its own client (client id = robot id)."""

    def __init__(
        self,
        endpoint: MqttEndpoint,
        *,
        passwords: dict[str, str] | None = None,
        protocol: str = "5",
    ) -> None:
        self.endpoint = endpoint
        self.passwords = passwords or {}
        self.protocol = protocol
        self.clients: dict[str, RobotClient] = {}
        self.sent = 0
        self._closing = threading.Event()
        # Refills each robot's inflight window as acks arrive and replays outboxes after
        # reconnects, without waiting for the robot's next message.
        self._flusher = threading.Thread(target=self._flush_loop, name="sim-flusher", daemon=True)
        self._flusher.start()

    def _flush_loop(self) -> None:
        while not self._closing.wait(0.05):
            for c in list(self.clients.values()):
                c.flush()

    def send(self, m: SimMessage) -> None:
        client = self.clients.get(m.robot_id)
        if client is None:
            client = RobotClient(
                m.robot_id, self.endpoint, self.passwords.get(m.robot_id), protocol=self.protocol
            )
            client.start()
            self.clients[m.robot_id] = client
        client.send(m)
        self.sent += 1
        # Keep memory bounded when the broker is slower than the simulation.
        while client.pending() > 20000:
            time.sleep(0.01)
            client.flush()

    def pending(self) -> int:
        return sum(c.pending() for c in self.clients.values())

    def close(self, timeout_s: float = 60.0) -> int:
        """Wait until every outbox is acknowledged (or timeout); return what is left."""
        deadline = time.monotonic() + timeout_s
        while self.pending() and time.monotonic() < deadline:
            for c in self.clients.values():
                c.flush()
            time.sleep(0.02)
        left = self.pending()
        self._closing.set()
        self._flusher.join()
        for c in self.clients.values():
            c.stop()
        return left


def pace(messages: Iterable[SimMessage], *, speed: float, start: datetime) -> Iterable[SimMessage]:
    """Release messages at ``speed`` simulated seconds per wall second (0 = as fast as possible)."""
    if speed <= 0:
        yield from messages
        return
    wall0 = time.monotonic()
    for m in messages:
        due = wall0 + (m.at - start).total_seconds() / speed
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        yield m
