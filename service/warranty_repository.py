"""SQL of warranty: what decides a robot's warranty, fee schedules, warranty cards (保修卡).

Repositories never commit: callers own the transaction.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from psycopg.rows import dict_row

from core.db import Conn


def warranty_facts(conn: Conn, *, robot_id: str) -> dict[str, Any] | None:
    """The robot's warranty end, its cycle cap (robot's own, else its model's) and cycles."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT r.warranty_end, coalesce(r.warranty_cycles, m.warranty_cycles) AS cap,
                      st.cycles_total
               FROM robots r JOIN robot_models m ON m.code = r.model
               LEFT JOIN robot_state st ON st.robot_id = r.robot_id WHERE r.robot_id = %s""",
            (robot_id,),
        ).fetchone()


def schedule_in_force(conn: Conn, *, on: date) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT * FROM fee_schedules WHERE effective_from <= %s
               ORDER BY effective_from DESC, version DESC LIMIT 1""",
            (on,),
        ).fetchone()


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


def warranty_terms(conn: Conn, *, robot_id: str) -> tuple[int, str] | None:
    """(warranty months, counted from 'purchase' or 'commissioning') of the robot's model."""
    row = conn.execute(
        """SELECT m.warranty_months, m.warranty_from FROM robots r
           JOIN robot_models m ON m.code = r.model WHERE r.robot_id = %s""",
        (robot_id,),
    ).fetchone()
    return None if row is None else (int(row[0]), str(row[1]))


def restart(conn: Conn, *, robot_id: str, first: date, end: date) -> None:
    """The robot's warranty end and its card's dates, from ``first`` to ``end``."""
    conn.execute("UPDATE robots SET warranty_end = %s WHERE robot_id = %s", (end, robot_id))
    conn.execute(
        "UPDATE warranty_cards SET start_date = %s, end_date = %s WHERE robot_id = %s",
        (first, end, robot_id),
    )
