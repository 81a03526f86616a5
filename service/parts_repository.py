"""SQL of the parts: catalog, regional stock, movements, faulty-part returns.

Repositories never commit: callers own the transaction.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from core.db import Conn

if TYPE_CHECKING:
    from service.parts_file import PartsFile


def region_codes(conn: Conn) -> list[str]:
    return [str(r[0]) for r in conn.execute("SELECT code FROM regions ORDER BY code")]


def store_catalog(conn: Conn, doc: PartsFile, *, actor: str) -> None:
    """Upsert parts, task parts, stock lines (opening balances for new lines) and fees."""
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


def catalog(conn: Conn) -> dict[str, dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return {r["code"]: r for r in cur.execute("SELECT * FROM parts ORDER BY code")}


def lock_stock_line(conn: Conn, *, region: str, part_code: str) -> int | None:
    """The line's on-hand quantity, locked for this transaction; None if there is no line."""
    row = conn.execute(
        "SELECT on_hand FROM part_stock WHERE region = %s AND part_code = %s FOR UPDATE",
        (region, part_code),
    ).fetchone()
    return None if row is None else int(row[0])


def part_exists(conn: Conn, *, part_code: str) -> bool:
    return conn.execute("SELECT 1 FROM parts WHERE code = %s", (part_code,)).fetchone() is not None


def open_stock_line(conn: Conn, *, region: str, part_code: str) -> None:
    conn.execute(
        "INSERT INTO part_stock (region, part_code, on_hand) VALUES (%s, %s, 0)",
        (region, part_code),
    )


def record_movement(
    conn: Conn,
    *,
    region: str,
    part_code: str,
    qty: int,
    on_hand: int,
    kind: str,
    actor: str,
    note: str | None,
    work_order_id: int | None,
    robot_id: str | None,
    in_warranty: bool | None,
    unit_price: Decimal | None,
    at: datetime,
) -> None:
    """Set the line's new on-hand quantity and write the movement that explains it."""
    conn.execute(
        "UPDATE part_stock SET on_hand = %s WHERE region = %s AND part_code = %s",
        (on_hand, region, part_code),
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


def open_faulty_return(
    conn: Conn, *, order: dict[str, Any], part_code: str, qty: int, at: datetime
) -> None:
    conn.execute(
        """INSERT INTO faulty_returns (region, part_code, qty, work_order_id, robot_id,
               removed_at) VALUES (%s, %s, %s, %s, %s, %s)""",
        (order["region"], part_code, qty, order["id"], order["robot_id"], at),
    )


def close_faulty_return(
    conn: Conn,
    *,
    return_id: int,
    actor: str,
    now: datetime,
    note: str | None,
    region: str | None,
) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """UPDATE faulty_returns SET received_at = %s, received_by = %s,
                   note = coalesce(%s, note)
               WHERE id = %s AND received_at IS NULL
                 AND (%s::text IS NULL OR region = %s) RETURNING *""",
            (now, actor, note, return_id, region, region),
        ).fetchone()


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
