"""Quotes for out-of-warranty work (非保费用结算标准, 4.2.2A): the fee is worked out from
the fee schedule and agreed with the customer before the visit; a dispatch of an
out-of-warranty order waits for that agreement. What is finally charged comes from the
completed form, with a receipt number (收据, 4.2.7.1A).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.clock import local_date
from core.db import Conn
from core.errors import NotFoundError
from service import actors, policy, warranty
from service import parts_repository as pr
from service import repository as repo
from service.errors import InvalidTransitionError
from service.parts_file import PartQty


def propose(
    conn: Conn,
    *,
    order_id: int,
    minutes: int,
    parts: list[dict[str, Any]],
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    """Price the expected visit (minutes on site, parts) and store it on the order."""
    who = actors.require(conn, actor)
    order = repo.get_order(conn, order_id=order_id, lock=True)
    if order is None:
        raise NotFoundError("work order", order_id)
    policy.authorize_move(who, order, "scheduled")  # whoever may plan the visit
    if order["warranty"] != "out_of_warranty":
        raise InvalidTransitionError(
            order["number"], order["status"], "quote", "in warranty: nothing to charge 保内免费"
        )
    if minutes < 1:
        raise ValueError("a quote needs the expected minutes on site")
    schedule = warranty.schedule_in_force(
        conn, on=local_date(now, repo.site_timezone(conn, site_id=order["site_id"]))
    )
    if schedule is None:
        raise InvalidTransitionError(
            order["number"], order["status"], "quote", "no fee schedule is loaded (aic parts load)"
        )
    catalog = pr.catalog(conn)
    lines = [PartQty.model_validate(p) for p in parts]
    unknown = [q.code for q in lines if q.code not in catalog]
    if unknown:
        raise ValueError(f"unknown parts: {', '.join(unknown)}")
    quote = warranty.price(
        schedule,
        region=order["region"],
        minutes=minutes,
        parts=[(catalog[q.code]["unit_price"], q.qty) for q in lines],
    ).as_json()
    quote["parts_total"] = quote.pop("parts")
    quote |= {"minutes": minutes, "parts": [q.model_dump() for q in lines]}
    repo.set_quote(conn, order_id=order_id, quote=quote, actor=who.staff_id, at=now)
    return quote


def accept(
    conn: Conn, *, order_id: int, accepted_by: str, actor: str, now: datetime
) -> dict[str, Any]:
    """The customer (``accepted_by``, their contact) agreed to the quote; recorded by a lead."""
    who = actors.require(conn, actor)
    order = repo.get_order(conn, order_id=order_id, lock=True)
    if order is None:
        raise NotFoundError("work order", order_id)
    policy.authorize_move(who, order, "confirmed")
    if order["quote"] is None:
        raise InvalidTransitionError(
            order["number"], order["status"], "quote accepted", "no quote yet 尚未报价"
        )
    if not accepted_by.strip():
        raise ValueError("who agreed to the quote (the customer's contact) is required")
    repo.accept_quote(conn, order_id=order_id, accepted_by=accepted_by.strip(), at=now)
    quote: dict[str, Any] = order["quote"]
    return quote | {"accepted_by": accepted_by.strip(), "accepted_at": now.isoformat()}


def dispatch_problem(order: dict[str, Any], to: str) -> str | None:
    """An out-of-warranty visit is dispatched only with the customer's agreement to a quote."""
    if to != "dispatched" or order["warranty"] != "out_of_warranty":
        return None
    if order.get("quote") is None:
        return "out of warranty: quote the fee and get the customer's agreement first 保外需先报价"
    if order.get("quote_accepted_at") is None:
        return "out of warranty: the customer has not accepted the quote yet 客户尚未同意报价"
    return None
