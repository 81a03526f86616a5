"""SQL of the scheduler. Repositories never commit: callers own the transaction."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from core.db import Conn
from core.fleet import Interval
from scheduler.due import LastDone, Usage
from scheduler.plans import Plan, Task

OPEN_SQL = "('new', 'scheduled', 'confirmed', 'dispatched', 'in_progress', 'on_hold')"


def store_plan(conn: Conn, *, plan: Plan, source: str, now: datetime) -> int:
    """Store a plan version and make it the active one of its robot model (in force ``now``)."""
    exists = conn.execute(
        "SELECT 1 FROM maintenance_plans WHERE robot_model = %s AND version = %s",
        (plan.robot_model, plan.version),
    ).fetchone()
    if exists:
        raise ValueError(f"plan {plan.robot_model} v{plan.version} is already loaded: bump version")
    conn.execute(
        "UPDATE maintenance_plans SET active = false WHERE robot_model = %s", (plan.robot_model,)
    )
    row = conn.execute(
        "INSERT INTO maintenance_plans (robot_model, version, source, loaded_at)"
        " VALUES (%s, %s, %s, %s) RETURNING id",
        (plan.robot_model, plan.version, source, now),
    ).fetchone()
    assert row is not None
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO plan_tasks (plan_id, code, title_zh, title_en, interval_days,
                   interval_cycles, interval_run_hours, interval_heater_hours, anchor,
                   duration_min, parts, checklist)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
            [
                (
                    row[0],
                    t.code,
                    t.title_zh,
                    t.title_en,
                    t.interval_days,
                    t.interval_cycles,
                    t.interval_run_hours,
                    t.interval_heater_hours,
                    t.anchor,
                    t.duration_min,
                    Jsonb([p.model_dump() for p in t.parts]),
                    Jsonb(t.checklist),
                )
                for t in plan.tasks
            ],
        )
    return int(row[0])


@dataclass(frozen=True)
class ActivePlan:
    loaded_at: datetime
    tasks: list[Task]


def active_plans(conn: Conn) -> dict[str, ActivePlan]:
    """The active plan of every robot model, with when it came into force."""
    out: dict[str, ActivePlan] = {}
    with conn.cursor(row_factory=dict_row) as cur:
        for r in cur.execute(
            """SELECT p.robot_model, p.loaded_at, t.* FROM plan_tasks t
               JOIN maintenance_plans p ON p.id = t.plan_id WHERE p.active ORDER BY t.code"""
        ):
            model = r.pop("robot_model")
            loaded = r.pop("loaded_at")
            r.pop("plan_id")
            out.setdefault(model, ActivePlan(loaded, [])).tasks.append(Task.model_validate(r))
    return out


@dataclass(frozen=True)
class RobotCtx:
    robot_id: str
    model: str
    site_id: str
    region: str
    customer_id: str
    timezone: str
    install_date: date
    warranty_end: date
    last_seen: datetime | None
    usage: Usage


def robots(conn: Conn, *, now: datetime, robot_ids: list[str] | None = None) -> list[RobotCtx]:
    """Active robots with site, region, counters and their growth per day (last 7 days of rollups)."""
    rows = conn.execute(
        """WITH rates AS (
               SELECT robot_id,
                      greatest(extract(epoch FROM max(bucket) - min(bucket)) / 86400, 0) AS days,
                      max(cycles_total) - min(cycles_total) AS d_cycles,
                      max(run_hours) - min(run_hours) AS d_run,
                      max(heater_hours) - min(heater_hours) AS d_heat
               FROM telemetry_1h WHERE bucket >= %(now)s - interval '7 days' AND bucket < %(now)s
               GROUP BY robot_id)
           SELECT r.robot_id, r.model, r.site_id, s.region, s.customer_id, s.timezone,
                  r.install_date, r.warranty_end, st.last_seen,
                  st.cycles_total, st.run_hours, st.heater_hours,
                  coalesce(ra.d_cycles / nullif(ra.days, 0), 0),
                  coalesce(ra.d_run / nullif(ra.days, 0), 0),
                  coalesce(ra.d_heat / nullif(ra.days, 0), 0)
           FROM robots r JOIN sites s ON s.id = r.site_id
           LEFT JOIN robot_state st ON st.robot_id = r.robot_id
           LEFT JOIN rates ra ON ra.robot_id = r.robot_id
           WHERE r.active AND (%(ids)s::text[] IS NULL OR r.robot_id = ANY(%(ids)s))
           ORDER BY r.robot_id""",
        {"now": now, "ids": robot_ids},
    ).fetchall()
    return [
        RobotCtx(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            r[8],
            Usage(r[9], r[10], r[11], float(r[12]), float(r[13]), float(r[14])),
        )
        for r in rows
    ]


def last_completions(conn: Conn) -> dict[tuple[str, str], LastDone]:
    rows = conn.execute(
        """SELECT DISTINCT ON (robot_id, task_code) robot_id, task_code, completed_at,
                  cycles_total, run_hours, heater_hours
           FROM task_completions ORDER BY robot_id, task_code, completed_at DESC"""
    ).fetchall()
    return {(r[0], r[1]): LastDone(r[2], r[3], r[4], r[5]) for r in rows}


def site_hours(conn: Conn) -> dict[str, dict[int, list[Interval]]]:
    out: dict[str, dict[int, list[Interval]]] = defaultdict(lambda: defaultdict(list))
    for site, weekday, opens, closes in conn.execute(
        "SELECT site_id, weekday, opens, closes FROM site_service_hours ORDER BY 1, 2, 3"
    ):
        out[site][weekday - 1].append(Interval(opens=opens, closes=closes))
    return out


@dataclass(frozen=True)
class StaffCtx:
    id: str
    name: str
    role: str
    region: str | None
    work_start: time
    work_end: time
    open_orders: int


def field_staff(conn: Conn) -> list[StaffCtx]:
    """Leads and technicians with their working hours and open workload."""
    rows = conn.execute(
        f"""SELECT s.id, s.name, s.role, s.region, s.work_start, s.work_end,
                  (SELECT count(*) FROM work_orders w WHERE w.technician_id = s.id
                   AND w.status IN {OPEN_SQL})::int
           FROM staff s WHERE s.active AND s.role IN ('lead', 'technician', 'manager')
           ORDER BY s.id"""
    ).fetchall()
    return [StaffCtx(*r) for r in rows]


def all_taken_windows(conn: Conn) -> dict[str, list[tuple[datetime, datetime]]]:
    """Booked visit windows of open orders, per technician."""
    out: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for tech, start, end in conn.execute(
        f"""SELECT technician_id, window_start, window_end FROM work_orders
            WHERE technician_id IS NOT NULL AND window_start IS NOT NULL
              AND status IN {OPEN_SQL}"""
    ):
        out[tech].append((start, end))
    return dict(out)


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


def insert_order(
    conn: Conn, *, fields: dict[str, Any], actor: str, now: datetime, day: date
) -> int | None:
    """Insert unless an open order with the same dedup key exists; return the id or None.

    ``day`` is the site's local date at ``now``: it goes into the number (WO-YYYYMMDD-n).
    """
    cols = list(fields)
    values = [Jsonb(v) if isinstance(v, dict | list) else v for v in fields.values()]
    row = conn.execute(
        f"""INSERT INTO work_orders (number, {", ".join(cols)}, created_by, created_at, updated_at)
            VALUES (%s || lpad(nextval('work_order_number_seq')::text, 6, '0'),
                    {", ".join(["%s"] * len(cols))}, %s, %s, %s)
            ON CONFLICT (dedup_key) WHERE status NOT IN ('completed', 'verified', 'cancelled')
            DO NOTHING RETURNING id, status""",
        (f"WO-{day:%Y%m%d}-", *values, actor, now, now),
    ).fetchone()
    if row is None:
        return None
    conn.execute(
        "INSERT INTO work_order_events (work_order_id, actor, from_status, to_status, note, at)"
        " VALUES (%s, %s, NULL, %s, 'created', %s)",
        (row[0], actor, row[1], now),
    )
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


def open_anomalies(conn: Conn) -> list[dict[str, Any]]:
    """Open anomalies, the most recent window per robot, detector and component."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT DISTINCT ON (robot_id, component) *
               FROM anomalies WHERE status = 'open'
               ORDER BY robot_id, component, window_end DESC, score DESC"""
        ).fetchall()
