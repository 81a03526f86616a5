"""The readings-bounded queue between paho's network thread and the writer (no services)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from ingest.contract import Parsed, Reading
from ingest.inbox import Inbox
from ingest.writer import Inbound


def _reading(seq: int) -> Reading:
    ts = datetime(2026, 12, 3, 4, 0, tzinfo=UTC)
    return Reading(
        robot_id="aic-bj-00001", seq=seq, ts=ts, model=None, fw=None, state="idle",
        recipe=None, m={}, extra={}, counters={}, err=[],
    )  # fmt: skip


def _message(n_readings: int) -> Inbound:
    readings = [_reading(i) for i in range(n_readings)]
    kind = "telemetry" if readings else "status"
    return Inbound(
        topic="aic/v1/aic-bj-00001/telemetry", payload=b"{}", mid=1, qos=1, gen=1,
        parsed=Parsed(kind, "aic-bj-00001", readings=readings), received=0.0,
    )  # fmt: skip


def test_counts_readings_in_and_out() -> None:
    box = Inbox(readings_limit=1000)
    assert box.put_when_room(_message(100), timeout_s=0)
    assert box.put_when_room(_message(0), timeout_s=0)  # an event or status weighs one
    assert box.readings == 101
    box.get_nowait()
    assert box.readings == 1


def test_waits_for_the_writer_to_make_room() -> None:
    box = Inbox(readings_limit=150)
    box.put_when_room(_message(100), timeout_s=0)
    timer = threading.Timer(0.2, box.get_nowait)
    timer.start()
    began = time.monotonic()
    assert box.put_when_room(_message(100), timeout_s=10)  # room once the first is taken
    assert time.monotonic() - began < 9  # woken by get(), not by the timeout
    assert box.readings == 100 and box.qsize() == 1


def test_a_stalled_writer_does_not_lose_the_message() -> None:
    box = Inbox(readings_limit=150)
    box.put_when_room(_message(100), timeout_s=0)
    assert not box.put_when_room(_message(100), timeout_s=0.05)  # queued past the limit
    assert box.qsize() == 2 and box.readings == 200


def test_a_message_bigger_than_the_limit_passes_an_empty_queue() -> None:
    box = Inbox(readings_limit=10)
    assert box.put_when_room(_message(500), timeout_s=0)


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Inbox(readings_limit=0)
