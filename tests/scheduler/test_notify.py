"""Notifications: delivered to a local HTTP server and a local SMTP server, retried on failure."""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import psycopg
import pytest

from core.clock import FixedClock
from scheduler.notify import Channel, NotifyConfig, deliver, enqueue

pytestmark = pytest.mark.clock


class Http:
    """Records POSTed JSON bodies; answers 500 for the first ``fail`` requests."""

    def __init__(self, fail: int = 0) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.fail = fail
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if outer.fail > 0:
                    outer.fail -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                outer.bodies.append(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"errcode": 0}')

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


class Smtp:
    """A minimal SMTP server that keeps the DATA of each message."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.wfile.write(b"220 test\r\n")
                data: list[str] | None = None
                while line := self.rfile.readline():
                    text = line.decode(errors="replace").rstrip("\r\n")
                    if data is not None:
                        if text == ".":
                            outer.messages.append("\n".join(data))
                            data = None
                            self.wfile.write(b"250 queued\r\n")
                        else:
                            data.append(text)
                        continue
                    cmd = text[:4].upper()
                    if cmd == "DATA":
                        data = []
                        self.wfile.write(b"354 go\r\n")
                    elif cmd == "QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    elif cmd == "EHLO":
                        self.wfile.write(b"250 test\r\n")
                    else:
                        self.wfile.write(b"250 ok\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def db(fresh_db: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(fresh_db) as conn:
        yield conn


def test_each_channel_kind_delivers(
    db: psycopg.Connection[tuple[object, ...]], clock: FixedClock
) -> None:
    """Webhook JSON, WeCom and DingTalk markdown, and e-mail all arrive; region filters apply.
    Queued at the caller's ``now`` (never the database's), they are due at that instant."""
    hook, wecom, ding, mail = Http(), Http(), Http(), Smtp()
    config = NotifyConfig(
        channels=[
            Channel(name="ops", kind="webhook", url=hook.url),
            Channel(name="north-wecom", kind="wecom", url=wecom.url, regions=["north"]),
            Channel(name="south-ding", kind="dingtalk", url=ding.url, regions=["south"]),
            Channel(
                name="hq-mail",
                kind="email",
                smtp=mail.address,
                sender="aic@example.com",
                to=["aftersales@example.com"],
                events=["work_order_created"],
            ),
        ]
    )
    payload = {
        "number": "WO-20261201-000001",
        "title": "清洗油烟过滤网 / Clean the fume filter",
        "robot_id": "aic-bj-00001",
        "priority": 3,
        "due_at": "2026-12-05",
        "window": "2026-12-02 08:00–08:30 UTC",
    }
    assert (
        enqueue(
            db,
            config=config,
            event="work_order_created",
            region="north",
            payload=payload,
            now=clock.now(),
        )
        == 3
    )
    result = deliver(db, config=config, now=clock.now())
    assert (result.sent, result.retried, result.failed) == (3, 0, 0)
    assert hook.bodies[0]["event"] == "work_order_created"
    assert hook.bodies[0]["number"] == "WO-20261201-000001"
    assert "新工单" in wecom.bodies[0]["markdown"]["content"]
    assert ding.bodies == []
    import email

    parsed = email.message_from_string(mail.messages[0])
    body = parsed.get_payload(decode=True)
    assert isinstance(body, bytes) and "WO-20261201-000001" in body.decode()
    assert parsed["To"] == "aftersales@example.com"
    assert deliver(db, config=config, now=clock.now()).sent == 0  # nothing sent twice


def test_failures_are_retried_with_backoff_then_marked_failed(
    db: psycopg.Connection[tuple[object, ...]], clock: FixedClock
) -> None:
    """A failing endpoint is retried (1, 2, 4 … minutes); success clears it; a dead one fails."""
    flaky = Http(fail=2)
    config = NotifyConfig(
        channels=[
            Channel(name="flaky", kind="webhook", url=flaky.url),
            Channel(name="dead", kind="webhook", url="http://127.0.0.1:9/nothing", timeout_s=1),
        ]
    )
    enqueue(
        db,
        config=config,
        event="escalation",
        region="east",
        payload={"message": "x"},
        now=clock.now(),
    )
    t = clock.now()
    outcomes = []
    for _ in range(8):
        outcomes.append(deliver(db, config=config, now=t))
        t += timedelta(minutes=64)
    assert len(flaky.bodies) == 1
    rows = dict(db.execute("SELECT channel, status FROM notifications").fetchall())
    assert rows == {"flaky": "sent", "dead": "failed"}
    err = db.execute(
        "SELECT attempts, last_error FROM notifications WHERE channel = 'dead'"
    ).fetchone()
    assert err is not None and err[0] == 6 and err[1]
