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


def equipment_distribution(conn: Conn, *, region: str | None) -> list[dict[str, Any]]:
    """区域设备分布统计表: robots, sites and customers per region and model; warranty split."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT s.region, r.model, count(*) AS robots, count(DISTINCT s.id) AS sites,
                      count(DISTINCT s.customer_id) AS customers,
                      count(*) FILTER (WHERE r.warranty_end >= current_date) AS in_warranty
               FROM robots r JOIN sites s ON s.id = r.site_id
               WHERE r.active AND (%(region)s::text IS NULL OR s.region = %(region)s)
               GROUP BY 1, 2 ORDER BY 1, 2""",
            {"region": region},
        ).fetchall()


def out_of_box(conn: Conn, *, region: str | None) -> list[dict[str, Any]]:
    """开箱合格率: commissioning results per region and month of installation."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT s.region, to_char(r.install_date, 'YYYY-MM') AS month, count(*) AS installed,
                      count(*) FILTER (WHERE r.commissioning = 'pass') AS passed,
                      count(*) FILTER (WHERE r.commissioning = 'fail') AS failed,
                      count(*) FILTER (WHERE r.commissioning = 'pending') AS pending
               FROM robots r JOIN sites s ON s.id = r.site_id
               WHERE (%(region)s::text IS NULL OR s.region = %(region)s)
               GROUP BY 1, 2 ORDER BY 1, 2""",
            {"region": region},
        ).fetchall()
