"""Work-order use cases: moving an order through its lifecycle, with completion."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from core.db import Conn
from core.errors import NotFoundError
from service import actors, lifecycle, policy, records
from service import repository as repo


def transition(
    conn: Conn,
    *,
    order_id: int,
    to: str,
    actor: str,
    note: str | None = None,
    technician_id: str | None = None,
    window: tuple[datetime, datetime] | None = None,
    completion: dict[str, Any] | None = None,
    now: datetime,
) -> dict[str, Any]:
    """Move a work order to ``to`` if the policy lets ``actor`` (a staff id) do it and the
    lifecycle allows it; audit who, when, from, to.

    All or nothing: a refusal half-way (no stock for a part) leaves no trace. An actor who
    is no active staff member is refused (UnknownActorError), a role, region or assignment
    that does not allow the move too (ForbiddenError), before the lifecycle is asked.
    """
    with conn.transaction():
        who = actors.require(conn, actor)
        order = repo.get_order(conn, order_id=order_id, lock=True)
        if order is None:
            raise NotFoundError("work order", order_id)
        policy.authorize_move(who, order, to)
        lifecycle.check(
            order, to, completion=completion, window=window, technician_id=technician_id
        )
        at = now
        changes: dict[str, Any] = {"status": to}
        if to == "on_hold":
            changes["held_from"] = order["status"]
        if technician_id:
            changes["technician_id"] = technician_id
        if window:
            changes["window_start"], changes["window_end"] = window
        if to == "completed":
            assert completion is not None
            changes["completion"], changes["warranty"] = records.complete(
                conn, order=order, completion=completion, actor=actor, at=at
            )
        repo.update_order(
            conn,
            order_id=order_id,
            changes=changes,
            actor=actor,
            from_status=order["status"],
            note=note,
            at=at,
        )
        if to == "completed":
            repo.record_completions(conn, order=order, at=at)
            # 4.2.2 B: phone-guided simple fix → callback after 2 h; 4.3.1: uncertain fix → 3 h.
            if completion and completion.get("phone_guided"):
                repo.add_callback(
                    conn, order_id=order_id, kind="phone_guided", due=at + timedelta(hours=2)
                )
            elif completion and completion.get("uncertain"):
                repo.add_callback(
                    conn, order_id=order_id, kind="uncertain_fix", due=at + timedelta(hours=3)
                )
            else:
                repo.add_callback(
                    conn, order_id=order_id, kind="verification", due=at + timedelta(days=1)
                )
    updated = repo.get_order(conn, order_id=order_id)
    assert updated is not None
    return updated


def record_callback(
    conn: Conn,
    *,
    order_id: int,
    kind: str,
    actor: str,
    satisfied: bool,
    notes: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Record a customer callback (客户回访) of ``order_id`` done by ``actor`` at ``now``."""
    who = actors.require(conn, actor)
    order = repo.get_order(conn, order_id=order_id)
    if order is None:
        raise NotFoundError("work order", order_id)
    policy.authorize_callback(who, order)
    done = repo.close_callback(
        conn,
        order_id=order_id,
        kind=kind,
        staff_id=who.staff_id,
        satisfied=satisfied,
        notes=notes,
        now=now,
    )
    if done is None:
        raise NotFoundError("open callback", f"{order_id}/{kind}")
    return done
