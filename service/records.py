"""What a completed work order writes besides its status (manual 4.2.8, 4.3.2).

In one transaction with the completion: warranty decided for the day of the visit,
parts issued from the region's stock (faulty parts to be returned, 坏料回仓), the visit
priced from the fee schedule (charged only out of warranty), a line on the robot's
warranty card (保修卡), a line in the customer file (用户档案), and for commissioning
and software-update orders their checklist result and software-update record.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from core.clock import local_date
from core.db import Conn
from service import parts, software, warranty
from service import repository as repo
from service.errors import InvalidTransitionError


def complete(
    conn: Conn, *, order: dict[str, Any], completion: dict[str, Any], actor: str, at: datetime
) -> tuple[dict[str, Any], str]:
    """Write the service records; return the completion as stored and the warranty status."""
    local_day = local_date(at, repo.site_timezone(conn, site_id=order["site_id"]))
    w = warranty.status(
        conn,
        robot_id=order["robot_id"],
        on=local_day,
        void_reason=completion.get("warranty_void_reason"),
    )
    issued = parts.issue_to_order(
        conn,
        order=order,
        lines=list(completion.get("parts_used") or []),
        in_warranty=w.in_warranty,
        actor=actor,
        at=at,
    )
    schedule = warranty.schedule_in_force(conn, on=local_day)
    quote = None
    if schedule is not None:
        quote = warranty.price(
            schedule,
            region=order["region"],
            minutes=int(completion["time_spent_min"]),
            parts=[(i.unit_price, i.qty) for i in issued],
        )
    elif not w.in_warranty:
        raise InvalidTransitionError(
            order["number"],
            order["status"],
            "completed",
            "out of warranty and no fee schedule is loaded (aic parts load)",
        )
    charged = Decimal(0) if w.in_warranty or quote is None else quote.total
    stored = {
        **completion,
        "in_warranty": w.in_warranty,
        "warranty_reason": w.reason,
        "quote": quote.as_json() if quote else None,
        "charged": str(charged),
        # 收据 (4.2.7.1A): every charged visit gets a receipt number.
        "receipt": repo.next_receipt(conn, day=local_day) if charged else None,
        "quoted": order.get("quote", {}).get("total") if order.get("quote") else None,
    }
    stored |= _by_type(conn, order=order, completion=completion, actor=actor, at=at, on=local_day)
    summary = f"{order['title']}: {completion['resolution']}"
    repo.add_service_lines(
        conn,
        order=order,
        at=at,
        summary=summary,
        in_warranty=w.in_warranty,
        charged=charged,
        rating=completion.get("rating"),
    )
    return stored, "in_warranty" if w.in_warranty else "out_of_warranty"


def _commissioning(
    conn: Conn,
    *,
    order: dict[str, Any],
    checklist: dict[str, bool],
    actor: str,
    at: datetime,
    on: date,
) -> bool:
    """Store the visit's checklist and set the robot's commissioning result; a pass restarts
    a warranty counted from commissioning on ``on`` (the site's local day)."""
    passed = all(checklist.values())
    repo.record_commissioning(
        conn, order=order, checklist=checklist, passed=passed, actor=actor, at=at
    )
    if passed:
        warranty.restart_from(conn, robot_id=order["robot_id"], on=on)
    return passed


def _by_type(
    conn: Conn,
    *,
    order: dict[str, Any],
    completion: dict[str, Any],
    actor: str,
    at: datetime,
    on: date,
) -> dict[str, Any]:
    """What an order of this type records besides the visit: the commissioning checklist,
    the software update, the anomalies a predictive repair answers."""
    extra: dict[str, Any] = {}
    if order["type"] == "commissioning":
        extra["commissioning_passed"] = _commissioning(
            conn, order=order, checklist=completion["checklist"], actor=actor, at=at, on=on
        )
    if order["type"] == "software_update":
        software.record_from_order(
            conn, order=order, version=completion["firmware_version"], actor=actor, at=at, on=on
        )
    if order["dedup_key"].startswith("pd:"):
        # The repair answers the evidence it was opened for: the component's open anomalies
        # of windows begun before now are cleared (a new fault needs new evidence).
        repo.clear_anomalies(
            conn,
            robot_id=order["robot_id"],
            component=order["dedup_key"].rsplit(":", 1)[1],
            before=at,
            actor=actor,
            at=at,
        )
    return extra
