"""Notifications to the regional leads: webhook (JSON), WeCom and DingTalk group robots, e-mail.

Events are written to the ``notifications`` outbox in the same transaction as
what caused them; ``deliver`` sends what is due, retrying with exponential
backoff, and leaves failures visible (status ``failed`` with the last error).

Configuration (YAML, ``AIC_NOTIFY_CONFIG``)::

    channels:
      - {name: north-wecom, kind: wecom, url: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…",
         regions: [north]}
      - {name: hq-mail, kind: email, smtp: "smtp.example.com:25", sender: aic@example.com,
         to: [aftersales@example.com], events: [escalation]}
      - {name: ops, kind: webhook, url: "https://ops.example.com/aic"}
"""

from __future__ import annotations

import json
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from core.db import Conn
from scheduler import notify_repository as outbox

EVENTS = (
    "work_order_created",
    "work_order_due",
    "work_order_overdue",
    "escalation",
    "robot_offline",
    "callback_overdue",
)
MAX_ATTEMPTS = 6


class Channel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: Literal["webhook", "wecom", "dingtalk", "email"]
    url: str | None = None
    smtp: str | None = None  # host:port
    sender: str | None = None
    to: list[str] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list)  # empty = every region
    events: list[str] = Field(default_factory=list)  # empty = every event
    timeout_s: float = 10.0

    def wants(self, event: str, region: str | None) -> bool:
        return (not self.events or event in self.events) and (
            not self.regions or region in self.regions
        )


class NotifyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    channels: list[Channel] = Field(default_factory=list)


def load_config(path: Path | None) -> NotifyConfig:
    if path is None:
        return NotifyConfig()
    return NotifyConfig.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


def enqueue(
    conn: Conn,
    *,
    config: NotifyConfig,
    event: str,
    region: str | None,
    payload: dict[str, Any],
    now: datetime,
) -> int:
    """Queue the event for every channel that wants it, due at ``now``; return how many."""
    targets = [c.name for c in config.channels if c.wants(event, region)]
    body = json.dumps(payload, default=str, ensure_ascii=False)
    for name in targets:
        outbox.add(conn, event=event, region=region, channel=name, payload=body, now=now)
    return len(targets)


def render_text(event: str, p: dict[str, Any]) -> str:
    """Chinese first for the leads, English after."""
    if event == "work_order_created":
        window = p.get("window") or "待定 to be agreed"
        return (
            f"新工单 New work order {p.get('number')}: {p.get('title')}\n"
            f"设备 Robot {p.get('robot_id')} · 优先级 Priority {p.get('priority')} · "
            f"截止 Due {p.get('due_at')}\n建议上门时间 Proposed visit: {window}"
        )
    return f"[{event}] {p.get('message') or p}"


def _post_json(url: str, body: dict[str, Any], timeout: float) -> None:
    req = urllib.request.Request(
        url,
        data=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        reply = resp.read()
    # WeCom and DingTalk answer 200 with {"errcode": N} on errors.
    try:
        code = json.loads(reply or b"{}").get("errcode", 0)
    except (ValueError, AttributeError):
        code = 0
    if code:
        raise RuntimeError(f"channel answered errcode {code}: {reply[:200]!r}")


def send(channel: Channel, event: str, payload: dict[str, Any]) -> None:
    """Deliver one notification; raise on failure."""
    text = render_text(event, payload)
    if channel.kind == "webhook":
        assert channel.url, f"{channel.name}: url missing"
        _post_json(channel.url, {"event": event, **payload}, channel.timeout_s)
    elif channel.kind == "wecom":
        assert channel.url, f"{channel.name}: url missing"
        _post_json(
            channel.url, {"msgtype": "markdown", "markdown": {"content": text}}, channel.timeout_s
        )
    elif channel.kind == "dingtalk":
        assert channel.url, f"{channel.name}: url missing"
        _post_json(
            channel.url,
            {"msgtype": "markdown", "markdown": {"title": f"AIC {event}", "text": text}},
            channel.timeout_s,
        )
    else:
        assert channel.smtp and channel.sender and channel.to, f"{channel.name}: smtp settings"
        host, _, port = channel.smtp.partition(":")
        msg = EmailMessage()
        msg["Subject"] = text.splitlines()[0]
        msg["From"] = channel.sender
        msg["To"] = ", ".join(channel.to)
        msg.set_content(text)
        with smtplib.SMTP(host, int(port or 25), timeout=channel.timeout_s) as smtp:
            smtp.send_message(msg)


@dataclass(frozen=True)
class Delivery:
    sent: int
    retried: int
    failed: int


def deliver(conn: Conn, *, config: NotifyConfig, now: datetime, limit: int = 100) -> Delivery:
    """Send what is due; failures back off 1, 2, 4 … minutes, then are marked failed."""
    channels = {c.name: c for c in config.channels}
    sent = retried = failed = 0
    rows = outbox.due(conn, now=now, limit=limit)
    for nid, event, name, payload, attempts in rows:
        channel = channels.get(name)
        try:
            if channel is None:
                raise RuntimeError(f"channel {name!r} is no longer configured")
            send(channel, event, payload)
        except (
            OSError,
            RuntimeError,
            AssertionError,
            urllib.error.URLError,
            smtplib.SMTPException,
        ) as exc:
            attempts += 1
            final = attempts >= MAX_ATTEMPTS or channel is None
            outbox.attempt_failed(
                conn,
                notification_id=nid,
                attempts=attempts,
                error=f"{type(exc).__name__}: {exc}"[:500],
                final=final,
                retry_at=now + timedelta(minutes=2 ** (attempts - 1)),
            )
            failed += final
            retried += not final
            continue
        outbox.sent(conn, notification_id=nid, attempts=attempts + 1, now=now)
        sent += 1
    return Delivery(sent, retried, failed)
