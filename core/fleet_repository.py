"""SQL for the fleet registry. Repositories never commit: the caller owns the transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from psycopg.rows import class_row

from core.db import Conn
from core.fleet import WEEKDAYS, Fleet, warranty_end


@dataclass(frozen=True)
class LoadCounts:
    regions: int
    staff: int
    models: int
    customers: int
    sites: int
    robots: int


def upsert_fleet(conn: Conn, *, fleet: Fleet) -> LoadCounts:
    """Insert or update every entry of a validated fleet document."""
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO regions (code, name_zh, name_en) VALUES (%s, %s, %s)
               ON CONFLICT (code) DO UPDATE SET name_zh = EXCLUDED.name_zh,
                                                name_en = EXCLUDED.name_en""",
            [(r.code, r.name_zh, r.name_en) for r in fleet.regions],
        )
        cur.executemany(
            """INSERT INTO staff (id, name, role, region, phone, email) VALUES (%s, %s, %s, %s, %s, %s)
               ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, role = EXCLUDED.role,
                   region = EXCLUDED.region, phone = EXCLUDED.phone, email = EXCLUDED.email""",
            [(s.id, s.name, s.role, s.region, s.phone, s.email) for s in fleet.staff],
        )
        cur.executemany(
            """INSERT INTO robot_models (code, name, description, heater_max_w, wok_capacity_l,
                                         warranty_months, warranty_from, warranty_cycles)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name,
                   description = EXCLUDED.description, heater_max_w = EXCLUDED.heater_max_w,
                   wok_capacity_l = EXCLUDED.wok_capacity_l,
                   warranty_months = EXCLUDED.warranty_months,
                   warranty_from = EXCLUDED.warranty_from,
                   warranty_cycles = EXCLUDED.warranty_cycles""",
            [
                (
                    m.code,
                    m.name,
                    m.description,
                    m.heater_max_w,
                    m.wok_capacity_l,
                    m.warranty_months,
                    m.warranty_from,
                    m.warranty_cycles,
                )
                for m in fleet.models
            ],
        )
        cur.executemany(
            """INSERT INTO customers (id, name, contact, phone) VALUES (%s, %s, %s, %s)
               ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, contact = EXCLUDED.contact,
                                              phone = EXCLUDED.phone""",
            [(c.id, c.name, c.contact, c.phone) for c in fleet.customers],
        )
        cur.executemany(
            """INSERT INTO sites (id, customer_id, region, name, city, address, contact, phone,
                                  timezone)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (id) DO UPDATE SET customer_id = EXCLUDED.customer_id,
                   region = EXCLUDED.region, name = EXCLUDED.name, city = EXCLUDED.city,
                   address = EXCLUDED.address, contact = EXCLUDED.contact,
                   phone = EXCLUDED.phone, timezone = EXCLUDED.timezone""",
            [
                (
                    s.id,
                    s.customer,
                    s.region,
                    s.name,
                    s.city,
                    s.address,
                    s.contact,
                    s.phone,
                    s.timezone,
                )
                for s in fleet.sites
            ],
        )
        site_ids = [s.id for s in fleet.sites]
        cur.execute("DELETE FROM site_service_hours WHERE site_id = ANY(%s)", (site_ids,))
        cur.executemany(
            "INSERT INTO site_service_hours (site_id, weekday, opens, closes) VALUES (%s, %s, %s, %s)",
            [
                (s.id, WEEKDAYS.index(day) + 1, iv.opens, iv.closes)
                for s in fleet.sites
                for day, intervals in s.hours.items()
                for iv in intervals
            ],
        )
        models = {m.code: m for m in fleet.models}
        cur.executemany(
            """INSERT INTO robots (robot_id, serial, model, site_id, purchase_date, install_date,
                                   warranty_end, firmware, commissioning, warranty_cycles)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (robot_id) DO UPDATE SET serial = EXCLUDED.serial,
                   model = EXCLUDED.model, site_id = EXCLUDED.site_id,
                   purchase_date = EXCLUDED.purchase_date, install_date = EXCLUDED.install_date,
                   warranty_end = EXCLUDED.warranty_end, firmware = EXCLUDED.firmware,
                   commissioning = EXCLUDED.commissioning,
                   warranty_cycles = EXCLUDED.warranty_cycles""",
            [
                (
                    r.id,
                    r.serial,
                    r.model,
                    site.id,
                    r.purchase_date,
                    r.install_date,
                    warranty_end(r, models[r.model]),
                    r.firmware,
                    r.commissioning,
                    r.warranty_cycles,
                )
                for site, r in fleet.robots()
            ],
        )
        # 保修卡: every robot has a warranty card; a reload updates its dates.
        cur.executemany(
            """INSERT INTO warranty_cards (robot_id, card_no, customer_id, start_date, end_date,
                                           cycle_cap)
               VALUES (%s, %s, %s, %s, %s, %s)
               ON CONFLICT (robot_id) DO UPDATE SET customer_id = EXCLUDED.customer_id,
                   start_date = EXCLUDED.start_date, end_date = EXCLUDED.end_date,
                   cycle_cap = EXCLUDED.cycle_cap""",
            [
                (
                    r.id,
                    f"WC-{r.serial}",
                    site.customer,
                    r.purchase_date,
                    warranty_end(r, models[r.model]),
                    r.warranty_cycles or models[r.model].warranty_cycles,
                )
                for site, r in fleet.robots()
            ],
        )
    return LoadCounts(
        regions=len(fleet.regions),
        staff=len(fleet.staff),
        models=len(fleet.models),
        customers=len(fleet.customers),
        sites=len(fleet.sites),
        robots=len(fleet.robots()),
    )


@dataclass(frozen=True)
class RegionSummary:
    code: str
    name_zh: str
    name_en: str
    lead: str | None
    technicians: int
    sites: int
    robots: int


def region_summaries(conn: Conn) -> list[RegionSummary]:
    """Return one row per region: its lead, technician, site and robot counts."""
    with conn.cursor(row_factory=class_row(RegionSummary)) as cur:
        return cur.execute(
            """SELECT g.code, g.name_zh, g.name_en,
                      (SELECT name FROM staff WHERE region = g.code AND role = 'lead' AND active
                       LIMIT 1) AS lead,
                      (SELECT count(*) FROM staff WHERE region = g.code AND role = 'technician'
                       AND active)::int AS technicians,
                      (SELECT count(*) FROM sites WHERE region = g.code)::int AS sites,
                      (SELECT count(*) FROM robots r JOIN sites s ON s.id = r.site_id
                       WHERE s.region = g.code AND r.active)::int AS robots
               FROM regions g ORDER BY g.code"""
        ).fetchall()


@dataclass(frozen=True)
class RobotRecord:
    robot_id: str
    model: str
    site_id: str
    region: str
    timezone: str
    install_date: date
    firmware: str


def list_robots(conn: Conn, *, region: str | None = None) -> list[RobotRecord]:
    """Return the active robots, optionally of one region."""
    with conn.cursor(row_factory=class_row(RobotRecord)) as cur:
        return cur.execute(
            """SELECT r.robot_id, r.model, r.site_id, s.region, s.timezone, r.install_date,
                      r.firmware
               FROM robots r JOIN sites s ON s.id = r.site_id
               WHERE r.active AND (%(region)s::text IS NULL OR s.region = %(region)s)
               ORDER BY r.robot_id""",
            {"region": region},
        ).fetchall()


def find_region(conn: Conn, text: str) -> str | None:
    """The code of the region named ``text``: its code, Chinese or English name (any case)."""
    wanted = text.strip().lower()
    row = conn.execute(
        "SELECT code FROM regions WHERE lower(code) = %(w)s OR lower(name_zh) = %(w)s"
        " OR lower(name_en) = %(w)s ORDER BY code LIMIT 1",
        {"w": wanted},
    ).fetchone()
    return None if row is None else str(row[0])


def region_names(conn: Conn) -> dict[str, tuple[str, str]]:
    """Region code → (中文, English) name."""
    return {
        str(code): (str(zh), str(en))
        for code, zh, en in conn.execute("SELECT code, name_zh, name_en FROM regions")
    }


def staff_names(conn: Conn) -> dict[str, str]:
    """Staff id → display name (曾广阔)."""
    return {str(i): str(n) for i, n in conn.execute("SELECT id, name FROM staff")}


def active_staff_ids(conn: Conn) -> list[str]:
    return [str(r[0]) for r in conn.execute("SELECT id FROM staff WHERE active ORDER BY id")]
