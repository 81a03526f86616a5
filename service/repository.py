"""SQL of the work orders (维修工单, 维护保养工作单) and their audit trail; callers commit."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from psycopg.rows import class_row, dict_row
from psycopg.types.json import Jsonb

from core.db import Conn
from service.lifecycle import OPEN
from service.policy import Actor, role_of

OPEN_SQL = "(" + ", ".join(f"'{s}'" for s in OPEN) + ")"


def open_dedup_keys(conn: Conn) -> set[str]:
    """Dedup keys of every open order (one open order per key)."""
    return {
        r[0] for r in conn.execute(f"SELECT dedup_key FROM work_orders WHERE status IN {OPEN_SQL}")
    }


def open_orders_by_robot(conn: Conn, *, types: tuple[str, ...]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for o in open_orders(conn, types=types):
        out[o["robot_id"]].append(o)
    return dict(out)


def open_orders(
    conn: Conn, *, robot_id: str | None = None, types: tuple[str, ...] | None = None
) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"""SELECT * FROM work_orders WHERE status IN {OPEN_SQL}
                AND (%(robot)s::text IS NULL OR robot_id = %(robot)s)
                AND (%(types)s::text[] IS NULL OR type = ANY(%(types)s)) ORDER BY id""",
            {"robot": robot_id, "types": list(types) if types else None},
        ).fetchall()


def get_order(conn: Conn, *, order_id: int, lock: bool = False) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT * FROM work_orders WHERE id = %s" + (" FOR UPDATE" if lock else ""),
            (order_id,),
        ).fetchone()


CREATED_EVENT_SQL = (
    "INSERT INTO work_order_events (work_order_id, actor, from_status, to_status, note, at)"
    " VALUES (%s, %s, NULL, %s, 'created', %s)"
)


def insert_order_sql(cols: list[str]) -> str:
    """INSERT of a new order with these columns (then created_by, created_at, updated_at),
    numbered WO-YYYYMMDD-n from the first parameter; nothing if an open order has its key."""
    return f"""INSERT INTO work_orders (number, {", ".join(cols)}, created_by, created_at, updated_at)
            VALUES (%s || lpad(nextval('work_order_number_seq')::text, 6, '0'),
                    {", ".join(["%s"] * len(cols))}, %s, %s, %s)
            ON CONFLICT (dedup_key) WHERE status NOT IN ('completed', 'verified', 'cancelled')
            DO NOTHING RETURNING id, status"""


def order_params(
    fields: dict[str, Any], *, actor: str, now: datetime, day: date
) -> tuple[Any, ...]:
    values = [Jsonb(v) if isinstance(v, dict | list) else v for v in fields.values()]
    return (f"WO-{day:%Y%m%d}-", *values, actor, now, now)


def insert_order(
    conn: Conn, *, fields: dict[str, Any], actor: str, now: datetime, day: date
) -> int | None:
    """Insert unless an open order with the same dedup key exists; return the id or None.

    ``day`` is the site's local date at ``now``: it goes into the number (WO-YYYYMMDD-n).
    """
    row = conn.execute(
        insert_order_sql(list(fields)), order_params(fields, actor=actor, now=now, day=day)
    ).fetchone()
    if row is None:
        return None
    conn.execute(CREATED_EVENT_SQL, (row[0], actor, row[1], now))
    return int(row[0])


def update_order(
    conn: Conn,
    *,
    order_id: int,
    changes: dict[str, Any],
    actor: str,
    from_status: str | None,
    note: str | None,
    at: datetime,
) -> None:
    """Apply changes (status included) and audit the status change at ``at``."""
    sets = ", ".join(f"{k} = %s" for k in changes)
    values = [Jsonb(v) if isinstance(v, dict | list) else v for v in changes.values()]
    conn.execute(
        f"UPDATE work_orders SET {sets}, updated_at = %s WHERE id = %s", (*values, at, order_id)
    )
    if "status" in changes:
        conn.execute(
            "INSERT INTO work_order_events (work_order_id, actor, from_status, to_status, note, at)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (order_id, actor, from_status, changes["status"], note, at),
        )


def record_completions(conn: Conn, *, order: dict[str, Any], at: datetime) -> None:
    conn.execute(
        """INSERT INTO task_completions (robot_id, task_code, completed_at, cycles_total,
               run_hours, heater_hours, work_order_id)
           SELECT %s, t, %s, st.cycles_total, st.run_hours, st.heater_hours, %s
           FROM jsonb_array_elements_text(%s::jsonb) AS t
           LEFT JOIN robot_state st ON st.robot_id = %s
           ON CONFLICT DO NOTHING""",
        (order["robot_id"], at, order["id"], json.dumps(order["tasks"]), order["robot_id"]),
    )


def add_callback(conn: Conn, *, order_id: int, kind: str, due: datetime) -> None:
    conn.execute(
        "INSERT INTO callbacks (work_order_id, kind, due_at) VALUES (%s, %s, %s)"
        " ON CONFLICT (work_order_id, kind) DO NOTHING",
        (order_id, kind, due),
    )


def raise_alert(
    conn: Conn,
    *,
    now: datetime,
    kind: str,
    region: str | None,
    message: str,
    dedup_key: str,
    robot_id: str | None = None,
    work_order_id: int | None = None,
) -> bool:
    """Open an alert unless the same one is open; True if it is new."""
    row = conn.execute(
        """INSERT INTO alerts (kind, region, robot_id, work_order_id, message, dedup_key,
               created_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (dedup_key) WHERE resolved_at IS NULL DO NOTHING RETURNING id""",
        (kind, region, robot_id, work_order_id, message, dedup_key, now),
    ).fetchone()
    return row is not None


def resolve_alerts(conn: Conn, *, dedup_keys: list[str], now: datetime) -> int:
    cur = conn.execute(
        "UPDATE alerts SET resolved_at = %s WHERE resolved_at IS NULL AND dedup_key = ANY(%s)",
        (now, dedup_keys),
    )
    return cur.rowcount


def actor(conn: Conn, *, staff_id: str) -> Actor | None:
    """The active staff member ``staff_id`` as a policy actor; None if unknown or inactive."""
    row = conn.execute(
        "SELECT id, role, region FROM staff WHERE id = %s AND active", (staff_id,)
    ).fetchone()
    return None if row is None else Actor(row[0], role_of(row[1]), row[2])


def close_callback(
    conn: Conn,
    *,
    order_id: int,
    kind: str,
    staff_id: str,
    satisfied: bool,
    notes: str | None,
    now: datetime,
) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """UPDATE callbacks SET done_at = %s, done_by = %s, satisfied = %s, notes = %s
               WHERE work_order_id = %s AND kind = %s AND done_at IS NULL
               RETURNING kind, due_at, done_at, satisfied""",
            (now, staff_id, satisfied, notes, order_id, kind),
        ).fetchone()


@dataclass(frozen=True)
class QueueRow:
    """A line of the job queue: the order with its site's time zone."""

    id: int
    number: str
    region: str
    type: str
    status: str
    priority: int
    robot_id: str
    timezone: str
    due_at: datetime
    window_start: datetime | None
    window_end: datetime | None
    window_late: bool
    lead_id: str | None
    technician_id: str | None
    title: str


def order_queue(
    conn: Conn, *, region: str | None, status: str | None, limit: int
) -> list[QueueRow]:
    """Orders by priority then due date: of one status, or the open ones (``status`` None)."""
    with conn.cursor(row_factory=class_row(QueueRow)) as cur:
        return cur.execute(
            f"""SELECT w.id, w.number, w.region, w.type, w.status, w.priority, w.robot_id,
                      s.timezone, w.due_at, w.window_start, w.window_end, w.window_late,
                      w.lead_id, w.technician_id, w.title
               FROM work_orders w JOIN sites s ON s.id = w.site_id
               WHERE (%(region)s::text IS NULL OR w.region = %(region)s)
                 AND (%(status)s::text IS NULL OR w.status = %(status)s)
                 AND (%(status)s::text IS NOT NULL OR w.status IN {OPEN_SQL})
               ORDER BY w.priority, w.due_at, w.id LIMIT %(limit)s""",
            {"region": region, "status": status, "limit": limit},
        ).fetchall()


def site_timezone(conn: Conn, *, site_id: str) -> str | None:
    row = conn.execute("SELECT timezone FROM sites WHERE id = %s", (site_id,)).fetchone()
    return None if row is None else str(row[0])


def record_commissioning(
    conn: Conn,
    *,
    order: dict[str, Any],
    checklist: dict[str, bool],
    passed: bool,
    actor: str,
    at: datetime,
) -> None:
    """The commissioning visit's checklist, and the robot's commissioning result."""
    conn.execute(
        """INSERT INTO commissioning_results (robot_id, work_order_id, at, passed, checklist, actor)
           VALUES (%s, %s, %s, %s, %s, %s)""",
        (order["robot_id"], order["id"], at, passed, Jsonb(checklist), actor),
    )
    conn.execute(
        "UPDATE robots SET commissioning = %s, commissioned_at = CASE WHEN %s THEN %s"
        " ELSE commissioned_at END WHERE robot_id = %s",
        ("pass" if passed else "fail", passed, at, order["robot_id"]),
    )


def add_service_lines(
    conn: Conn,
    *,
    order: dict[str, Any],
    at: datetime,
    summary: str,
    in_warranty: bool,
    charged: Decimal,
    rating: int | None,
) -> None:
    """A completed visit's line on the robot's warranty card (保修卡, when it has one) and in
    the customer file (用户档案)."""
    conn.execute(
        """INSERT INTO warranty_card_entries (robot_id, work_order_id, at, description,
               in_warranty, charged)
           SELECT %s, %s, %s, %s, %s, %s WHERE EXISTS
               (SELECT 1 FROM warranty_cards WHERE robot_id = %s)""",
        (order["robot_id"], order["id"], at, summary, in_warranty, charged, order["robot_id"]),
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
            rating,
            charged,
        ),
    )


def clear_anomalies(
    conn: Conn, *, robot_id: str, component: str, before: datetime, actor: str, at: datetime
) -> int:
    """Clear the robot's not-yet-cleared anomalies of ``component`` whose window began
    before ``before`` (a repair answered them); return how many."""
    cur = conn.execute(
        """UPDATE anomalies SET status = 'cleared', cleared_by = %s, cleared_at = %s
           WHERE robot_id = %s AND component = %s AND status <> 'cleared'
             AND window_start < %s""",
        (actor, at, robot_id, component, before),
    )
    return cur.rowcount


def open_callbacks(conn: Conn, *, order_id: int) -> list[str]:
    """Kinds of the order's callbacks not done yet."""
    return [
        str(r[0])
        for r in conn.execute(
            "SELECT kind FROM callbacks WHERE work_order_id = %s AND done_at IS NULL"
            " ORDER BY due_at",
            (order_id,),
        )
    ]


def close_callbacks_unreachable(
    conn: Conn, *, order_id: int, reason: str, actor: str, now: datetime
) -> None:
    """The order's open callbacks could not be made: closed with the reason, no answer."""
    conn.execute(
        """UPDATE callbacks SET done_at = %s, done_by = %s, unreachable_reason = %s
           WHERE work_order_id = %s AND done_at IS NULL""",
        (now, actor, reason, order_id),
    )


def open_order_by_key(conn: Conn, *, dedup_key: str) -> int | None:
    row = conn.execute(
        f"SELECT id FROM work_orders WHERE dedup_key = %s AND status IN {OPEN_SQL}",
        (dedup_key,),
    ).fetchone()
    return None if row is None else int(row[0])


def link_revisit(conn: Conn, *, order_id: int, revisit_id: int) -> None:
    conn.execute(
        "UPDATE callbacks SET revisit_order_id = %s WHERE work_order_id = %s"
        " AND satisfied = false AND revisit_order_id IS NULL",
        (revisit_id, order_id),
    )


def set_quote(
    conn: Conn, *, order_id: int, quote: dict[str, Any], actor: str, at: datetime
) -> None:
    """A new quote replaces the old one and its acceptance (the price changed)."""
    conn.execute(
        """UPDATE work_orders SET quote = %s, quote_accepted_at = NULL, quote_accepted_by = NULL,
                  updated_at = %s WHERE id = %s""",
        (Jsonb(quote | {"by": actor, "at": at.isoformat()}), at, order_id),
    )


def accept_quote(conn: Conn, *, order_id: int, accepted_by: str, at: datetime) -> None:
    conn.execute(
        "UPDATE work_orders SET quote_accepted_at = %s, quote_accepted_by = %s, updated_at = %s"
        " WHERE id = %s",
        (at, accepted_by, at, order_id),
    )


def next_receipt(conn: Conn, *, day: date) -> str:
    """A receipt number for a charged visit: RC-YYYYMMDD-000001 (the site's day)."""
    row = conn.execute("SELECT nextval('receipt_number_seq')").fetchone()
    assert row is not None
    return f"RC-{day:%Y%m%d}-{int(row[0]):06d}"


def robot_owner(conn: Conn, *, robot_id: str) -> dict[str, Any] | None:
    """The robot's customer and region (None if unknown or not visible)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT s.customer_id, s.region FROM robots r JOIN sites s ON s.id = r.site_id"
            " WHERE r.robot_id = %s",
            (robot_id,),
        ).fetchone()


def insert_consultation(conn: Conn, **row: Any) -> dict[str, Any]:
    with conn.cursor(row_factory=dict_row) as cur:
        out = cur.execute(
            """INSERT INTO consultations (customer_id, region, robot_id, at, channel, question,
                   answer, staff_id)
               VALUES (%(customer_id)s, %(region)s, %(robot_id)s, %(at)s, %(channel)s,
                       %(question)s, %(answer)s, %(staff_id)s) RETURNING *""",
            row,
        ).fetchone()
    assert out is not None
    return out
