"""SQL of the notification outbox: written in the same transaction as the event, sent
later by the notify job (so a notification is never lost nor sent for a rolled-back event).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.db import Conn


def add(
    conn: Conn, *, event: str, region: str | None, channel: str, payload: str, now: datetime
) -> None:
    conn.execute(
        """INSERT INTO notifications (event, region, channel, payload, next_attempt_at,
               created_at) VALUES (%s, %s, %s, %s, %s, %s)""",
        (event, region, channel, payload, now, now),
    )


def due(conn: Conn, *, now: datetime, limit: int) -> list[tuple[int, str, str, Any, int]]:
    """(id, event, channel, payload, attempts) of pending notifications due at ``now``,
    locked for this sender (another sender skips them)."""
    return conn.execute(
        """SELECT id, event, channel, payload, attempts FROM notifications
           WHERE status = 'pending' AND next_attempt_at <= %s
           ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED""",
        (now, limit),
    ).fetchall()


def attempt_failed(
    conn: Conn,
    *,
    notification_id: int,
    attempts: int,
    error: str,
    final: bool,
    retry_at: datetime,
) -> None:
    conn.execute(
        """UPDATE notifications SET attempts = %s, last_error = %s, status = %s,
                  next_attempt_at = %s WHERE id = %s""",
        (attempts, error, "failed" if final else "pending", retry_at, notification_id),
    )


def sent(conn: Conn, *, notification_id: int, attempts: int, now: datetime) -> None:
    conn.execute(
        "UPDATE notifications SET status = 'sent', sent_at = %s, attempts = %s WHERE id = %s",
        (now, attempts, notification_id),
    )
