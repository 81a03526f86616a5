"""SQL of the monthly reports the regional leads owe HQ."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg.rows import dict_row

from core.db import Conn

# Error code at functional failure -> component (firmware_sim/faults.py, docs/telemetry.md).
COMPONENT_BY_CODE = {
    "E203": "igbt_cooling",
    "E115": "stir_drive",
    "E310": "dosing_pump",
    "E221": "wok_temp_sensor",
    "E210": "induction_coil",
    "E401": "exhaust_fan",
}


def monthly_faults(
    conn: Conn, *, start: datetime, end: datetime, region: str | None
) -> list[dict[str, Any]]:
    """Per region, robot model and component: failures, operating hours, repairs and repair time."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            WITH codes(code, component) AS (SELECT * FROM unnest(%(codes)s::text[], %(comps)s::text[])),
            failures AS (
                SELECT s.region, r.model, coalesce(c.component, 'other') AS component,
                       count(*) AS failures
                FROM robot_events e JOIN robots r ON r.robot_id = e.robot_id
                JOIN sites s ON s.id = r.site_id LEFT JOIN codes c ON c.code = e.code
                WHERE e.type = 'fault' AND e.ts >= %(start)s AND e.ts < %(end)s
                GROUP BY 1, 2, 3),
            hours AS (
                SELECT s.region, r.model, sum(h.run) AS operating_hours
                FROM (SELECT robot_id, max(run_hours) - min(run_hours) AS run FROM telemetry_1h
                      WHERE bucket >= %(start)s AND bucket < %(end)s GROUP BY robot_id) h
                JOIN robots r ON r.robot_id = h.robot_id JOIN sites s ON s.id = r.site_id
                GROUP BY 1, 2),
            repairs AS (
                SELECT w.region, r.model,
                       coalesce(c.component, a.component, 'other') AS component,
                       count(*) AS repairs,
                       avg(extract(epoch FROM ev.at - w.created_at)) / 3600 AS mttr_h
                FROM work_orders w JOIN robots r ON r.robot_id = w.robot_id
                JOIN work_order_events ev ON ev.work_order_id = w.id AND ev.to_status = 'completed'
                LEFT JOIN anomalies a ON a.id = w.anomaly_id
                LEFT JOIN codes c ON c.code = a.evidence->>'error_code'
                WHERE w.type IN ('repair', 'predictive')
                  AND ev.at >= %(start)s AND ev.at < %(end)s
                GROUP BY 1, 2, 3)
            SELECT coalesce(f.region, p.region) AS region, coalesce(f.model, p.model) AS model,
                   coalesce(f.component, p.component) AS component,
                   coalesce(f.failures, 0) AS failures, coalesce(h.operating_hours, 0) AS operating_hours,
                   coalesce(p.repairs, 0) AS repairs, p.mttr_h
            FROM failures f
            FULL JOIN repairs p ON p.region = f.region AND p.model = f.model
                                 AND p.component = f.component
            LEFT JOIN hours h ON h.region = coalesce(f.region, p.region)
                             AND h.model = coalesce(f.model, p.model)
            WHERE (%(region)s::text IS NULL OR coalesce(f.region, p.region) = %(region)s)
            ORDER BY 1, 2, 3
            """,
            {
                "start": start,
                "end": end,
                "region": region,
                "codes": list(COMPONENT_BY_CODE),
                "comps": list(COMPONENT_BY_CODE.values()),
            },
        ).fetchall()


def equipment_distribution(
    conn: Conn, *, region: str | None, now: datetime
) -> list[dict[str, Any]]:
    """区域设备分布统计表: robots, sites and customers per region and model; the warranty
    split on each site's local date at ``now``."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT s.region, r.model, count(*) AS robots, count(DISTINCT s.id) AS sites,
                      count(DISTINCT s.customer_id) AS customers,
                      count(*) FILTER (
                          WHERE r.warranty_end >= (%(now)s AT TIME ZONE s.timezone)::date
                      ) AS in_warranty
               FROM robots r JOIN sites s ON s.id = r.site_id
               WHERE r.active AND (%(region)s::text IS NULL OR s.region = %(region)s)
               GROUP BY 1, 2 ORDER BY 1, 2""",
            {"region": region, "now": now},
        ).fetchall()


def out_of_box(conn: Conn, *, region: str | None) -> list[dict[str, Any]]:
    """开箱合格率: commissioning results per region and month of installation."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """WITH first_result AS (
                   SELECT DISTINCT ON (robot_id) robot_id,
                          CASE WHEN passed THEN 'pass' ELSE 'fail' END AS result
                   FROM commissioning_results ORDER BY robot_id, at, id),
               results AS (
                   -- the first commissioning visit decides (开箱合格率 counts first-time
                   -- passes); robots loaded with a result and no visit on record keep theirs
                   SELECT r.robot_id, r.site_id, r.install_date,
                          coalesce(f.result, r.commissioning) AS commissioning
                   FROM robots r LEFT JOIN first_result f ON f.robot_id = r.robot_id)
               SELECT s.region, to_char(r.install_date, 'YYYY-MM') AS month, count(*) AS installed,
                      count(*) FILTER (WHERE r.commissioning = 'pass') AS passed,
                      count(*) FILTER (WHERE r.commissioning = 'fail') AS failed,
                      count(*) FILTER (WHERE r.commissioning = 'pending') AS pending
               FROM results r JOIN sites s ON s.id = r.site_id
               WHERE (%(region)s::text IS NULL OR s.region = %(region)s)
               GROUP BY 1, 2 ORDER BY 1, 2""",
            {"region": region},
        ).fetchall()


def equipment_tracking(
    conn: Conn, *, start: datetime, end: datetime, region: str | None
) -> list[dict[str, Any]]:
    """设备跟踪表: one line per robot — where it is, its warranty, firmware, counters, the
    month's failures and completed orders, its open orders and last service."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT s.region, cu.name AS customer, s.name AS site, r.robot_id, r.serial, r.model,
                      r.install_date, r.warranty_end, r.commissioning,
                      coalesce(st.fw, r.firmware) AS firmware, st.last_seen,
                      coalesce(st.online, false) AS online, st.cycles_total,
                      round(st.run_hours::numeric, 1) AS run_hours,
                      (SELECT count(*) FROM robot_events e WHERE e.robot_id = r.robot_id
                         AND e.type = 'fault' AND e.ts >= %(start)s AND e.ts < %(end)s)
                         AS failures,
                      (SELECT count(*) FROM work_orders w JOIN work_order_events ev
                         ON ev.work_order_id = w.id AND ev.to_status = 'completed'
                       WHERE w.robot_id = r.robot_id AND ev.at >= %(start)s AND ev.at < %(end)s)
                         AS orders_completed,
                      (SELECT count(*) FROM work_orders w WHERE w.robot_id = r.robot_id
                         AND w.status NOT IN ('completed', 'verified', 'cancelled')) AS open_orders,
                      (SELECT max(ev.at) FROM work_orders w JOIN work_order_events ev
                         ON ev.work_order_id = w.id AND ev.to_status = 'completed'
                       WHERE w.robot_id = r.robot_id AND ev.at < %(end)s) AS last_service
               FROM robots r JOIN sites s ON s.id = r.site_id JOIN customers cu ON cu.id = s.customer_id
               LEFT JOIN robot_state st ON st.robot_id = r.robot_id
               WHERE r.active AND (%(region)s::text IS NULL OR s.region = %(region)s)
               ORDER BY s.region, cu.name, s.name, r.robot_id""",
            {"start": start, "end": end, "region": region},
        ).fetchall()


def parts_replaced(
    conn: Conn, *, start: datetime, end: datetime, region: str | None
) -> list[dict[str, Any]]:
    """月度维修更换零配件统计表: parts issued to work orders in the month."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT m.region, m.part_code, p.name_zh, p.name_en,
                      (-sum(m.qty))::int AS qty,
                      (-sum(m.qty) FILTER (WHERE m.in_warranty))::int AS qty_in_warranty,
                      (-sum(m.qty) FILTER (WHERE NOT m.in_warranty))::int AS qty_out_of_warranty,
                      count(DISTINCT m.work_order_id)::int AS work_orders,
                      (-sum(m.qty * m.unit_price))::numeric(12, 2) AS value,
                      (SELECT coalesce(sum(f.qty), 0) FROM faulty_returns f
                        WHERE f.region = m.region AND f.part_code = m.part_code
                          AND f.removed_at >= %(start)s AND f.removed_at < %(end)s
                          AND f.received_at IS NOT NULL)::int AS returned
               FROM part_movements m JOIN parts p ON p.code = m.part_code
               WHERE m.kind = 'issue' AND m.at >= %(start)s AND m.at < %(end)s
                 AND (%(region)s::text IS NULL OR m.region = %(region)s)
               GROUP BY m.region, m.part_code, p.name_zh, p.name_en
               ORDER BY m.region, m.part_code""",
            {"start": start, "end": end, "region": region},
        ).fetchall()


def service_quality(
    conn: Conn, *, start: datetime, end: datetime, region: str | None
) -> list[dict[str, Any]]:
    """日清日结 / 回访 / 满意度 per region: repairs reported in the month and how many were
    fixed the same local day; callbacks due in the month and done; customer ratings."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """WITH regions_ AS (
                   SELECT code AS region FROM regions
                   WHERE %(region)s::text IS NULL OR code = %(region)s),
               repairs AS (
                   SELECT w.region, count(*) AS repairs,
                          count(*) FILTER (WHERE c.at IS NOT NULL
                              AND (c.at AT TIME ZONE s.timezone)::date
                                  = (w.created_at AT TIME ZONE s.timezone)::date) AS same_day
                   FROM work_orders w JOIN sites s ON s.id = w.site_id
                   LEFT JOIN LATERAL (SELECT min(ev.at) AS at FROM work_order_events ev
                        WHERE ev.work_order_id = w.id AND ev.to_status = 'completed') c ON true
                   WHERE w.type = 'repair' AND w.status <> 'cancelled'
                     AND w.created_at >= %(start)s AND w.created_at < %(end)s
                   GROUP BY 1),
               cbs AS (
                   SELECT w.region, count(*) AS callbacks_due,
                          count(*) FILTER (WHERE cb.done_at IS NOT NULL) AS callbacks_done,
                          count(*) FILTER (WHERE cb.done_at <= cb.due_at + interval '1 hour')
                              AS callbacks_on_time,
                          count(*) FILTER (WHERE cb.satisfied) AS satisfied,
                          count(*) FILTER (WHERE cb.satisfied = false) AS unsatisfied
                   FROM callbacks cb JOIN work_orders w ON w.id = cb.work_order_id
                   WHERE cb.due_at >= %(start)s AND cb.due_at < %(end)s
                   GROUP BY 1),
               ratings AS (
                   SELECT region, count(rating) AS rated, avg(rating) AS avg_rating
                   FROM customer_file_entries WHERE at >= %(start)s AND at < %(end)s
                   GROUP BY 1)
               SELECT g.region, coalesce(r.repairs, 0) AS repairs, coalesce(r.same_day, 0) AS same_day,
                      coalesce(c.callbacks_due, 0) AS callbacks_due,
                      coalesce(c.callbacks_done, 0) AS callbacks_done,
                      coalesce(c.callbacks_on_time, 0) AS callbacks_on_time,
                      coalesce(c.satisfied, 0) AS satisfied, coalesce(c.unsatisfied, 0) AS unsatisfied,
                      coalesce(t.rated, 0) AS rated, t.avg_rating
               FROM regions_ g LEFT JOIN repairs r ON r.region = g.region
               LEFT JOIN cbs c ON c.region = g.region LEFT JOIN ratings t ON t.region = g.region
               ORDER BY g.region""",
            {"start": start, "end": end, "region": region},
        ).fetchall()


def weekly(
    conn: Conn, *, start: datetime, end: datetime, region: str | None
) -> list[dict[str, Any]]:
    """周报 per region: work done in the week, new work, and what is open / overdue at its end."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """WITH regions_ AS (
                   SELECT code AS region FROM regions
                   WHERE %(region)s::text IS NULL OR code = %(region)s),
               done AS (
                   SELECT w.region, count(*) AS completed,
                          count(*) FILTER (WHERE w.type = 'repair') AS repairs,
                          count(*) FILTER (WHERE w.type = 'preventive') AS preventive,
                          count(*) FILTER (WHERE w.type = 'predictive') AS predictive,
                          count(*) FILTER (WHERE w.type IN ('commissioning', 'software_update'))
                              AS installs_updates,
                          sum((w.completion->>'time_spent_min')::int) AS minutes
                   FROM work_orders w JOIN work_order_events ev ON ev.work_order_id = w.id
                        AND ev.to_status = 'completed'
                   WHERE ev.at >= %(start)s AND ev.at < %(end)s GROUP BY 1),
               new_ AS (
                   SELECT region, count(*) AS created FROM work_orders
                   WHERE created_at >= %(start)s AND created_at < %(end)s GROUP BY 1),
               state_at_end AS (
                   -- the status each order had at the end of the week, from its audit trail
                   SELECT w.region, w.due_at,
                          (SELECT ev.to_status FROM work_order_events ev
                            WHERE ev.work_order_id = w.id AND ev.at < %(end)s
                            ORDER BY ev.at DESC, ev.id DESC LIMIT 1) AS status
                   FROM work_orders w WHERE w.created_at < %(end)s),
               open_ AS (
                   SELECT region, count(*) AS open_items,
                          count(*) FILTER (WHERE due_at < %(end)s) AS overdue
                   FROM state_at_end
                   WHERE status IN ('new', 'scheduled', 'confirmed', 'dispatched', 'in_progress',
                                    'on_hold')
                   GROUP BY 1)
               SELECT g.region, coalesce(n.created, 0) AS created,
                      coalesce(d.completed, 0) AS completed, coalesce(d.repairs, 0) AS repairs,
                      coalesce(d.preventive, 0) AS preventive, coalesce(d.predictive, 0) AS predictive,
                      coalesce(d.installs_updates, 0) AS installs_updates,
                      round(coalesce(d.minutes, 0) / 60.0, 1) AS hours,
                      coalesce(o.open_items, 0) AS open_items, coalesce(o.overdue, 0) AS overdue
               FROM regions_ g LEFT JOIN done d ON d.region = g.region
               LEFT JOIN new_ n ON n.region = g.region LEFT JOIN open_ o ON o.region = g.region
               ORDER BY g.region""",
            {"start": start, "end": end, "region": region},
        ).fetchall()


def work_log(
    conn: Conn, *, start: datetime, end: datetime, region: str | None
) -> list[dict[str, Any]]:
    """工作日志: each visit completed in the period, by whom, for how long, what was trained."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT w.region, coalesce(st.name, w.technician_id, ev.actor) AS technician,
                      (ev.at AT TIME ZONE s.timezone)::date AS day, w.number, w.type,
                      w.robot_id, s.name AS site,
                      (w.completion->>'time_spent_min')::int AS minutes,
                      coalesce((w.completion->>'phone_guided')::boolean, false) AS by_phone,
                      nullif(w.completion->>'training', '') AS training
               FROM work_orders w JOIN sites s ON s.id = w.site_id
               JOIN work_order_events ev ON ev.work_order_id = w.id AND ev.to_status = 'completed'
               LEFT JOIN staff st ON st.id = w.technician_id
               WHERE ev.at >= %(start)s AND ev.at < %(end)s
                 AND (%(region)s::text IS NULL OR w.region = %(region)s)
               ORDER BY w.region, technician, ev.at""",
            {"start": start, "end": end, "region": region},
        ).fetchall()


def consultations(
    conn: Conn, *, start: datetime, end: datetime, region: str | None
) -> list[dict[str, Any]]:
    """咨询记录: the questions answered in the period."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT q.region, cu.name AS customer, q.robot_id, q.at, q.channel, q.question,
                      q.answer, coalesce(st.name, q.staff_id) AS answered_by
               FROM consultations q JOIN customers cu ON cu.id = q.customer_id
               LEFT JOIN staff st ON st.id = q.staff_id
               WHERE q.at >= %(start)s AND q.at < %(end)s
                 AND (%(region)s::text IS NULL OR q.region = %(region)s)
               ORDER BY q.region, q.at""",
            {"start": start, "end": end, "region": region},
        ).fetchall()


def customer_file(conn: Conn, *, region: str | None) -> list[dict[str, Any]]:
    """用户档案 summary: per customer (and region), robots, orders, ratings, money, last visit."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """WITH robots_ AS (
                   SELECT s.customer_id, s.region, count(DISTINCT s.id) AS sites, count(r.*) AS robots
                   FROM sites s LEFT JOIN robots r ON r.site_id = s.id AND r.active
                   WHERE %(region)s::text IS NULL OR s.region = %(region)s
                   GROUP BY 1, 2),
               orders AS (
                   SELECT customer_id, region, count(*) AS work_orders,
                          count(*) FILTER (WHERE status NOT IN ('completed', 'verified', 'cancelled'))
                              AS open_orders
                   FROM work_orders GROUP BY 1, 2),
               entries AS (
                   SELECT customer_id, region, count(*) AS services, avg(rating) AS avg_rating,
                          sum(charged) AS charged, max(at) AS last_service
                   FROM customer_file_entries GROUP BY 1, 2)
               SELECT x.region, x.customer_id, c.name AS customer, c.contact, c.phone,
                      x.sites, x.robots, coalesce(o.work_orders, 0) AS work_orders,
                      coalesce(o.open_orders, 0) AS open_orders, coalesce(e.services, 0) AS services,
                      round(e.avg_rating, 2) AS avg_rating,
                      coalesce(e.charged, 0)::numeric(12, 2) AS charged, e.last_service
               FROM robots_ x JOIN customers c ON c.id = x.customer_id
               LEFT JOIN orders o ON o.customer_id = x.customer_id AND o.region = x.region
               LEFT JOIN entries e ON e.customer_id = x.customer_id AND e.region = x.region
               ORDER BY x.region, c.name""",
            {"region": region},
        ).fetchall()


def customer_entries(conn: Conn, *, customer_id: str, region: str | None) -> list[dict[str, Any]]:
    """The service lines of one customer's file, newest first."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT e.at, e.region, e.robot_id, w.number AS work_order, e.kind, e.summary,
                      e.rating, e.charged
               FROM customer_file_entries e JOIN work_orders w ON w.id = e.work_order_id
               WHERE e.customer_id = %(c)s AND (%(region)s::text IS NULL OR e.region = %(region)s)
               ORDER BY e.at DESC""",
            {"c": customer_id, "region": region},
        ).fetchall()
