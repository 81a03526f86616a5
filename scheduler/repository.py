"""SQL of the scheduler. Repositories never commit: callers own the transaction."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from core.db import Conn
from core.fleet import Interval
from scheduler.due import LastDone, Usage
from scheduler.plans import Plan, Task, load_plan
from service.repository import CREATED_EVENT_SQL, OPEN_SQL, insert_order_sql, order_params


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


def load_plan_directory(
    conn: Conn, directory: Path, *, now: datetime, skip_loaded: bool = False
) -> int:
    """Store every ``*.yaml`` plan of a directory; return how many were stored.

    With ``skip_loaded`` a plan version that is already loaded is passed over (a
    second demo run); otherwise it is an error.
    """
    stored = 0
    for f in sorted(directory.glob("*.yaml")):
        try:
            store_plan(conn, plan=load_plan(f), source=str(f), now=now)
            stored += 1
        except ValueError:
            if not skip_loaded:
                raise
    return stored


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


def open_anomalies(conn: Conn) -> list[dict[str, Any]]:
    """Open anomalies, the most recent window per robot and component — only evidence
    newer than the last repair of that component: a window that began before a completed
    predictive/repair order of the robot's component was that order's evidence."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT DISTINCT ON (a.robot_id, a.component) a.*
               FROM anomalies a WHERE a.status = 'open'
                 AND NOT EXISTS (
                     SELECT 1 FROM work_orders w
                     JOIN work_order_events e ON e.work_order_id = w.id
                          AND e.to_status = 'completed'
                     WHERE w.dedup_key = 'pd:' || a.robot_id || ':' || a.component
                       AND e.at >= a.window_start)
               ORDER BY a.robot_id, a.component, a.window_end DESC, a.score DESC"""
        ).fetchall()


# ---------------------------------------------------------------- the manual's time rules
def hq_manager(conn: Conn) -> str | None:
    """The HQ after-sales manager (escalations go there)."""
    row = conn.execute(
        "SELECT id FROM staff WHERE role = 'manager' AND active ORDER BY id LIMIT 1"
    ).fetchone()
    return None if row is None else str(row[0])


def open_repairs_not_escalated(conn: Conn) -> list[tuple[int, str, str, str, datetime]]:
    """(id, number, region, site time zone, created) of open repairs not yet escalated."""
    return conn.execute(
        f"""SELECT w.id, w.number, w.region, s.timezone, w.created_at FROM work_orders w
            JOIN sites s ON s.id = w.site_id
            WHERE w.type = 'repair' AND w.status IN {OPEN_SQL} AND w.escalated_at IS NULL"""
    ).fetchall()


def escalate(conn: Conn, *, order_id: int, to: str | None, now: datetime) -> None:
    conn.execute(
        "UPDATE work_orders SET escalated_at = %s, escalated_to = %s WHERE id = %s",
        (now, to, order_id),
    )


def overdue_orders(conn: Conn, *, now: datetime) -> list[tuple[int, str, str]]:
    """(id, number, region) of open orders due before ``now``."""
    return conn.execute(
        f"""SELECT id, number, region FROM work_orders
            WHERE status IN {OPEN_SQL} AND due_at < %s ORDER BY id""",
        (now,),
    ).fetchall()


def visits_between(
    conn: Conn, *, start: datetime, end: datetime
) -> list[tuple[int, str, str, datetime, str]]:
    """(id, number, region, visit window start or due date, site zone) of open orders whose
    visit (or due date) falls in (start, end]."""
    return conn.execute(
        f"""SELECT w.id, w.number, w.region, coalesce(w.window_start, w.due_at), s.timezone
            FROM work_orders w JOIN sites s ON s.id = w.site_id
            WHERE w.status IN {OPEN_SQL} AND coalesce(w.window_start, w.due_at) > %s
              AND coalesce(w.window_start, w.due_at) <= %s ORDER BY w.id""",
        (start, end),
    ).fetchall()


def callbacks_due(conn: Conn, *, now: datetime) -> list[tuple[int, str, str, str, datetime]]:
    """(order id, number, region, callback kind, due) of callbacks (客户回访) still open at
    ``now`` past their due time."""
    return conn.execute(
        """SELECT c.work_order_id, w.number, w.region, c.kind, c.due_at
           FROM callbacks c JOIN work_orders w ON w.id = c.work_order_id
           WHERE c.done_at IS NULL AND c.due_at <= %s ORDER BY c.due_at""",
        (now,),
    ).fetchall()


def robots_last_seen(conn: Conn) -> list[tuple[str, str, str, str, datetime]]:
    """(robot, site, region, site zone, last seen) of active robots that have reported."""
    return conn.execute(
        """SELECT r.robot_id, r.site_id, s.region, s.timezone, st.last_seen
           FROM robots r JOIN sites s ON s.id = r.site_id
           LEFT JOIN robot_state st ON st.robot_id = r.robot_id
           WHERE r.active AND st.last_seen IS NOT NULL ORDER BY r.robot_id"""
    ).fetchall()


# ---------------------------------------------------------------- parts for planned work
def task_part_lines(
    conn: Conn,
) -> tuple[dict[tuple[str, str], list[tuple[str, int]]], dict[str, list[tuple[str, int]]]]:
    """(parts per (robot model, plan task) of the active plans — empty lists included —,
    parts per repair/predictive task code from ``task_parts``)."""
    plan: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for model, task, lines in conn.execute(
        """SELECT p.robot_model, t.code, t.parts
           FROM plan_tasks t JOIN maintenance_plans p ON p.id = t.plan_id WHERE p.active"""
    ).fetchall():
        plan[(model, task)] = [(line["code"], int(line.get("qty", 1))) for line in lines]
    repair: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for task, code, qty in conn.execute("SELECT task_code, part_code, qty FROM task_parts"):
        repair[task].append((code, int(qty)))
    return plan, dict(repair)


def open_order_tasks(
    conn: Conn, *, due_before: datetime, region: str | None
) -> list[tuple[str, str, list[str], str, str, str]]:
    """(region, robot model, tasks, number, dedup key, type) of open orders due before."""
    return conn.execute(
        f"""SELECT w.region, r.model, w.tasks, w.number, w.dedup_key, w.type FROM work_orders w
           JOIN robots r ON r.robot_id = w.robot_id
           WHERE w.status IN {OPEN_SQL} AND w.due_at < %s
             AND (%s::text IS NULL OR w.region = %s)""",
        (due_before, region, region),
    ).fetchall()


def commissioning_due(conn: Conn) -> dict[str, str]:
    """Active robots whose commissioning is pending or failed → that status."""
    return {
        str(rid): str(status)
        for rid, status in conn.execute(
            "SELECT robot_id, commissioning FROM robots WHERE commissioning <> 'pass' AND active"
            " ORDER BY robot_id"
        )
    }


def insert_orders(
    conn: Conn, *, orders: list[tuple[dict[str, Any], date]], actor: str, now: datetime
) -> list[int | None]:
    """Insert many new orders (fields, site's local date) in a few round trips: one
    pipelined statement per order, grouped by columns; the id of each, or None where an
    open order already had its key (the unique index decides, as for one order)."""
    ids: list[int | None] = [None] * len(orders)
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i, (fields, _) in enumerate(orders):
        groups[tuple(fields)].append(i)
    created: list[tuple[int, str, str, datetime]] = []
    with conn.cursor() as cur:
        for cols, idxs in groups.items():
            params = [
                order_params(orders[i][0], actor=actor, now=now, day=orders[i][1]) for i in idxs
            ]
            cur.executemany(insert_order_sql(list(cols)), params, returning=True)
            for n, i in enumerate(idxs):
                row = cur.fetchone()
                if row is not None:
                    ids[i] = int(row[0])
                    created.append((row[0], actor, row[1], now))
                if n < len(idxs) - 1:
                    cur.nextset()
        if created:
            cur.executemany(CREATED_EVENT_SQL, created)
    return ids
