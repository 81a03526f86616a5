"""Report exports: CSV and XLSX with the bilingual header and a totals line."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from reports.periods import REPORT_TZ, TIME_NOTE

Columns = tuple[tuple[str, str], ...]


def cell(value: Any) -> Any:
    """A value as a spreadsheet cell: times in China time without zone, the rest as is."""
    if isinstance(value, datetime):
        return value.astimezone(REPORT_TZ).strftime("%Y-%m-%d %H:%M") if value.tzinfo else value
    return value


def _value(row: object, key: str) -> Any:
    return row.get(key) if isinstance(row, dict) else getattr(row, key)


def to_csv(rows: Sequence[object], columns: Columns) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([label for _, label in columns])
    for r in rows:
        writer.writerow(["" if _value(r, k) is None else cell(_value(r, k)) for k, _ in columns])
    return buf.getvalue()


def totals(rows: Sequence[object], columns: Columns, skip: tuple[str, ...] = ()) -> list[Any]:
    """'合计 Total', then the sum of every column whose values are all counts or money
    (except the ``skip`` columns, which do not add up)."""
    out: list[Any] = ["合计 Total"]
    for key, _ in columns[1:]:
        if key in skip:
            out.append("")
            continue
        values = [_value(r, key) for r in rows]
        summable = [v for v in values if isinstance(v, int | Decimal) and not isinstance(v, bool)]
        out.append(sum(summable) if values and len(summable) == len(values) else "")
    return out


def to_xlsx(
    rows: Sequence[object],
    path: Path | io.BytesIO,
    *,
    title: str,
    columns: Columns,
    skip: tuple[str, ...] = (),
) -> None:
    """An XLSX sheet with the title, the bilingual header, the rows and a totals line."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title.split()[0][:31]
    ws.append([f"{title} · {TIME_NOTE}"])
    ws["A1"].font = Font(bold=True)
    ws.append([label for _, label in columns])
    for cell_ in ws[2]:
        cell_.font = Font(bold=True)
    for r in rows:
        ws.append([cell(_value(r, k)) for k, _ in columns])
    ws.append(totals(rows, columns, skip))
    wb.save(path)


def to_xlsx_bytes(
    rows: Sequence[object], *, title: str, columns: Columns, skip: tuple[str, ...] = ()
) -> bytes:
    buf = io.BytesIO()
    to_xlsx(rows, buf, title=title, columns=columns, skip=skip)
    return buf.getvalue()
