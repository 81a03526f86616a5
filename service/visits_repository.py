"""SQL of visit planning: a site's calendar, a field member, a technician's booked visits."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import class_row

from core.db import Conn
from service.repository import OPEN_SQL


@dataclass(frozen=True)
class SiteCalendar:
    name: str
    timezone: str
    hours: dict[int, list[Any]]  # weekday 0 = Monday → intervals with .opens/.closes


def site_calendar(conn: Conn, *, site_id: str) -> SiteCalendar:
    """A site's name, time zone and weekly service hours."""
    from core.fleet import Interval

    row = conn.execute("SELECT name, timezone FROM sites WHERE id = %s", (site_id,)).fetchone()
    assert row is not None, site_id
    hours: dict[int, list[Any]] = defaultdict(list)
    for weekday, opens, closes in conn.execute(
        "SELECT weekday, opens, closes FROM site_service_hours WHERE site_id = %s"
        " ORDER BY weekday, opens",
        (site_id,),
    ):
        hours[weekday - 1].append(Interval(opens=opens, closes=closes))
    return SiteCalendar(str(row[0]), str(row[1]), dict(hours))


@dataclass(frozen=True)
class FieldMember:
    id: str
    name: str
    role: str
    region: str | None


def field_member(conn: Conn, *, staff_id: str) -> FieldMember | None:
    with conn.cursor(row_factory=class_row(FieldMember)) as cur:
        return cur.execute(
            "SELECT id, name, role, region FROM staff WHERE id = %s AND active", (staff_id,)
        ).fetchone()


@dataclass(frozen=True)
class BookedVisit:
    id: int
    number: str
    window_start: datetime
    window_end: datetime


def technician_visits(conn: Conn, *, technician_id: str, exclude: int) -> list[BookedVisit]:
    """The technician's booked windows of open orders (other than ``exclude``)."""
    with conn.cursor(row_factory=class_row(BookedVisit)) as cur:
        return cur.execute(
            f"""SELECT id, number, window_start, window_end FROM work_orders
                WHERE technician_id = %s AND id <> %s AND window_start IS NOT NULL
                  AND status IN {OPEN_SQL} ORDER BY window_start""",
            (technician_id, exclude),
        ).fetchall()
