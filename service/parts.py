"""备件管理: regional stock, parts issued to work orders, faulty-part returns (坏料回仓) and
replenishment alerts. The parts file is ``service.parts_file``; the SQL is
``service.parts_repository``; the 30-day forecast is the scheduler's (``scheduler.forecast``).

Every stock change is a row of ``part_movements``; ``part_stock.on_hand`` is kept in the
same transaction and can never go below zero.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.db import Conn
from core.errors import NotFoundError
from service import actors, policy
from service import parts_repository as pr
from service import repository as repo
from service.errors import StockError
from service.parts_file import PART_CODE as PART_CODE
from service.parts_file import PartQty as PartQty
from service.parts_file import PartsFile as PartsFile
from service.parts_file import read_parts_file as read_parts_file
from service.parts_repository import catalog as catalog
from service.parts_repository import faulty_returns as faulty_returns
from service.parts_repository import stock as stock

REPAIR_TYPES = ("repair", "predictive")


@dataclass(frozen=True)
class LoadCounts:
    parts: int
    task_parts: int
    stock_lines: int
    fee_version: int | None


def load_parts(conn: Conn, doc: PartsFile, *, now: datetime, actor: str = "loader") -> LoadCounts:
    """Store the catalog, task parts, minimum levels and fee schedule.

    Stock on hand from the file is an opening balance: it is set (as an ``adjust``
    movement) only for a region/part that has no stock line yet, so reloading the
    catalog never overwrites real movements.
    """
    regions = set(pr.region_codes(conn))
    unknown = sorted(set(doc.stock) - regions)
    if unknown:
        raise ValueError(f"stock: unknown region {unknown[0]!r} (load the fleet first)")
    pr.store_catalog(conn, doc, actor=actor)
    check_levels(conn, now=now)
    return LoadCounts(
        len(doc.parts),
        sum(len(v) for v in doc.task_parts.values()),
        sum(len(v) for v in doc.stock.values()),
        doc.fees.version if doc.fees else None,
    )


def _move(
    conn: Conn,
    *,
    region: str,
    part_code: str,
    qty: int,
    kind: str,
    actor: str,
    note: str | None = None,
    work_order_id: int | None = None,
    robot_id: str | None = None,
    in_warranty: bool | None = None,
    unit_price: Decimal | None = None,
    at: datetime,
) -> int:
    """Apply one movement to the stock line; return the new on-hand quantity."""
    if qty == 0:
        raise ValueError("a stock movement needs a non-zero quantity")
    on_hand = pr.lock_stock_line(conn, region=region, part_code=part_code)
    if on_hand is None:
        if not pr.part_exists(conn, part_code=part_code):
            raise StockError(region, part_code, "unknown part (not in the catalog)")
        if qty < 0:
            raise StockError(region, part_code, "none in stock (no stock line for this region)")
        pr.open_stock_line(conn, region=region, part_code=part_code)
        on_hand = 0
    if on_hand + qty < 0:
        raise StockError(
            region,
            part_code,
            f"{on_hand} on hand, {-qty} needed — record the delivery first (aic parts receive)",
        )
    pr.record_movement(
        conn,
        region=region,
        part_code=part_code,
        qty=qty,
        on_hand=on_hand + qty,
        kind=kind,
        actor=actor,
        note=note,
        work_order_id=work_order_id,
        robot_id=robot_id,
        in_warranty=in_warranty,
        unit_price=unit_price,
        at=at,
    )
    return on_hand + qty


def _move_and_check(
    conn: Conn,
    *,
    region: str,
    part_code: str,
    qty: int,
    kind: str,
    actor: str,
    note: str | None,
    now: datetime,
) -> int:
    """A warehouse movement by hand (by the region's lead or HQ), then the region's
    replenishment alerts brought up to date."""
    policy.authorize_stock(actors.require(conn, actor), region)
    on_hand = _move(
        conn, region=region, part_code=part_code, qty=qty, kind=kind, actor=actor, note=note, at=now
    )
    check_levels(conn, region=region, now=now)
    return on_hand


def receive(
    conn: Conn,
    *,
    region: str,
    part_code: str,
    qty: int,
    actor: str,
    now: datetime,
    note: str | None = None,
) -> int:
    """A delivery to the regional warehouse (物料补充备存); resolves a low-stock alert."""
    if qty <= 0:
        raise ValueError("a delivery needs a positive quantity")
    return _move_and_check(
        conn,
        region=region,
        part_code=part_code,
        qty=qty,
        kind="receive",
        actor=actor,
        note=note,
        now=now,
    )


def adjust(
    conn: Conn, *, region: str, part_code: str, qty: int, actor: str, note: str, now: datetime
) -> int:
    """A stock-count correction (+ or −); the reason is required."""
    if not note.strip():
        raise ValueError("a stock correction needs a reason")
    return _move_and_check(
        conn,
        region=region,
        part_code=part_code,
        qty=qty,
        kind="adjust",
        actor=actor,
        note=note,
        now=now,
    )


@dataclass(frozen=True)
class Issued:
    code: str
    qty: int
    unit_price: Decimal
    returnable: bool


def issue_to_order(
    conn: Conn,
    *,
    order: dict[str, Any],
    lines: list[dict[str, Any]],
    in_warranty: bool,
    actor: str,
    at: datetime,
) -> list[Issued]:
    """Take the parts of a completed order out of the region's stock (维修发放) and open a
    faulty-part return (坏料回仓) for each returnable part removed."""
    parts = catalog(conn)
    merged: dict[str, int] = defaultdict(int)
    for line in lines:
        q = PartQty.model_validate(line)
        merged[q.code] += q.qty
    out = []
    for code, qty in sorted(
        merged.items()
    ):  # one lock order: concurrent completions never deadlock
        part = parts.get(code)
        if part is None:
            raise StockError(order["region"], code, "unknown part (not in the catalog)")
        _move(
            conn,
            region=order["region"],
            part_code=code,
            qty=-qty,
            kind="issue",
            actor=actor,
            work_order_id=order["id"],
            robot_id=order["robot_id"],
            in_warranty=in_warranty,
            unit_price=part["unit_price"],
            at=at,
        )
        if part["returnable"]:
            pr.open_faulty_return(conn, order=order, part_code=code, qty=qty, at=at)
        out.append(Issued(code, qty, part["unit_price"], part["returnable"]))
    check_levels(conn, region=order["region"], now=at)
    return out


def receive_faulty_return(
    conn: Conn,
    *,
    return_id: int,
    actor: str,
    now: datetime,
    note: str | None = None,
    region: str | None = None,
) -> dict[str, Any]:
    """The faulty part is back in the regional warehouse (a lead sees only their region's)."""
    who = actors.require(conn, actor)
    policy.authorize_stock(who, None)
    if who.regional:  # another region's return is not found for a lead, as in the API
        if region is not None and region != who.region:
            raise NotFoundError("open faulty-part return", return_id)
        region = who.region
    row = pr.close_faulty_return(
        conn, return_id=return_id, actor=actor, now=now, note=note, region=region
    )
    if row is None:
        raise NotFoundError("open faulty-part return", return_id)
    return row


def check_levels(conn: Conn, *, now: datetime, region: str | None = None) -> tuple[int, int]:
    """Open a ``parts_low`` alert for every stock line below its minimum, resolve the
    ones back at or above it; return (opened, resolved)."""
    opened = 0
    low, ok = [], []
    for s in stock(conn, region=region):
        key = f"parts_low:{s['region']}:{s['part_code']}"
        if s["below_min"]:
            low.append(key)
            opened += repo.raise_alert(
                conn,
                now=now,
                kind="parts_low",
                region=s["region"],
                dedup_key=key,
                message=f"备件低于最低库存 parts below minimum: {s['part_code']} "
                f"({s['name_zh']}) {s['on_hand']} on hand, minimum {s['min_level']}",
            )
        else:
            ok.append(key)
    return opened, repo.resolve_alerts(conn, dedup_keys=ok, now=now) if ok else 0
