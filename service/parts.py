"""备件管理: parts catalog, regional stock, parts issued to work orders, faulty-part returns
(坏料回仓), replenishment alerts and the 30-day forecast of parts needed by planned work.

Every stock change is a row of ``part_movements``; ``part_stock.on_hand`` is kept in the
same transaction and can never go below zero.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.db import Conn
from core.errors import NotFoundError
from service import repository as repo
from service.errors import StockError

PART_CODE = r"^[A-Z0-9][A-Z0-9._-]{1,63}$"
REPAIR_TYPES = ("repair", "predictive")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Part(_Strict):
    code: str = Field(pattern=PART_CODE)
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    unit: str = "pcs"
    unit_price: Decimal = Field(ge=0, max_digits=10, decimal_places=2)
    returnable: bool = True


class PartQty(_Strict):
    code: str = Field(pattern=PART_CODE)
    qty: int = Field(default=1, ge=1, le=1000)


class StockLevel(_Strict):
    on_hand: int = Field(ge=0)
    min: int = Field(default=0, ge=0)


class FeeSchedule(_Strict):
    version: int = Field(ge=1)
    effective_from: date
    currency: str = "CNY"
    labour_per_hour: Decimal = Field(ge=0)
    min_labour_hours: Decimal = Field(default=Decimal(1), ge=0)
    parts_markup: Decimal = Field(default=Decimal(1), gt=0)
    travel: dict[str, Decimal] = Field(default_factory=dict)
    travel_default: Decimal = Field(default=Decimal(0), ge=0)


class PartsFile(_Strict):
    version: int = Field(ge=1, le=1)
    parts: list[Part] = Field(min_length=1)
    task_parts: dict[str, list[PartQty]] = Field(default_factory=dict)
    stock: dict[str, dict[str, StockLevel]] = Field(default_factory=dict)
    fees: FeeSchedule | None = None


def read_parts_file(path: Path) -> PartsFile:
    """Validate a parts file completely; an error names the entry (``stock.north.X.min``)."""
    try:
        doc: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        parsed = PartsFile.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ValueError(f"{path}: {'.'.join(map(str, err['loc']))}: {err['msg']}") from exc
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    known = {p.code for p in parsed.parts}
    for where, codes in [
        *((f"task_parts.{t}", [q.code for q in lines]) for t, lines in parsed.task_parts.items()),
        *((f"stock.{r}", list(levels)) for r, levels in parsed.stock.items()),
    ]:
        unknown = sorted(set(codes) - known)
        if unknown:
            raise ValueError(f"{path}: {where}: unknown part {unknown[0]!r}")
    return parsed


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
    regions = {r[0] for r in conn.execute("SELECT code FROM regions").fetchall()}
    unknown = sorted(set(doc.stock) - regions)
    if unknown:
        raise ValueError(f"stock: unknown region {unknown[0]!r} (load the fleet first)")
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO parts (code, name_zh, name_en, unit, unit_price, returnable)
               VALUES (%s, %s, %s, %s, %s, %s)
               ON CONFLICT (code) DO UPDATE SET name_zh = EXCLUDED.name_zh,
                   name_en = EXCLUDED.name_en, unit = EXCLUDED.unit,
                   unit_price = EXCLUDED.unit_price, returnable = EXCLUDED.returnable""",
            [(p.code, p.name_zh, p.name_en, p.unit, p.unit_price, p.returnable) for p in doc.parts],
        )
        cur.execute("DELETE FROM task_parts WHERE task_code = ANY(%s)", (list(doc.task_parts),))
        cur.executemany(
            "INSERT INTO task_parts (task_code, part_code, qty) VALUES (%s, %s, %s)",
            [(t, q.code, q.qty) for t, lines in doc.task_parts.items() for q in lines],
        )
        for region, levels in doc.stock.items():
            for code, level in levels.items():
                row = cur.execute(
                    """INSERT INTO part_stock (region, part_code, on_hand, min_level)
                       VALUES (%s, %s, %s, %s)
                       ON CONFLICT (region, part_code) DO UPDATE SET min_level = EXCLUDED.min_level
                       RETURNING (xmax = 0)""",
                    (region, code, level.on_hand, level.min),
                ).fetchone()
                if row and row[0] and level.on_hand:
                    cur.execute(
                        """INSERT INTO part_movements (region, part_code, qty, kind, actor, note)
                           VALUES (%s, %s, %s, 'adjust', %s, 'opening balance')""",
                        (region, code, level.on_hand, actor),
                    )
        if doc.fees is not None:
            f = doc.fees
            cur.execute(
                """INSERT INTO fee_schedules (version, effective_from, currency, labour_per_hour,
                       min_labour_hours, parts_markup, travel, travel_default)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
                   ON CONFLICT (version) DO UPDATE SET effective_from = EXCLUDED.effective_from,
                       currency = EXCLUDED.currency, labour_per_hour = EXCLUDED.labour_per_hour,
                       min_labour_hours = EXCLUDED.min_labour_hours,
                       parts_markup = EXCLUDED.parts_markup, travel = EXCLUDED.travel,
                       travel_default = EXCLUDED.travel_default""",
                (
                    f.version,
                    f.effective_from,
                    f.currency,
                    f.labour_per_hour,
                    f.min_labour_hours,
                    f.parts_markup,
                    Jsonb({k: str(v) for k, v in f.travel.items()}),
                    f.travel_default,
                ),
            )
    check_levels(conn, now=now)
    return LoadCounts(
        len(doc.parts),
        sum(len(v) for v in doc.task_parts.values()),
        sum(len(v) for v in doc.stock.values()),
        doc.fees.version if doc.fees else None,
    )


def catalog(conn: Conn) -> dict[str, dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return {r["code"]: r for r in cur.execute("SELECT * FROM parts ORDER BY code")}


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
    row = conn.execute(
        "SELECT on_hand FROM part_stock WHERE region = %s AND part_code = %s FOR UPDATE",
        (region, part_code),
    ).fetchone()
    if row is None:
        if conn.execute("SELECT 1 FROM parts WHERE code = %s", (part_code,)).fetchone() is None:
            raise StockError(region, part_code, "unknown part (not in the catalog)")
        if qty < 0:
            raise StockError(region, part_code, "none in stock (no stock line for this region)")
        conn.execute(
            "INSERT INTO part_stock (region, part_code, on_hand) VALUES (%s, %s, 0)",
            (region, part_code),
        )
        on_hand = 0
    else:
        on_hand = int(row[0])
    if on_hand + qty < 0:
        raise StockError(
            region,
            part_code,
            f"{on_hand} on hand, {-qty} needed — record the delivery first (aic parts receive)",
        )
    conn.execute(
        "UPDATE part_stock SET on_hand = %s WHERE region = %s AND part_code = %s",
        (on_hand + qty, region, part_code),
    )
    conn.execute(
        """INSERT INTO part_movements (region, part_code, qty, kind, work_order_id, robot_id,
               in_warranty, unit_price, actor, note, at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
        (
            region,
            part_code,
            qty,
            kind,
            work_order_id,
            robot_id,
            in_warranty,
            unit_price,
            actor,
            note,
            at,
        ),
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
    """A warehouse movement by hand, then the region's replenishment alerts brought up to date."""
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
            conn.execute(
                """INSERT INTO faulty_returns (region, part_code, qty, work_order_id, robot_id,
                       removed_at) VALUES (%s, %s, %s, %s, %s, %s)""",
                (order["region"], code, qty, order["id"], order["robot_id"], at),
            )
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
    """The faulty part is back in the regional warehouse."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            """UPDATE faulty_returns SET received_at = %s, received_by = %s,
                   note = coalesce(%s, note)
               WHERE id = %s AND received_at IS NULL
                 AND (%s::text IS NULL OR region = %s) RETURNING *""",
            (now, actor, note, return_id, region, region),
        ).fetchone()
    if row is None:
        raise NotFoundError("open faulty-part return", return_id)
    return row


def faulty_returns(
    conn: Conn, *, now: datetime, region: str | None = None, open_only: bool = True
) -> list[dict[str, Any]]:
    """Faulty-part returns with how many days each part has been (or was) out."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT f.id, f.region, f.part_code, p.name_zh, p.name_en, f.qty, w.number AS work_order,
                      f.robot_id, f.removed_at, f.received_at, f.received_by,
                      (extract(epoch FROM coalesce(f.received_at, %(now)s) - f.removed_at)
                       / 86400)::int AS days_out
               FROM faulty_returns f JOIN parts p ON p.code = f.part_code
               JOIN work_orders w ON w.id = f.work_order_id
               WHERE (%(region)s::text IS NULL OR f.region = %(region)s)
                 AND (NOT %(open)s OR f.received_at IS NULL)
               ORDER BY f.removed_at, f.id""",
            {"region": region, "open": open_only, "now": now},
        ).fetchall()


def stock(conn: Conn, *, region: str | None = None) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT s.region, s.part_code, p.name_zh, p.name_en, p.unit, s.on_hand, s.min_level,
                      s.on_hand < s.min_level AS below_min
               FROM part_stock s JOIN parts p ON p.code = s.part_code
               WHERE %(region)s::text IS NULL OR s.region = %(region)s
               ORDER BY s.region, s.part_code""",
            {"region": region},
        ).fetchall()


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
