"""How each report's rows are built from the repositories (one function per report)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from core.db import Conn
from reports import repository as rr
from reports.periods import REPORT_TZ
from scheduler import forecast as fc
from service import parts, software


def _ratio(a: float, b: float, digits: int = 3) -> float | None:
    return round(a / b, digits) if b else None


# ---------------------------------------------------------------- report builders
# (connection, region or None for all, (start, end) of the period or None, now)
Builder = Callable[[Conn, str | None, Any, datetime], list[dict[str, Any]]]


def monthly_faults(
    conn: Conn, region: str | None, span: Any, now: datetime
) -> list[dict[str, Any]]:
    out = []
    for r in rr.monthly_faults(conn, start=span[0], end=span[1], region=region):
        hours = float(r["operating_hours"] or 0)
        failures = int(r["failures"])
        out.append(
            {
                **r,
                "failures": failures,
                "repairs": int(r["repairs"]),
                "operating_hours": round(hours, 1),
                "mtbf_h": round(hours / failures, 1) if failures else None,
                "mttr_h": round(float(r["mttr_h"]), 2) if r["mttr_h"] is not None else None,
            }
        )
    return out


def out_of_box(conn: Conn, region: str | None, span: Any, now: datetime) -> list[dict[str, Any]]:
    return [
        {**r, "pass_rate": _ratio(r["passed"], r["passed"] + r["failed"])}
        for r in rr.out_of_box(conn, region=region)
    ]


def service_quality(
    conn: Conn, region: str | None, span: Any, now: datetime
) -> list[dict[str, Any]]:
    out = []
    for r in rr.service_quality(conn, start=span[0], end=span[1], region=region):
        answered = r["satisfied"] + r["unsatisfied"]
        out.append(
            {
                **r,
                "same_day_rate": _ratio(r["same_day"], r["repairs"]),
                "callback_rate": _ratio(r["callbacks_done"], r["callbacks_due"]),
                "satisfaction": _ratio(r["satisfied"], answered),
                "avg_rating": round(float(r["avg_rating"]), 2)
                if r["avg_rating"] is not None
                else None,
            }
        )
    return out


def parts_stock(conn: Conn, region: str | None, span: Any, now: datetime) -> list[dict[str, Any]]:
    return parts.stock(conn, region=region)


def faulty_returns(
    conn: Conn, region: str | None, span: Any, now: datetime
) -> list[dict[str, Any]]:
    return parts.faulty_returns(conn, region=region, open_only=False, now=now)


def forecast(conn: Conn, region: str | None, span: Any, now: datetime) -> list[dict[str, Any]]:
    return fc.forecast(conn, now=now, region=region)


def software_records(
    conn: Conn, region: str | None, span: Any, now: datetime
) -> list[dict[str, Any]]:
    return software.records(
        conn,
        region=region,
        start=span[0].astimezone(REPORT_TZ).date(),
        end=span[1].astimezone(REPORT_TZ).date(),
    )


def versions(conn: Conn, region: str | None, span: Any, now: datetime) -> list[dict[str, Any]]:
    rows = software.version_distribution(conn, region=region)
    for r in rows:  # the chart draws one bar per model and version, never summed across models
        r["model_version"] = f"{r['model']} {r['version']}"
    return rows


def version_rates(conn: Conn, region: str | None, span: Any, now: datetime) -> list[dict[str, Any]]:
    rows = software.version_rates(conn, region=region)
    for r in rows:
        r["model_version"] = f"{r['model']} {r['version']}"
    return rows


def equipment_tracking(
    conn: Conn, region: str | None, span: Any, now: datetime
) -> list[dict[str, Any]]:
    return rr.equipment_tracking(conn, start=span[0], end=span[1], region=region)


def equipment_distribution(
    conn: Conn, region: str | None, span: Any, now: datetime
) -> list[dict[str, Any]]:
    return rr.equipment_distribution(conn, region=region, now=now)


def parts_replaced(
    conn: Conn, region: str | None, span: Any, now: datetime
) -> list[dict[str, Any]]:
    return rr.parts_replaced(conn, start=span[0], end=span[1], region=region)


def weekly(conn: Conn, region: str | None, span: Any, now: datetime) -> list[dict[str, Any]]:
    return rr.weekly(conn, start=span[0], end=span[1], region=region)


def customer_file(conn: Conn, region: str | None, span: Any, now: datetime) -> list[dict[str, Any]]:
    return rr.customer_file(conn, region=region)


def work_log(conn: Conn, region: str | None, span: Any, now: datetime) -> list[dict[str, Any]]:
    return rr.work_log(conn, start=span[0], end=span[1], region=region)


def consultations(conn: Conn, region: str | None, span: Any, now: datetime) -> list[dict[str, Any]]:
    return rr.consultations(conn, start=span[0], end=span[1], region=region)
