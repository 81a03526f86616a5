"""SQL for the fleet registry. Repositories never commit: the caller owns the transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from psycopg import sql
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


def _upsert(
    cur: Any, table: str, rows: list[dict[str, Any]], *, update: tuple[str, ...] | None = None
) -> None:
    """INSERT the rows (dicts keyed by column, the first key the conflict key); on a
    conflict UPDATE ``update`` (default: every other column) from the new row."""
    if not rows:
        return
    columns = list(rows[0])
    changed = update if update is not None else columns[1:]
    query = sql.SQL(
        "INSERT INTO {t} ({cols}) VALUES ({vals}) ON CONFLICT ({key}) DO UPDATE SET {sets}"
    ).format(
        t=sql.Identifier(table),
        cols=sql.SQL(", ").join(map(sql.Identifier, columns)),
        vals=sql.SQL(", ").join(map(sql.Placeholder, columns)),
        key=sql.Identifier(columns[0]),
        sets=sql.SQL(", ").join(
            sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in changed
        ),
    )
    cur.executemany(query, rows)


def _pick(obj: Any, *names: str, **extra: Any) -> dict[str, Any]:
    return {n: getattr(obj, n) for n in names} | extra


def upsert_fleet(conn: Conn, *, fleet: Fleet) -> LoadCounts:
    """Insert or update every entry of a validated fleet document."""
    models = {m.code: m for m in fleet.models}
    robots = fleet.robots()
    ends = {r.id: warranty_end(r, models[r.model]) for _, r in robots}
    model_cols: tuple[str, ...] = ("code", "name", "description", "heater_max_w", "wok_capacity_l")
    model_cols += ("warranty_months", "warranty_from", "warranty_cycles")
    site_cols = ("region", "name", "city", "address", "contact", "phone", "timezone")
    robot_cols: tuple[str, ...] = ("serial", "model", "purchase_date", "install_date", "firmware")
    robot_cols += ("commissioning", "warranty_cycles")
    with conn.cursor() as cur:
        _upsert(cur, "regions", [_pick(r, "code", "name_zh", "name_en") for r in fleet.regions])
        staff_cols = ("id", "name", "role", "region", "phone", "email")
        _upsert(cur, "staff", [_pick(s, *staff_cols) for s in fleet.staff])
        _upsert(cur, "robot_models", [_pick(m, *model_cols) for m in fleet.models])
        customer_cols = ("id", "name", "contact", "phone")
        _upsert(cur, "customers", [_pick(c, *customer_cols) for c in fleet.customers])
        sites = [
            {"id": s.id, "customer_id": s.customer} | _pick(s, *site_cols) for s in fleet.sites
        ]
        _upsert(cur, "sites", sites)
        _store_hours(cur, fleet)
        _upsert(
            cur,
            "robots",
            [
                {"robot_id": r.id, "site_id": site.id, "warranty_end": ends[r.id]}
                | _pick(r, *robot_cols)
                for site, r in robots
            ],
        )
        # 保修卡: every robot has a warranty card; a reload updates its dates (not its number).
        cards = [
            {
                "robot_id": r.id,
                "card_no": f"WC-{r.serial}",
                "customer_id": site.customer,
                "start_date": r.purchase_date,
                "end_date": ends[r.id],
                "cycle_cap": r.warranty_cycles or models[r.model].warranty_cycles,
            }
            for site, r in robots
        ]
        _upsert(
            cur,
            "warranty_cards",
            cards,
            update=("customer_id", "start_date", "end_date", "cycle_cap"),
        )
    return LoadCounts(
        regions=len(fleet.regions),
        staff=len(fleet.staff),
        models=len(fleet.models),
        customers=len(fleet.customers),
        sites=len(fleet.sites),
        robots=len(robots),
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


def _store_hours(cur: Any, fleet: Fleet) -> None:
    """Replace the weekly service hours of the fleet's sites."""
    cur.execute(
        "DELETE FROM site_service_hours WHERE site_id = ANY(%s)", ([s.id for s in fleet.sites],)
    )
    cur.executemany(
        "INSERT INTO site_service_hours (site_id, weekday, opens, closes) VALUES (%s, %s, %s, %s)",
        [
            (s.id, WEEKDAYS.index(day) + 1, iv.opens, iv.closes)
            for s in fleet.sites
            for day, intervals in s.hours.items()
            for iv in intervals
        ],
    )
