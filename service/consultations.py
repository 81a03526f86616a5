"""Consultations (咨询): a customer's question and the answer given, on the record (chapter 1:
接受客户的咨询和投诉，解答客户提出的…问题，并作好记录). Taken by HQ or the region's lead."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.db import Conn
from core.errors import NotFoundError
from service import actors, policy
from service import repository as repo
from service.errors import ForbiddenError

CHANNELS = ("phone", "wechat", "email", "walk_in")


def record(
    conn: Conn,
    *,
    robot_id: str,
    question: str,
    answer: str,
    channel: str,
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    """Record a consultation about ``robot_id`` (its customer and region come from it)."""
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}, got {channel!r}")
    if not question.strip() or not answer.strip():
        raise ValueError("a consultation needs the question and the answer given 问题与解答必填")
    who = actors.require(conn, actor)
    robot = repo.robot_owner(conn, robot_id=robot_id)
    if robot is None:
        raise NotFoundError("robot", robot_id)
    reason = policy.intake_refusal(who, robot["region"])
    if reason:
        raise ForbiddenError(who.staff_id, reason)
    return repo.insert_consultation(
        conn,
        customer_id=robot["customer_id"],
        region=robot["region"],
        robot_id=robot_id,
        at=now,
        channel=channel,
        question=question.strip(),
        answer=answer.strip(),
        staff_id=who.staff_id,
    )
