"""Report exports: CSV and XLSX with the bilingual header and a totals line."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.labels import Labels
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
    names: Labels | None = None,
) -> None:
    """An XLSX sheet for HQ's Excel: the title, the bilingual header (frozen), the rows —
    with ``names``, regions and codes in Chinese words, flags as 是/否 — a totals line (合计),
    and columns as wide as their contents."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

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
        values = [_value(r, k) for k, _ in columns]
        if names is not None:
            values = [names.value(k, v) for (k, _), v in zip(columns, values, strict=True)]
        ws.append([cell(v) for v in values])
    ws.append(totals(rows, columns, skip))
    for cell_ in ws[ws.max_row]:
        cell_.font = Font(bold=True)
    ws.freeze_panes = "B3"  # the title and the header stay, so does the first column
    for i, column in enumerate(ws.iter_cols(min_row=2), start=1):
        widest = max((_width(c.value) for c in column), default=8)
        ws.column_dimensions[get_column_letter(i)].width = min(60, max(8, widest + 2))
    wb.save(path)


def _width(value: Any) -> int:
    """Display width in Excel's units: a Chinese character counts two."""
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def to_xlsx_bytes(
    rows: Sequence[object],
    *,
    title: str,
    columns: Columns,
    skip: tuple[str, ...] = (),
    names: Labels | None = None,
) -> bytes:
    buf = io.BytesIO()
    to_xlsx(rows, buf, title=title, columns=columns, skip=skip, names=names)
    return buf.getvalue()
