"""The monthly fault statistics analysis (月度故障统计分析报告), with CSV and XLSX exports.

MTBF = operating hours of the group's robots in the month (run-hour counters) /
functional failures (``fault`` events); MTTR = mean hours from opening a repair
or predictive work order to completing it, for orders completed in the month.
Headers are bilingual: Chinese for the leads, English after.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from core.db import Conn
from scheduler import reports_repository
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


Columns = tuple[tuple[str, str], ...]
DISTRIBUTION_COLUMNS: Columns = (
    ("region", "区域 Region"),
    ("model", "机型 Model"),
    ("robots", "设备数 Robots"),
    ("sites", "客户点 Sites"),
    ("customers", "客户 Customers"),
    ("in_warranty", "保内 In warranty"),
)
OUT_OF_BOX_COLUMNS: Columns = (
    ("region", "区域 Region"),
    ("month", "安装月份 Month installed"),
    ("installed", "安装 Installed"),
    ("passed", "合格 Passed"),
    ("failed", "不合格 Failed"),
    ("pending", "待调试 Pending"),
    ("pass_rate", "开箱合格率 Out-of-box pass rate"),
)


def equipment_distribution(conn: Conn, *, region: str | None = None) -> list[dict[str, Any]]:
    """区域设备分布统计表."""
    return [dict(r) for r in reports_repository.equipment_distribution(conn, region=region)]


def out_of_box_pass_rate(conn: Conn, *, region: str | None = None) -> list[dict[str, Any]]:
    """开箱合格率: passed / (passed + failed) of commissioned robots, per region and month."""
    out = []
    for r in reports_repository.out_of_box(conn, region=region):
        decided = r["passed"] + r["failed"]
        out.append({**r, "pass_rate": round(r["passed"] / decided, 3) if decided else None})
    return out


def _value(row: object, key: str) -> Any:
    return row.get(key) if isinstance(row, dict) else getattr(row, key)


def to_csv(rows: Sequence[object], columns: Columns = COLUMNS) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([label for _, label in columns])
    for r in rows:
        writer.writerow(["" if _value(r, k) is None else _value(r, k) for k, _ in columns])
    return buf.getvalue()


def to_xlsx(rows: Sequence[object], path: Path, *, title: str, columns: Columns = COLUMNS) -> None:
    """An XLSX sheet with the title, the bilingual header, the rows and a totals line
    (sums of the integer columns)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title.split()[0][:31]
    ws.append([title])
    ws["A1"].font = Font(bold=True)
    ws.append([label for _, label in columns])
    for r in rows:
        ws.append([_value(r, k) for k, _ in columns])
    totals: list[Any] = ["合计 Total"]
    for key, _ in columns[1:]:
        values = [_value(r, key) for r in rows]
        ints = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
        totals.append(sum(ints) if values and len(ints) == len(values) else "")
    ws.append(totals)
    wb.save(path)
