"""``aic report``: the monthly statistics the regional leads owe HQ."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from cli.context import console, fail, runtime

app = typer.Typer(
    help="Reports for HQ (CSV / XLSX with Chinese and English headers).", no_args_is_help=True
)


@app.command("monthly-faults")
def monthly_faults(
    month: str = typer.Option(..., help="e.g. 2026-11"),
    region: str | None = typer.Option(None, help="one region (default: all)"),
    out: Path | None = typer.Option(None, help="write .csv or .xlsx"),
) -> None:
    """月度故障统计分析报告: failures, MTBF and MTTR per region, model and component."""
    from scheduler.reports import COLUMNS, fault_statistics, to_csv, to_xlsx

    with runtime() as rt, rt.pool.connection() as conn:
        try:
            rows = fault_statistics(conn, month=month, region=region)
        except ValueError as exc:
            raise fail(str(exc)) from exc
    if out is not None:
        if out.suffix == ".xlsx":
            to_xlsx(rows, out, title=f"月度故障统计分析报告 Monthly fault statistics {month}")
        elif out.suffix == ".csv":
            out.write_text(to_csv(rows), encoding="utf-8-sig")
        else:
            raise fail(f"--out must end in .csv or .xlsx, got {out.name!r}")
        console.print(f"wrote {len(rows)} rows to {out}")
        return
    table = Table(title=f"月度故障统计分析报告 Monthly fault statistics {month}")
    for _, label in COLUMNS:
        table.add_column(label)
    for r in rows:
        table.add_row(*["-" if getattr(r, k) is None else str(getattr(r, k)) for k, _ in COLUMNS])
    console.print(table)
