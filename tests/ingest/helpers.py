"""Builders and waiters for ingest tests."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from core.settings import parse_mqtt_url

ROBOTS = ["aic-bj-00001", "aic-bj-00002", "aic-tj-00004", "aic-sjz-00006"]


def reading(robot_id: str, seq: int, ts: datetime | None = None, **m: float) -> dict[str, Any]:
    """A valid reading of the telemetry contract."""
    ts = ts or datetime.now(UTC) - timedelta(seconds=10)
    return {
        "v": 1,
        "robot_id": robot_id,
        "seq": seq,
        "ts": ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "model": "AIC-W1",
        "fw": "3.2.1",
        "state": "cooking",
        "recipe": "gongbao-chicken",
        "m": {"wok_temp_c": 200.0, "heater_power_w": 3400.0, "igbt_temp_c": 70.0, **m},
        "c": {"cycles_total": 1000 + seq, "heater_hours": 100.0, "run_hours": 200.0},
        "err": [],
    }


def wait_until(predicate: Callable[[], bool], *, timeout_s: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what or predicate}")


def count(url: str, query: str, params: tuple[Any, ...] = ()) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(query, params).fetchone()
    assert row is not None
    return int(row[0])


class Publisher:
    """A QoS 1 publisher that waits for every PUBACK."""

    def __init__(self, url: str, client_id: str | None = None) -> None:
        ep = parse_mqtt_url(url)
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"pub-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5,
        )
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        if ep.username:
            self.client.username_pw_set(ep.username, ep.password)
        self.client.connect(ep.host, ep.port)
        self.client.loop_start()

    def publish(
        self,
        topic: str,
        payload: bytes | str | dict[str, Any],
        *,
        retain: bool = False,
        wait: bool = True,
    ) -> mqtt.MQTTMessageInfo:
        if isinstance(payload, dict):
            payload = json.dumps(payload)
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        if wait:
            info.wait_for_publish(10)
        return info

    def telemetry(self, readings: Iterable[dict[str, Any]], *, batch: int = 0) -> int:
        """Publish readings (one per message, or ``batch`` per message); return how many."""
        items = list(readings)
        infos = []
        if batch:
            per_robot: dict[str, list[dict[str, Any]]] = {}
            for item in items:
                per_robot.setdefault(item["robot_id"], []).append(item)
            for robot, robot_items in per_robot.items():
                for i in range(0, len(robot_items), batch):
                    chunk = robot_items[i : i + batch]
                    infos.append(
                        self.publish(f"aic/v1/{robot}/telemetry", {"batch": chunk}, wait=False)
                    )
        else:
            for item in items:
                infos.append(self.publish(f"aic/v1/{item['robot_id']}/telemetry", item, wait=False))
        for info in infos:
            info.wait_for_publish(30)
        return len(items)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Stopwatch(threading.Thread):
    """Runs a function repeatedly in the background until stopped (for chaos)."""

    def __init__(self, fn: Callable[[], None], every_s: float) -> None:
        super().__init__(daemon=True)
        self.fn, self.every_s, self.done = fn, every_s, threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.every_s):
            self.fn()
