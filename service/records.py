"""What a completed work order writes besides its status (manual 4.2.8, 4.3.2).

In one transaction with the completion: warranty decided for the day of the visit,
parts issued from the region's stock (faulty parts to be returned, 坏料回仓), the visit
priced from the fee schedule (charged only out of warranty), a line on the robot's
warranty card (保修卡), a line in the customer file (用户档案), and for commissioning
and software-update orders their checklist result and software-update record.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from core.clock import local_date
from core.db import Conn
from service import commissioning, parts, software, warranty
from service.errors import InvalidTransitionError


def complete(
    conn: Conn, *, order: dict[str, Any], completion: dict[str, Any], actor: str, at: datetime
) -> tuple[dict[str, Any], str]:
    """Write the service records; return the completion as stored and the warranty status."""
    tz = conn.execute("SELECT timezone FROM sites WHERE id = %s", (order["site_id"],)).fetchone()
    local_day = local_date(at, tz[0] if tz else None)  # the site's day
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
    }
    if order["type"] == "commissioning":
        passed = commissioning.record(
            conn, order=order, checklist=completion["checklist"], actor=actor, at=at
        )
        stored["commissioning_passed"] = passed
    if order["type"] == "software_update":
        software.record_from_order(
            conn,
            order=order,
            version=completion["firmware_version"],
            actor=actor,
            at=at,
            on=local_day,
        )
    summary = f"{order['title']}: {completion['resolution']}"
    conn.execute(
        """INSERT INTO warranty_card_entries (robot_id, work_order_id, at, description,
               in_warranty, charged)
           SELECT %s, %s, %s, %s, %s, %s WHERE EXISTS
               (SELECT 1 FROM warranty_cards WHERE robot_id = %s)""",
        (order["robot_id"], order["id"], at, summary, w.in_warranty, charged, order["robot_id"]),
    )
    conn.execute(
        """INSERT INTO customer_file_entries (customer_id, region, robot_id, work_order_id, at,
               kind, summary, rating, charged)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)""",
        (
            order["customer_id"],
            order["region"],
            order["robot_id"],
            order["id"],
            at,
            order["type"],
            summary,
            completion.get("rating"),
            charged,
        ),
    )
    return stored, "in_warranty" if w.in_warranty else "out_of_warranty"
