"""SQL the dashboard's pages need beyond the API's: site zones, the user's language, a
technician's visits, the region's field staff."""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row

from api.security import Principal
from core.db import Conn


def site_zones(conn: Conn) -> dict[str, str]:
    """Each visible site's time zone, by site id."""
    return {str(i): str(tz) for i, tz in conn.execute("SELECT id, timezone FROM sites")}


def staff_lang(conn: Conn, *, staff_id: str) -> str | None:
    row = conn.execute("SELECT lang FROM staff WHERE id = %s", (staff_id,)).fetchone()
    return None if row is None else row[0]


def set_staff_lang(conn: Conn, *, staff_id: str, lang: str) -> None:
    conn.execute("UPDATE staff SET lang = %s WHERE id = %s", (lang, staff_id))


def my_visits(conn: Conn, *, p: Principal) -> list[dict[str, Any]]:
    """The caller's open visits in the order they come: window, address, phone, task."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT w.id, w.number, w.type, w.status, w.priority, w.robot_id, w.title, w.tasks,
                      w.due_at, w.window_start, w.window_end, w.symptom, w.customer_requests,
                      s.name AS site, s.address, coalesce(c.phone, s.phone) AS phone,
                      c.name AS customer, s.timezone, r.model
               FROM work_orders w JOIN sites s ON s.id = w.site_id
               JOIN customers c ON c.id = w.customer_id JOIN robots r ON r.robot_id = w.robot_id
               WHERE w.technician_id = %s
                 AND w.status IN ('scheduled', 'confirmed', 'dispatched', 'in_progress', 'on_hold')
               ORDER BY w.window_start NULLS LAST, w.due_at, w.id""",
            (p.staff_id,),
        ).fetchall()


def region_field_staff(conn: Conn, *, region: str) -> list[dict[str, Any]]:
    """The region's technicians and lead, for assigning a visit."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT id, name, role FROM staff WHERE region = %s AND active"
            " AND role IN ('technician', 'lead') ORDER BY role DESC, id",
            (region,),
        ).fetchall()
