"""Warranty (保修) and the out-of-warranty price list (非保费用结算标准).

A robot is in warranty on a day when that day is on or before its warranty end and,
if it has a usage cap, its cycle counter is within the cap. The technician can void
the warranty for a visit with a reason (damage by misuse, a non-AIC part fitted…).
Work is priced from the fee schedule in force: labour in started half hours (at least
the minimum), parts at catalog price × markup, and the region's flat travel fee. In
warranty the customer is charged nothing; the price is still recorded as the cost.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from core.db import Conn
from service import warranty_repository as wr
from service.warranty_repository import card as card
from service.warranty_repository import schedule_in_force as schedule_in_force

CENT = Decimal("0.01")


@dataclass(frozen=True)
class WarrantyStatus:
    in_warranty: bool
    reason: str


def status(
    conn: Conn, *, robot_id: str, on: date, void_reason: str | None = None
) -> WarrantyStatus:
    """In or out of warranty on ``on``, with the reason in words."""
    r = wr.warranty_facts(conn, robot_id=robot_id)
    if r is None:
        return WarrantyStatus(False, "robot not in the registry")
    if void_reason:
        return WarrantyStatus(False, f"voided: {void_reason}")
    if on > r["warranty_end"]:
        return WarrantyStatus(False, f"warranty ended {r['warranty_end']}")
    if r["cap"] is not None and r["cycles_total"] is not None and r["cycles_total"] > r["cap"]:
        return WarrantyStatus(False, f"{r['cycles_total']} cycles > cap {r['cap']}")
    return WarrantyStatus(True, f"until {r['warranty_end']}")


@dataclass(frozen=True)
class Quote:
    schedule_version: int
    currency: str
    labour_hours: Decimal
    labour: Decimal
    parts: Decimal
    travel: Decimal
    total: Decimal

    def as_json(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(self).items()}


def price(
    schedule: dict[str, Any], *, region: str, minutes: int, parts: list[tuple[Decimal, int]]
) -> Quote:
    """Price a visit from a fee schedule row.

    >>> s = {"version": 1, "currency": "CNY", "labour_per_hour": Decimal(150),
    ...      "min_labour_hours": Decimal(1), "parts_markup": Decimal(1),
    ...      "travel": {"north": "100"}, "travel_default": Decimal(150)}
    >>> q = price(s, region="north", minutes=70, parts=[(Decimal("260"), 1)])
    >>> (q.labour_hours, q.labour, q.parts, q.travel, q.total)
    (Decimal('1.5'), Decimal('225.00'), Decimal('260.00'), Decimal('100.00'), Decimal('585.00'))
    """
    hours = max(Decimal(schedule["min_labour_hours"]), Decimal(math.ceil(minutes / 30)) / 2)
    labour = (hours * Decimal(schedule["labour_per_hour"])).quantize(CENT, ROUND_HALF_UP)
    parts_total = sum((p * q for p, q in parts), Decimal(0)) * Decimal(schedule["parts_markup"])
    parts_total = parts_total.quantize(CENT, ROUND_HALF_UP)
    travel = Decimal(str(schedule["travel"].get(region, schedule["travel_default"]))).quantize(
        CENT, ROUND_HALF_UP
    )
    return Quote(
        int(schedule["version"]),
        str(schedule["currency"]),
        hours.normalize(),
        labour,
        parts_total,
        travel,
        labour + parts_total + travel,
    )


def restart_from(conn: Conn, *, robot_id: str, on: date) -> None:
    """Warranty from commissioning: the card and the robot's warranty end restart on ``on``,
    the site's local day of the passed commissioning."""
    from core.fleet import add_months

    terms = wr.warranty_terms(conn, robot_id=robot_id)
    if terms is None or terms[1] != "commissioning":
        return
    wr.restart(conn, robot_id=robot_id, first=on, end=add_months(on, terms[0]))
