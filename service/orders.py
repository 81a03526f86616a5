"""Work-order use cases: moving an order through its lifecycle, with completion."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from core.clock import local_date
from core.db import Conn
from core.errors import NotFoundError
from service import actors, lifecycle, policy, quotes, records, visits
from service import repository as repo
from service.errors import InvalidTransitionError


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
    override_reason: str | None = None,
    no_callback_reason: str | None = None,
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
        problem = visits.check(
            conn,
            order=order,
            to=to,
            window=window,
            technician_id=technician_id,
            override_reason=override_reason,
        ) or _callback_problem(conn, order, to, no_callback_reason)
        problem = problem or quotes.dispatch_problem(order, to)
        if problem:
            raise InvalidTransitionError(order["number"], order["status"], to, problem)
        note = _audit_note(note, override_reason=override_reason, no_callback=no_callback_reason)
        if to == "verified" and no_callback_reason and no_callback_reason.strip():
            repo.close_callbacks_unreachable(
                conn, order_id=order_id, reason=no_callback_reason.strip(), actor=actor, now=now
            )
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
                conn, order=order, completion=completion, actor=actor, at=now
            )
        repo.update_order(
            conn,
            order_id=order_id,
            changes=changes,
            actor=actor,
            from_status=order["status"],
            note=note,
            at=now,
        )
        if to == "completed":
            _completed(conn, order=order, completion=completion or {}, at=now)
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
    if not satisfied:
        done["revisit_order_id"] = _revisit(conn, order=order, notes=notes, now=now)
    return done


def _revisit(conn: Conn, *, order: dict[str, Any], notes: str | None, now: datetime) -> int:
    """An unsatisfied customer gets a revisit (4.2.8C, 4.3.1): a repair order for the same
    robot, due within a day, and an alert for the region's lead (for a complaint, the
    department manager's rectification, 4.3.4)."""
    tz = repo.site_timezone(conn, site_id=order["site_id"])
    fields: dict[str, Any] = {
        "type": "repair",
        "dedup_key": f"rv:{order['id']}",
        "robot_id": order["robot_id"],
        "site_id": order["site_id"],
        "region": order["region"],
        "customer_id": order["customer_id"],
        "title": f"回访不满意返修 / Revisit after an unsatisfied callback: {order['number']}",
        "tasks": order["tasks"],
        "symptom": notes or order.get("symptom"),
        "priority": 2,
        "due_at": now + timedelta(days=1),
        "warranty": order["warranty"],
        "lead_id": order["lead_id"],
        "origin": "revisit",
        "parent_id": order["id"],
        "evidence": {"unsatisfied_callback": order["number"]},
    }
    revisit = repo.insert_order(
        conn, fields=fields, actor="scheduler", now=now, day=local_date(now, tz)
    )
    if revisit is None:  # already open: the same revisit
        existing = repo.open_order_by_key(conn, dedup_key=fields["dedup_key"])
        assert existing is not None
        revisit = existing
    complaint = order.get("origin") == "complaint"
    repo.raise_alert(
        conn,
        now=now,
        kind="unsatisfied",
        region=order["region"],
        work_order_id=revisit,
        dedup_key=f"unsatisfied:{order['id']}",
        message=f"{order['number']}: 客户不满意 customer not satisfied — revisit order opened"
        + ("; complaint: rectification by the after-sales manager 投诉整改" if complaint else ""),
    )
    repo.link_revisit(conn, order_id=order["id"], revisit_id=revisit)
    return revisit


def _callback_problem(
    conn: Conn, order: dict[str, Any], to: str, no_callback_reason: str | None
) -> str | None:
    """``verified`` needs the customer called back (客户回访), or the reason none was possible."""
    if to != "verified" or (no_callback_reason and no_callback_reason.strip()):
        return None
    open_ = repo.open_callbacks(conn, order_id=order["id"])
    if not open_:
        return None
    return (
        f"callback {open_[0]} is not done: record it, or give the reason none was possible"
        " 回访未完成"
    )


def _audit_note(
    note: str | None, *, override_reason: str | None, no_callback: str | None
) -> str | None:
    """The event's note, with the reasons a rule was waived in words."""
    parts = [note] if note else []
    if override_reason and override_reason.strip():
        parts.append(f"in service hours, agreed: {override_reason.strip()}")
    if no_callback and no_callback.strip():
        parts.append(f"no callback: {no_callback.strip()}")
    return "; ".join(parts) or None


def _completed(
    conn: Conn, *, order: dict[str, Any], completion: dict[str, Any], at: datetime
) -> None:
    """The plan tasks done, and the callback the manual asks for (客户回访)."""
    repo.record_completions(conn, order=order, at=at)
    # 4.2.2 B: phone-guided simple fix → callback after 2 h; 4.3.1: uncertain fix → 3 h.
    if completion.get("phone_guided"):
        kind, due = "phone_guided", at + timedelta(hours=2)
    elif completion.get("uncertain"):
        kind, due = "uncertain_fix", at + timedelta(hours=3)
    else:
        kind, due = "verification", at + timedelta(days=1)
    repo.add_callback(conn, order_id=order["id"], kind=kind, due=due)
