"""Broker security with deploy/mosquitto: per-robot credentials, ACL on the username, no anonymous."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from core.credentials import CredentialError, provision, revoke
from tests.brokers import ProjectBroker, mosquitto_binary, start_project_broker
from tests.conftest import unavailable

pytestmark = pytest.mark.broker


@pytest.fixture
def secure_broker(tmp_path: Path) -> Iterator[tuple[ProjectBroker, dict[str, str]]]:
    if mosquitto_binary() is None:
        unavailable("mosquitto is not installed")
    broker = start_project_broker(tmp_path / "broker", auth=True)
    pw = broker.data_dir / "passwords"
    creds = {name: provision(pw, name) for name in ("aic-bj-00001", "aic-bj-00002", "aic-ingest")}
    reload(broker)
    yield broker, creds
    broker.stop()


def reload(broker: ProjectBroker) -> None:
    assert broker.process is not None
    broker.process.send_signal(signal.SIGHUP)
    time.sleep(0.3)


class Client:
    def __init__(self, broker: ProjectBroker, user: str | None, password: str | None) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.result: object = None
        self.connected = threading.Event()
        self.c = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{user or 'anon'}-{time.time_ns()}",
            protocol=mqtt.MQTTv5,
        )
        if user:
            self.c.username_pw_set(user, password)
        self.c.on_connect = self._on_connect
        self.c.on_message = lambda c, u, m: self.messages.append((m.topic, m.payload))
        self.c.connect("127.0.0.1", broker.port)
        self.c.loop_start()
        self.connected.wait(5)

    def _on_connect(self, c: mqtt.Client, u: object, f: object, reason: object, p: object) -> None:
        self.result = reason
        self.connected.set()

    @property
    def ok(self) -> bool:
        return not getattr(self.result, "is_failure", True)

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()
        sock = self.c.socket()  # still open if the broker dropped us (refused publish)
        if sock is not None:
            sock.close()


def test_anonymous_is_refused(secure_broker: tuple[ProjectBroker, dict[str, str]]) -> None:
    broker, _ = secure_broker
    anon = Client(broker, None, None)
    assert not anon.ok
    wrong = Client(broker, "aic-bj-00001", "wrong password")
    assert not wrong.ok
    anon.close()
    wrong.close()


def test_robot_cannot_publish_as_another_robot(
    secure_broker: tuple[ProjectBroker, dict[str, str]],
) -> None:
    """A robot's messages on another robot's topic never reach ingest; its own do.

    The broker either answers the forged publish with "not authorized" or drops
    the offending connection; both are fine, the message must not get through.
    """
    broker, creds = secure_broker
    ingest = Client(broker, "aic-ingest", creds["aic-ingest"])
    assert ingest.ok
    ingest.c.subscribe("aic/v1/+/telemetry", qos=1)
    a = Client(broker, "aic-bj-00001", creds["aic-bj-00001"])
    assert a.ok
    time.sleep(0.3)
    # RuntimeError/ValueError: the broker closed the connection, i.e. refused.
    with contextlib.suppress(RuntimeError, ValueError):
        a.c.publish("aic/v1/aic-bj-00002/telemetry", b"forged", qos=1).wait_for_publish(5)
    a.close()
    a = Client(broker, "aic-bj-00001", creds["aic-bj-00001"])
    a.c.publish("aic/v1/aic-bj-00001/telemetry", b"genuine", qos=1).wait_for_publish(5)
    deadline = time.monotonic() + 10
    while b"genuine" not in [p for _, p in ingest.messages] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [p for _, p in ingest.messages] == [b"genuine"]
    for c in (ingest, a):
        c.close()


def test_robot_cannot_read_everything(secure_broker: tuple[ProjectBroker, dict[str, str]]) -> None:
    """Subscribing to '#' yields nothing of other robots' traffic."""
    broker, creds = secure_broker
    spy = Client(broker, "aic-bj-00001", creds["aic-bj-00001"])
    spy.c.subscribe("#", qos=1)
    spy.c.subscribe("aic/v1/+/telemetry", qos=1)
    b = Client(broker, "aic-bj-00002", creds["aic-bj-00002"])
    time.sleep(0.3)
    b.c.publish("aic/v1/aic-bj-00002/telemetry", b"private", qos=1).wait_for_publish(5)
    time.sleep(0.5)
    assert b"private" not in [p for _, p in spy.messages]
    for c in (spy, b):
        c.close()


def test_wildcards_in_ids_are_refused(tmp_path: Path) -> None:
    """Ids with MQTT wildcards or separators can never become usernames (ACL escape)."""
    for bad in ("aic+1", "aic#", "a/b", "%u-x", "AB"):
        with pytest.raises(CredentialError):
            provision(tmp_path / "pw", bad)


def test_revoked_robot_cannot_reconnect(
    secure_broker: tuple[ProjectBroker, dict[str, str]],
) -> None:
    broker, creds = secure_broker
    first = Client(broker, "aic-bj-00002", creds["aic-bj-00002"])
    assert first.ok
    first.close()
    revoke(broker.data_dir / "passwords", "aic-bj-00002")
    reload(broker)
    again = Client(broker, "aic-bj-00002", creds["aic-bj-00002"])
    assert not again.ok
    again.close()


def test_simulated_robots_publish_with_their_own_credentials(
    secure_broker: tuple[ProjectBroker, dict[str, str]],
    fleet: object,
    fresh_db: str,
    start_ingest: object,
) -> None:
    """The simulator's per-robot credentials work against the secured broker end to end."""
    from datetime import UTC, datetime, timedelta

    from core.fleet import Fleet
    from core.settings import parse_mqtt_url
    from firmware_sim.engine import build_simulation
    from firmware_sim.outputs import MqttSink
    from firmware_sim.scenario import Scenario
    from tests.ingest.helpers import count, wait_until

    broker, creds = secure_broker
    assert isinstance(fleet, Fleet) and callable(start_ingest)
    start_ingest(fresh_db, f"mqtt://aic-ingest:{creds['aic-ingest']}@127.0.0.1:{broker.port}")
    sim = build_simulation(
        fleet,
        Scenario(
            end=datetime.now(UTC) - timedelta(minutes=1),
            days=1,
            robots=["aic-bj-00001", "aic-bj-00002"],
            seed=3,
            sample_s=300,
        ),
    )
    sink = MqttSink(
        parse_mqtt_url(broker.url),
        passwords={r: creds[r] for r in ("aic-bj-00001", "aic-bj-00002")},
    )
    for m in sim.messages():
        sink.send(m)
    assert sink.close(timeout_s=30) == 0
    readings = sim.counts()["readings"]
    wait_until(lambda: count(fresh_db, "SELECT count(*) FROM telemetry") == readings, timeout_s=30)


def _session(
    broker: ProjectBroker, user: str, password: str, client_id: str, *, clean: bool
) -> tuple[mqtt.Client, list[bytes], dict[str, object]]:
    """An MQTT v5 client with a persistent session (1 h), auto-acking what it receives."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    got: list[bytes] = []
    info: dict[str, object] = {}
    connected = threading.Event()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    c.username_pw_set(user, password)

    def on_connect(cl: mqtt.Client, u: object, flags: object, reason: object, p: object) -> None:
        info["session_present"] = getattr(flags, "session_present", None)
        info["reason"] = reason
        connected.set()

    c.on_connect = on_connect
    c.on_message = lambda cl, u, m: got.append(m.payload)
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    c.connect("127.0.0.1", broker.port, clean_start=clean, properties=props)
    c.loop_start()
    assert connected.wait(5)
    return c, got, info


def _stop(c: mqtt.Client) -> None:
    c.disconnect()
    c.loop_stop()


@pytest.mark.parametrize("clean", [False, True])
def test_no_robot_can_take_over_ingests_session(
    secure_broker: tuple[ProjectBroker, dict[str, str]], clean: bool
) -> None:
    """Issue 18's reproduction: with ingest away, robot B publishes 50 QoS 1 readings (the
    broker acknowledges them); robot A, with its own valid credentials, connects with
    ingest's client id and leaves. When ingest comes back its session is intact: all 50
    arrive. The broker binds the client id to the user (use_username_as_clientid)."""
    broker, creds = secure_broker
    ingest, _, _ = _session(broker, "aic-ingest", creds["aic-ingest"], "aic-ingest-svc", clean=True)
    ingest.subscribe("aic/v1/+/telemetry", qos=1)
    time.sleep(0.3)
    _stop(ingest)
    b, _, _ = _session(broker, "aic-bj-00002", creds["aic-bj-00002"], "aic-bj-00002", clean=True)
    for i in range(50):
        b.publish("aic/v1/aic-bj-00002/telemetry", str(i).encode(), qos=1).wait_for_publish(5)
    _stop(b)
    a, _, _ = _session(broker, "aic-bj-00001", creds["aic-bj-00001"], "aic-ingest-svc", clean=clean)
    time.sleep(0.3)
    _stop(a)
    ingest, got, info = _session(
        broker, "aic-ingest", creds["aic-ingest"], "aic-ingest-svc", clean=False
    )
    deadline = time.monotonic() + 10
    while len(got) < 50 and time.monotonic() < deadline:
        time.sleep(0.05)
    _stop(ingest)
    assert info["session_present"] is True
    assert sorted(int(p) for p in got) == list(range(50))


def test_broker_refuses_packets_over_one_mebibyte(
    secure_broker: tuple[ProjectBroker, dict[str, str]],
) -> None:
    """A 2 MB publish never reaches ingest (the broker drops the sender); a 100 kB one,
    over the contract's 64 KiB but under the broker's 1 MiB, does (ingest quarantines it)."""
    broker, creds = secure_broker
    ingest = Client(broker, "aic-ingest", creds["aic-ingest"])
    ingest.c.subscribe("aic/v1/+/telemetry", qos=1)
    robot = Client(broker, "aic-bj-00001", creds["aic-bj-00001"])
    time.sleep(0.3)
    with contextlib.suppress(RuntimeError, ValueError):
        robot.c.publish("aic/v1/aic-bj-00001/telemetry", b"x" * 2_000_000, qos=1).wait_for_publish(
            3
        )
    robot.close()
    robot = Client(broker, "aic-bj-00001", creds["aic-bj-00001"])
    robot.c.publish("aic/v1/aic-bj-00001/telemetry", b"y" * 100_000, qos=1).wait_for_publish(5)
    deadline = time.monotonic() + 5
    while not ingest.messages and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    assert [len(p) for _, p in ingest.messages] == [100_000]
    for c in (ingest, robot):
        c.close()


def test_ingest_refuses_a_broker_that_lets_anyone_in(
    secure_broker: tuple[ProjectBroker, dict[str, str]],
    fresh_db: str,
    start_ingest: object,
    tmp_path: Path,
) -> None:
    """Ingest will not run against a broker that accepts anonymous clients, nor without a
    user of its own, unless told it is a development broker; the secured broker passes."""
    from core.settings import parse_mqtt_url
    from ingest.service import IngestConfig, IngestService

    broker, creds = secure_broker
    assert callable(start_ingest)
    open_broker = start_project_broker(tmp_path / "open")  # anonymous access on
    open_url = open_broker.url
    with pytest.raises(ConnectionError, match="has no user"):
        start_ingest(fresh_db, open_url, insecure_broker_ok=False)
    user_url = open_url.replace("mqtt://", f"mqtt://aic-ingest:{creds['aic-ingest']}@")
    with pytest.raises(ConnectionError, match="accepts anonymous clients"):
        IngestService(
            IngestConfig(database_url=fresh_db, endpoint=parse_mqtt_url(user_url))
        ).check_broker()
    secure = f"mqtt://aic-ingest:{creds['aic-ingest']}@127.0.0.1:{broker.port}"
    service = start_ingest(fresh_db, secure, insecure_broker_ok=False)
    assert service.subscriber.connected.is_set()
    open_broker.stop()


def test_ingest_says_so_when_its_session_is_taken_over(
    project_broker: ProjectBroker,
    fresh_db: str,
    start_ingest: object,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """On a broker that does not bind client ids to users, a client connecting with ingest's
    client id (clean start) kicks ingest off and wipes its session; when ingest is back it
    finds its session gone and logs it as critical, naming the broker setting."""
    import logging

    from tests.ingest.helpers import wait_until

    assert callable(start_ingest)
    caplog.set_level(logging.CRITICAL, logger="ingest.subscriber")
    service = start_ingest(fresh_db, project_broker.url, client_id="aic-ingest-victim")
    intruder = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id="aic-ingest-victim",
        protocol=mqtt.MQTTv5,
        reconnect_on_failure=False,
    )
    intruder.connect("127.0.0.1", project_broker.port, clean_start=True)
    intruder.loop_start()
    time.sleep(0.5)
    intruder.disconnect()
    intruder.loop_stop()
    wait_until(lambda: service.subscriber.sessions_lost >= 1, timeout_s=15, what="detection")
    assert "lost this client's session" in caplog.text
    assert "use_username_as_clientid" in caplog.text
