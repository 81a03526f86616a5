"""The monthly fault statistics analysis (月度故障统计分析报告), with CSV and XLSX exports.

MTBF = operating hours of the group's robots in the month (run-hour counters) /
functional failures (``fault`` events); MTTR = mean hours from opening a repair
or predictive work order to completing it, for orders completed in the month.
Headers are bilingual: Chinese for the leads, English after.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from core.db import Conn
from scheduler.reports_repository import monthly_faults

COLUMNS = (
    ("region", "区域 Region"),
    ("model", "机型 Model"),
    ("component", "部件 Component"),
    ("failures", "故障次数 Failures"),
    ("operating_hours", "运行小时 Operating hours"),
    ("mtbf_h", "平均故障间隔(小时) MTBF (h)"),
    ("repairs", "维修次数 Repairs"),
    ("mttr_h", "平均修复时间(小时) MTTR (h)"),
)


@dataclass(frozen=True)
class FaultRow:
    region: str
    model: str
    component: str
    failures: int
    operating_hours: float
    mtbf_h: float | None
    repairs: int
    mttr_h: float | None


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """'2026-11' → [2026-11-01, 2026-12-01) in UTC; a bad month is a ValueError naming it."""
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError as exc:
        raise ValueError(f"month must look like 2026-11, got {month!r}") from exc
    nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return (
        datetime.combine(first, datetime.min.time(), UTC),
        datetime.combine(nxt, datetime.min.time(), UTC),
    )


def fault_statistics(conn: Conn, *, month: str, region: str | None = None) -> list[FaultRow]:
    start, end = month_bounds(month)
    out = []
    for r in monthly_faults(conn, start=start, end=end, region=region):
        hours = float(r["operating_hours"] or 0)
        failures = int(r["failures"])
        out.append(
            FaultRow(
                r["region"],
                r["model"],
                r["component"],
                failures,
                round(hours, 1),
                round(hours / failures, 1) if failures else None,
                int(r["repairs"]),
                round(float(r["mttr_h"]), 2) if r["mttr_h"] is not None else None,
            )
        )
    return out


def to_csv(rows: list[FaultRow]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([label for _, label in COLUMNS])
    for r in rows:
        writer.writerow(["" if getattr(r, k) is None else getattr(r, k) for k, _ in COLUMNS])
    return buf.getvalue()


def to_xlsx(rows: list[FaultRow], path: Path, *, title: str) -> None:
    """An XLSX sheet with the bilingual header, the rows and a totals line."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "月度故障统计"
    ws.append([title])
    ws["A1"].font = Font(bold=True)
    ws.append([label for _, label in COLUMNS])
    for r in rows:
        ws.append([getattr(r, k) for k, _ in COLUMNS])
    failures = sum(r.failures for r in rows)
    repairs = sum(r.repairs for r in rows)
    ws.append(["合计 Total", "", "", failures, "", "", repairs, ""])
    wb.save(path)
