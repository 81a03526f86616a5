"""SQL the API reads and writes. Region scoping is applied here from the principal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg import sql
from psycopg.rows import dict_row

from api.security import Principal
from core.db import Conn
from core.errors import NotFoundError

ROBOT_METRICS = (
    "wok_temp_c",
    "heater_power_w",
    "igbt_temp_c",
    "stir_current_a",
    "stir_rpm",
    "stir_vib_mm_s",
    "pump_pressure_kpa",
    "dose_flow_ml_s",
    "exhaust_fan_rpm",
    "cabinet_temp_c",
)
ORDER_SORT = {"due_at", "priority", "created_at", "updated_at", "status", "number"}


def _scope(p: Principal, region_col: str) -> tuple[str, dict[str, Any]]:
    """The region filter from the token: never from the query."""
    if p.regional:
        return f" AND {region_col} = %(p_region)s", {"p_region": p.region}
    return "", {}


def credentials(conn: Conn, *, staff_id: str) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT s.id, s.role, s.region, s.active, c.password_hash
               FROM staff s LEFT JOIN staff_credentials c ON c.staff_id = s.id WHERE s.id = %s""",
            (staff_id,),
        ).fetchone()


def set_password(conn: Conn, *, staff_id: str, password_hash: str, now: datetime) -> bool:
    cur = conn.execute(
        """INSERT INTO staff_credentials (staff_id, password_hash, updated_at)
           SELECT id, %s, %s FROM staff WHERE id = %s
           ON CONFLICT (staff_id) DO UPDATE SET password_hash = EXCLUDED.password_hash,
                                                updated_at = EXCLUDED.updated_at""",
        (password_hash, now, staff_id),
    )
    return cur.rowcount == 1


def regions(conn: Conn, *, p: Principal) -> list[dict[str, Any]]:
    where, params = _scope(p, "code")
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT code, name_zh, name_en FROM regions WHERE true{where} ORDER BY code", params
        ).fetchall()


_ROBOT_SQL = """
SELECT r.robot_id, r.model, r.serial, r.site_id, s.name AS site_name, s.region, s.timezone,
       c.name AS customer,
       r.firmware, r.purchase_date, r.install_date, r.warranty_end,
       r.warranty_end >= (%(now)s AT TIME ZONE s.timezone)::date AS in_warranty,
       st.state, st.last_seen, st.online, st.err,
       (SELECT count(*) FROM anomalies a WHERE a.robot_id = r.robot_id AND a.status = 'open')
           AS open_anomalies,
       (SELECT min(w.due_at) FROM work_orders w WHERE w.robot_id = r.robot_id
          AND w.status IN ('new', 'scheduled', 'confirmed', 'dispatched', 'in_progress'))
           AS next_maintenance_due
FROM robots r JOIN sites s ON s.id = r.site_id JOIN customers c ON c.id = s.customer_id
LEFT JOIN robot_state st ON st.robot_id = r.robot_id
WHERE r.active
"""


def robots(
    conn: Conn, *, p: Principal, limit: int, offset: int, now: datetime
) -> list[dict[str, Any]]:
    """Robots the caller may see; ``in_warranty`` on each site's local date at ``now``."""
    where, params = _scope(p, "s.region")
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            _ROBOT_SQL + where + " ORDER BY r.robot_id LIMIT %(limit)s OFFSET %(offset)s",
            {**params, "limit": limit, "offset": offset, "now": now},
        ).fetchall()


def robot(conn: Conn, *, p: Principal, robot_id: str, now: datetime) -> dict[str, Any] | None:
    where, params = _scope(p, "s.region")
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            _ROBOT_SQL + " AND r.robot_id = %(rid)s" + where,
            {**params, "rid": robot_id, "now": now},
        ).fetchone()


def telemetry(
    conn: Conn, *, robot_id: str, metric: str, start: datetime, end: datetime, max_points: int
) -> list[dict[str, Any]]:
    """A downsampled series from the rollups: 1-minute buckets for short spans, else 1-hour."""
    if metric not in ROBOT_METRICS:
        raise ValueError(f"unknown metric {metric!r}")
    span_h = (end - start).total_seconds() / 3600
    table = "telemetry_1m" if span_h <= 48 else "telemetry_1h"
    bucket_s = max(
        60 if table == "telemetry_1m" else 3600, int((end - start).total_seconds() / max_points) + 1
    )
    query = sql.SQL(
        """SELECT to_timestamp(floor(extract(epoch FROM bucket) / %(b)s) * %(b)s) AS t,
                  sum({avg} * n) / nullif(sum(n) FILTER (WHERE {avg} IS NOT NULL), 0) AS avg,
                  min({min}) AS min, max({max}) AS max
           FROM {table} WHERE robot_id = %(rid)s AND bucket >= %(from)s AND bucket < %(to)s
           GROUP BY 1 ORDER BY 1"""
    ).format(
        avg=sql.Identifier(f"{metric}_avg"),
        min=sql.Identifier(f"{metric}_min"),
        max=sql.Identifier(f"{metric}_max"),
        table=sql.Identifier(table),
    )
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            query, {"b": bucket_s, "rid": robot_id, "from": start, "to": end}
        ).fetchall()


def anomalies(
    conn: Conn,
    *,
    p: Principal,
    status: str | None,
    robot_id: str | None,
    kind: str | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    where, params = _scope(p, "s.region")
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT a.id, a.robot_id, a.detector, a.model_version, a.component, a.kind,
                      a.window_start, a.window_end, a.score, a.severity, a.predicted_failure,
                      a.status, a.evidence, a.acknowledged_by, a.acknowledged_at,
                      a.cleared_by, a.cleared_at
               FROM anomalies a JOIN robots r ON r.robot_id = a.robot_id
               JOIN sites s ON s.id = r.site_id
               WHERE (%(status)s::text IS NULL OR a.status = %(status)s)
                 AND (%(rid)s::text IS NULL OR a.robot_id = %(rid)s)
                 AND (%(kind)s::text IS NULL OR a.kind = %(kind)s)"""
            + where
            + " ORDER BY a.window_end DESC, a.id DESC LIMIT %(limit)s OFFSET %(offset)s",
            {
                **params,
                "status": status,
                "rid": robot_id,
                "kind": kind,
                "limit": limit,
                "offset": offset,
            },
        ).fetchall()


def set_anomaly_status(
    conn: Conn, *, p: Principal, anomaly_id: int, status: str, now: datetime
) -> dict[str, Any] | None:
    where, params = _scope(p, "s.region")
    who = "acknowledged" if status == "acknowledged" else "cleared"
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"""UPDATE anomalies a SET status = %(status)s, {who}_by = %(who)s, {who}_at = %(now)s
                FROM robots r JOIN sites s ON s.id = r.site_id
                WHERE a.id = %(id)s AND r.robot_id = a.robot_id{where}
                RETURNING a.id, a.status""",
            {**params, "status": status, "who": p.staff_id, "id": anomaly_id, "now": now},
        ).fetchone()


def work_orders(
    conn: Conn,
    *,
    p: Principal,
    status: str | None,
    type_: str | None,
    robot_id: str | None,
    sort: str,
    descending: bool,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    if sort not in ORDER_SORT:
        raise ValueError(f"sort must be one of {sorted(ORDER_SORT)}")
    where, params = _scope(p, "w.region")
    if p.role == "technician":
        where += " AND w.technician_id = %(p_staff)s"
        params["p_staff"] = p.staff_id
    order = sql.SQL(" ORDER BY {} {}, w.id").format(
        sql.Identifier("w", sort), sql.SQL("DESC" if descending else "ASC")
    )
    query = (
        sql.SQL(
            """SELECT w.id, w.number, w.type, w.status, w.priority, w.robot_id, w.site_id, w.region,
                  w.title, w.due_at, w.window_start, w.window_end, w.window_late, w.lead_id,
                  w.technician_id, w.warranty, w.created_at, w.updated_at
           FROM work_orders w
           WHERE (%(status)s::text IS NULL OR w.status = %(status)s)
             AND (%(type)s::text IS NULL OR w.type = %(type)s)
             AND (%(rid)s::text IS NULL OR w.robot_id = %(rid)s)"""
            + where
        )
        + order
        + sql.SQL(" LIMIT %(limit)s OFFSET %(offset)s")
    )
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            query,
            {
                **params,
                "status": status,
                "type": type_,
                "rid": robot_id,
                "limit": limit,
                "offset": offset,
            },
        ).fetchall()


def visible_order(conn: Conn, *, p: Principal, order_id: int) -> dict[str, Any]:
    """The order if the caller may see it; NotFoundError (404) otherwise — another region's
    order does not exist for them."""
    order = work_order(conn, p=p, order_id=order_id)
    if order is None:
        raise NotFoundError("work order", order_id)
    return order


def work_order(conn: Conn, *, p: Principal, order_id: int) -> dict[str, Any] | None:
    where, params = _scope(p, "w.region")
    if p.role == "technician":
        where += " AND w.technician_id = %(p_staff)s"
        params["p_staff"] = p.staff_id
    with conn.cursor(row_factory=dict_row) as cur:
        order = cur.execute(
            """SELECT w.*, c.name AS customer_name, c.phone AS customer_phone, s.address,
                      s.phone AS site_phone, s.timezone, r.model, r.purchase_date
               FROM work_orders w JOIN sites s ON s.id = w.site_id
               JOIN customers c ON c.id = w.customer_id JOIN robots r ON r.robot_id = w.robot_id
               WHERE w.id = %(id)s"""
            + where,
            {**params, "id": order_id},
        ).fetchone()
        if order is not None:
            order["history"] = cur.execute(
                "SELECT at, actor, from_status, to_status, note FROM work_order_events"
                " WHERE work_order_id = %s ORDER BY id",
                (order_id,),
            ).fetchall()
            order["callbacks"] = cur.execute(
                "SELECT kind, due_at, done_at, done_by, satisfied, notes, unreachable_reason, revisit_order_id FROM callbacks"
                " WHERE work_order_id = %s ORDER BY due_at",
                (order_id,),
            ).fetchall()
        return order


def customers(conn: Conn, *, p: Principal) -> list[dict[str, Any]]:
    where, params = _scope(p, "s.region")
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT DISTINCT c.id, c.name, c.contact, c.phone FROM customers c"
            " JOIN sites s ON s.customer_id = c.id WHERE true" + where + " ORDER BY c.id",
            params,
        ).fetchall()


def sites(conn: Conn, *, p: Principal) -> list[dict[str, Any]]:
    where, params = _scope(p, "s.region")
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT s.id, s.customer_id, s.region, s.name, s.city, s.address, s.contact, s.phone,"
            " s.timezone FROM sites s WHERE true" + where + " ORDER BY s.id",
            params,
        ).fetchall()
        hours: dict[str, list[dict[str, Any]]] = {}
        for h in cur.execute(
            "SELECT site_id, weekday, opens, closes FROM site_service_hours"
            " ORDER BY site_id, weekday, opens"
        ):
            hours.setdefault(h["site_id"], []).append(
                {"weekday": h["weekday"], "opens": h["opens"], "closes": h["closes"]}
            )
    for r in rows:
        r["service_hours"] = hours.get(r["id"], [])
    return rows


def events(conn: Conn, *, robot_id: str, limit: int) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT ts, seq, type, code, detail, fw FROM robot_events WHERE robot_id = %s"
            " ORDER BY ts DESC LIMIT %s",
            (robot_id, limit),
        ).fetchall()


def plans(conn: Conn) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT p.robot_model, p.version, p.loaded_at, t.code, t.title_zh, t.title_en,
                      t.interval_days, t.interval_cycles, t.interval_run_hours,
                      t.interval_heater_hours, t.anchor, t.duration_min, t.parts, t.checklist
               FROM maintenance_plans p JOIN plan_tasks t ON t.plan_id = p.id
               WHERE p.active ORDER BY p.robot_model, t.code"""
        ).fetchall()


def quarantine(conn: Conn, *, reason: str | None, limit: int) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT id, received_at, topic, reason, detail, payload FROM quarantine"
            " WHERE (%(r)s::text IS NULL OR reason = %(r)s) ORDER BY id DESC LIMIT %(n)s",
            {"r": reason, "n": limit},
        ).fetchall()
    for r in rows:
        r["payload"] = bytes(r["payload"])[:2000].decode("utf-8", errors="replace")
    return rows


def limit_statements(conn: Conn, *, timeout_s: float) -> None:
    """Bound every statement and lock wait of this transaction."""
    ms = str(max(1, int(timeout_s * 1000)))
    conn.execute(
        "SELECT set_config('statement_timeout', %s, true), set_config('lock_timeout', %s, true)",
        (ms, ms),
    )


def enter_scope(conn: Conn, *, p: Principal) -> None:
    """Run the rest of this transaction as ``aic_api`` with the caller's region (RLS backstop).

    The staff member must still be active: a disabled account's tokens stop working at
    once, not when they expire.
    """
    from api.security import AccountDisabledError

    row = conn.execute("SELECT active FROM staff WHERE id = %s", (p.staff_id,)).fetchone()
    if row is None or not row[0]:
        raise AccountDisabledError(p.staff_id)
    conn.execute("SET LOCAL ROLE aic_api")
    conn.execute("SELECT set_config('aic.region', %s, true)", (p.region if p.regional else "",))


def authenticate(conn: Conn, *, staff_id: str, password: str) -> Principal | None:
    """The principal for valid, active credentials; None otherwise (no hint which part failed)."""
    from api.security import api_role, dummy_hash, verify_password

    row = credentials(conn, staff_id=staff_id)
    usable = row is not None and row["active"] and row["password_hash"] is not None
    # An unknown or disabled user costs one hash check too: the answer's time tells nothing.
    matches = verify_password(row["password_hash"] if usable else dummy_hash(), password)  # type: ignore[index]
    if not (usable and matches):
        return None
    assert row is not None
    return Principal(row["id"], api_role(row["role"]), row["region"])


def ground_truth_runs(conn: Conn) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT run_id, count(*) AS faults, min(onset) AS first_onset,
                      max(created_at) AS created_at
               FROM fault_ground_truth GROUP BY run_id ORDER BY max(created_at) DESC"""
        ).fetchall()
