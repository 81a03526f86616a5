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
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from psycopg.rows import dict_row

from core.db import Conn

CENT = Decimal("0.01")


@dataclass(frozen=True)
class WarrantyStatus:
    in_warranty: bool
    reason: str


def status(
    conn: Conn, *, robot_id: str, on: date, void_reason: str | None = None
) -> WarrantyStatus:
    """In or out of warranty on ``on``, with the reason in words."""
    with conn.cursor(row_factory=dict_row) as cur:
        r = cur.execute(
            """SELECT r.warranty_end, coalesce(r.warranty_cycles, m.warranty_cycles) AS cap,
                      st.cycles_total
               FROM robots r JOIN robot_models m ON m.code = r.model
               LEFT JOIN robot_state st ON st.robot_id = r.robot_id WHERE r.robot_id = %s""",
            (robot_id,),
        ).fetchone()
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


def schedule_in_force(conn: Conn, *, on: date) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT * FROM fee_schedules WHERE effective_from <= %s
               ORDER BY effective_from DESC, version DESC LIMIT 1""",
            (on,),
        ).fetchone()


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


def card(conn: Conn, *, robot_id: str) -> dict[str, Any] | None:
    """The warranty card (保修卡) with its service lines."""
    with conn.cursor(row_factory=dict_row) as cur:
        c = cur.execute(
            """SELECT c.*, r.serial, r.model, r.site_id, cu.name AS customer
               FROM warranty_cards c JOIN robots r ON r.robot_id = c.robot_id
               JOIN customers cu ON cu.id = c.customer_id WHERE c.robot_id = %s""",
            (robot_id,),
        ).fetchone()
        if c is None:
            return None
        c["entries"] = cur.execute(
            """SELECT e.at, w.number AS work_order, w.type, e.description, e.in_warranty, e.charged
               FROM warranty_card_entries e JOIN work_orders w ON w.id = e.work_order_id
               WHERE e.robot_id = %s ORDER BY e.at""",
            (robot_id,),
        ).fetchall()
    return c


def restart_from(conn: Conn, *, robot_id: str, start: datetime) -> None:
    """Warranty from commissioning: the card and the robot's warranty end restart at ``start``."""
    from core.fleet import add_months

    row = conn.execute(
        """SELECT m.warranty_months, m.warranty_from FROM robots r
           JOIN robot_models m ON m.code = r.model WHERE r.robot_id = %s""",
        (robot_id,),
    ).fetchone()
    if row is None or row[1] != "commissioning":
        return
    first, end = start.date(), add_months(start.date(), int(row[0]))
    conn.execute("UPDATE robots SET warranty_end = %s WHERE robot_id = %s", (end, robot_id))
    conn.execute(
        "UPDATE warranty_cards SET start_date = %s, end_date = %s WHERE robot_id = %s",
        (first, end, robot_id),
    )
