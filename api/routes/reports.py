"""Reports for HQ and the leads (a lead gets their own region)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from api.deps import DbConn, User

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get("/monthly-faults", response_model=None)
def monthly_faults(
    conn: DbConn,
    user: User,
    month: Annotated[str, Query(pattern=r"^\d{4}-\d{2}$")],
    format: Literal["json", "csv"] = "json",
) -> list[dict[str, Any]] | Response:
    """月度故障统计分析报告: failures, MTBF and MTTR per region, model and component."""
    from dataclasses import asdict

    from scheduler.reports import fault_statistics, to_csv

    rows = fault_statistics(conn, month=month, region=user.region if user.regional else None)
    if format == "csv":
        return Response(
            to_csv(rows).encode("utf-8-sig"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="faults-{month}.csv"'},
        )
    return [asdict(r) for r in rows]
