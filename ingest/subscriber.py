"""The MQTT side of ingest: a persistent-session paho client whose callbacks only parse and enqueue."""

from __future__ import annotations

import logging
import ssl
import threading
import time
import uuid
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from core.clock import Clock, SystemClock
from core.settings import MqttEndpoint
from ingest.inbox import Inbox
from ingest.messages import MAX_PAYLOAD_BYTES, parse_message
from ingest.metrics import IngestMetrics
from ingest.writer import Inbound

logger = logging.getLogger(__name__)

TOPICS = ("aic/v1/+/telemetry", "aic/v1/+/event", "aic/v1/+/status")


def subscriptions(shared_group: str | None) -> list[tuple[str, int]]:
    """The QoS 1 subscriptions, as ``$share/GROUP/…`` when load is split between processes."""
    prefix = f"$share/{shared_group}/" if shared_group else ""
    return [(prefix + topic, 1) for topic in TOPICS]


SESSION_TAKEN_OVER = 0x8E  # MQTT v5 DISCONNECT reason code


def anonymous_allowed(endpoint: MqttEndpoint, *, timeout_s: float = 5.0) -> bool:
    """Whether the broker accepts a client with no credentials (a fresh, throw-away id and
    session, so nothing of anyone's session is touched)."""
    accepted = threading.Event()
    answered = threading.Event()
    probe = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"aic-anonymous-probe-{uuid.uuid4().hex[:12]}",
        protocol=mqtt.MQTTv311,
        clean_session=True,
    )

    def on_connect(c: mqtt.Client, u: object, f: Any, reason: Any, p: Any) -> None:
        if not reason.is_failure:
            accepted.set()
        answered.set()

    probe.on_connect = on_connect
    if endpoint.tls:
        probe.tls_set(cert_reqs=ssl.CERT_REQUIRED)
    try:
        probe.connect(endpoint.host, endpoint.port, keepalive=10)
    except OSError:
        return False
    probe.loop_start()
    answered.wait(timeout_s)
    probe.disconnect()
    probe.loop_stop()
    return accepted.is_set()


class Subscriber:
    """Receives robot messages; ``ack()`` is called by the writer after COMMIT."""

    def __init__(
        self,
        endpoint: MqttEndpoint,
        *,
        client_id: str,
        inbox: Inbox,
        metrics: IngestMetrics,
        shared_group: str | None = None,
        session_expiry_s: int = 7 * 24 * 3600,
        receive_maximum: int = 2000,
        protocol: str = "5",
        clock: Clock | None = None,
        queue_limit: int = 20000,
        keepalive_s: int = 30,
        room_wait_s: float = 1.0,
    ) -> None:
        self.endpoint = endpoint
        self.clock = clock or SystemClock()
        self.client_id = client_id
        self.inbox = inbox
        self.metrics = metrics
        self.shared_group = shared_group
        self.session_expiry_s = session_expiry_s
        # Flow control is the broker's: it may send at most this many unacknowledged
        # messages (MQTT v5 receive maximum), no more than the queue is meant to hold. The
        # queue itself never blocks paho's network thread (keepalive goes on during a
        # database stall); a broker that sends more anyway is counted and reported.
        self.queue_limit = queue_limit
        self.receive_maximum = min(receive_maximum, queue_limit)
        self.keepalive_s = keepalive_s
        # How long the network thread waits for the writer to make room for a message's
        # readings (Inbox): short against the keepalive, so pings go on during a stall.
        self.room_wait_s = room_wait_s
        self.disconnects = 0
        self.sessions_lost = 0
        self._full_warned = -1e9
        self.protocol = protocol
        self.generation = 0
        self.connected = threading.Event()
        self._lock = threading.Lock()
        self._client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        v5 = self.protocol == "5"
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else False,
            manual_ack=True,
            reconnect_on_failure=True,
        )
        client.max_inflight_messages_set(1000)
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        if self.endpoint.username:
            client.username_pw_set(self.endpoint.username, self.endpoint.password)
        if self.endpoint.tls:
            client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def start(self, *, timeout_s: float = 15.0) -> None:
        """Connect (MQTT v5, falling back to 3.1.1) and start the network thread.

        A broker that does not speak v5 either refuses with "unsupported protocol
        version" or drops the connection without a CONNACK (amqtt); both fall back.
        """
        v5 = self.protocol == "5"
        props = None
        if v5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = self.session_expiry_s
            props.ReceiveMaximum = self.receive_maximum
        self._refused: Any = None
        try:
            self._client.connect(
                self.endpoint.host,
                self.endpoint.port,
                keepalive=self.keepalive_s,
                clean_start=False if v5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
                properties=props,
            )
        except OSError as exc:
            raise ConnectionError(
                f"AIC_MQTT_URL: cannot connect to {self.endpoint.url}: {exc}"
            ) from exc
        self._client.loop_start()
        deadline = time.monotonic() + (min(5.0, timeout_s) if v5 else timeout_s)
        while not self.connected.is_set() and time.monotonic() < deadline:
            if self._refused is not None:
                break
            time.sleep(0.02)
        if self.connected.is_set():
            return
        self._client.loop_stop()
        self._client.disconnect()
        refused_auth = self._refused is not None and "protocol" not in str(self._refused).lower()
        if v5 and not refused_auth:
            logger.warning(
                "no MQTT v5 session with %s (%s); falling back to MQTT 3.1.1",
                self.endpoint.url,
                self._refused or "no CONNACK",
            )
            self.protocol = "3.1.1"
            self._client = self._make_client()
            self.start(timeout_s=timeout_s)
            return
        raise ConnectionError(
            f"AIC_MQTT_URL: no connection to {self.endpoint.url}"
            + (f" ({self._refused})" if self._refused else "")
        )

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def ack(self, item: Inbound) -> None:
        """Acknowledge a stored message, unless it came from an earlier connection.

        After a reconnect the broker redelivers unacknowledged messages and may reuse
        their packet ids, so an ack for an old connection's message is never sent.
        """
        if item.qos == 0 or item.gen != self.generation:
            return
        self._client.ack(item.mid, item.qos)

    # -- paho callbacks (network thread): parse and enqueue only ------------------
    def _on_connect(
        self, client: mqtt.Client, userdata: object, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            logger.error("broker refused the connection: %s", reason)
            self._refused = reason
            return
        with self._lock:
            self.generation += 1
        session = getattr(flags, "session_present", False)
        logger.info("connected to %s (session present: %s)", self.endpoint.url, session)
        if self.generation > 1 and not session:
            # We had a session a moment ago and its expiry is a week: someone else connected
            # with our client id (a clean start wipes the session and what was queued in it).
            self.sessions_lost += 1
            logger.critical(
                "the broker lost this client's session (%s) between two connections: another"
                " client took the client id over, and messages queued for ingest may be lost;"
                " make the broker bind client ids to users (use_username_as_clientid)",
                self.client_id,
            )
        client.subscribe(subscriptions(self.shared_group))
        self.connected.set()

    def _on_disconnect(
        self, client: mqtt.Client, userdata: object, flags: Any, reason: Any, properties: Any
    ) -> None:
        self.connected.clear()
        self.disconnects += 1
        if getattr(reason, "value", None) == SESSION_TAKEN_OVER:
            logger.critical(
                "another client connected with this client id (%s) and took the session over:"
                " make the broker bind client ids to users (use_username_as_clientid)",
                self.client_id,
            )
        logger.warning(
            "disconnected from broker (%s); unacked messages will be redelivered", reason
        )

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        payload = msg.payload if isinstance(msg.payload, bytes) else bytes(msg.payload)
        topic = msg.topic  # a property that decodes the topic's bytes on every access
        parsed = parse_message(topic, payload, now=self.clock.now())
        item = Inbound(
            topic=topic,
            # An oversized message is a quarantine row of its first 64 KiB (in ``parsed``):
            # holding the rest while it waits would let a few big messages fill memory.
            payload=payload[:MAX_PAYLOAD_BYTES],
            mid=msg.mid,
            qos=msg.qos,
            gen=self.generation,
            parsed=parsed,
            received=time.time(),
        )
        roomy = self.inbox.put_when_room(item, timeout_s=self.room_wait_s)
        if not roomy or self.inbox.qsize() > self.queue_limit:
            # The writer is stalled or far behind: the queue holds more readings than its
            # limit, or the broker sent more unacknowledged messages than our receive
            # maximum (MQTT 3.1.1 has none; Mosquitto 2.0 lets a few more through while
            # acks flow). Nothing is dropped, and memory stays bounded by the broker's own
            # in-flight limit; say it once in a while, not per message.
            self.metrics.queue_full.inc()
            now = time.monotonic()
            if now - self._full_warned >= 30.0:
                self._full_warned = now
                logger.warning(
                    "ingest queue past its limit (%d messages, %d readings; limits %d and %d):"
                    " the writer is behind; is the database slow?",
                    self.inbox.qsize(),
                    self.inbox.readings,
                    self.queue_limit,
                    self.inbox.readings_limit,
                )
