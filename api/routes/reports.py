"""Reports for HQ and the leads (a lead or technician gets their own region only)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response

from api.deps import DbConn, Now, User
from api.schemas import ReportInfo
from core.labels import Labels
from reports.catalog import REPORTS, run, title
from reports.export import to_csv, to_xlsx_bytes

router = APIRouter(prefix="/reports", tags=["reports"])
NAMES = "^(" + "|".join(REPORTS) + ")$"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("")
def list_reports(user: User) -> list[ReportInfo]:
    """The reports, their titles, the period each takes and their columns."""
    return [
        ReportInfo(name=r.name, title=r.title, period=r.period, columns=dict(r.columns))
        for r in REPORTS.values()
    ]


@router.get(
    "/{name}",
    response_model=None,
    responses={
        200: {
            "description": "The report's rows: JSON objects keyed by the columns that "
            "GET /api/v1/reports lists for it, or the same as CSV or XLSX (with a totals line)",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "array",
                        "items": {"type": "object", "additionalProperties": True},
                    }
                },
                "text/csv": {"schema": {"type": "string"}},
                XLSX: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
def report(
    name: Annotated[str, Path(pattern=NAMES)],
    conn: DbConn,
    user: User,
    now: Now,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None,
    week: Annotated[str | None, Query(pattern=r"^\d{4}-W\d{2}$")] = None,
    format: Literal["json", "csv", "xlsx"] = "json",
) -> list[dict[str, Any]] | Response:
    """One report as JSON rows, CSV (UTF-8 with BOM, opens in Excel) or XLSX with a totals
    line. Monthly reports need ``month=2026-11``, weekly ones ``week=2026-W48``."""
    spec = REPORTS[name]
    period = month if spec.period == "month" else week if spec.period == "week" else None
    rows = run(conn, name, now=now, region=user.region if user.regional else None, period=period)
    stem = f"{name}-{period}" if period else name
    if format == "csv":
        return Response(
            to_csv(rows, spec.columns).encode("utf-8-sig"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{stem}.csv"'},
        )
    if format == "xlsx":
        return Response(
            to_xlsx_bytes(
                rows,
                title=title(spec, period),
                columns=spec.columns,
                skip=spec.no_total,
                names=Labels.load(conn),
            ),
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="{stem}.xlsx"'},
        )
    return rows
