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
    from dataclasses import asdict

    from scheduler.reports import COLUMNS, fault_statistics

    with runtime() as rt, rt.pool.connection() as conn:
        try:
            rows = fault_statistics(conn, month=month, region=region)
        except ValueError as exc:
            raise fail(str(exc)) from exc
    _emit(
        [asdict(r) for r in rows],
        COLUMNS,
        f"月度故障统计分析报告 Monthly fault statistics {month}",
        out,
    )


def _emit(
    rows: list[dict[str, object]],
    columns: tuple[tuple[str, str], ...],
    title: str,
    out: Path | None,
) -> None:
    from scheduler.reports import to_csv, to_xlsx

    if out is not None:
        if out.suffix == ".xlsx":
            to_xlsx(rows, out, title=title, columns=columns)
        elif out.suffix == ".csv":
            out.write_text(to_csv(rows, columns), encoding="utf-8-sig")
        else:
            raise fail(f"--out must end in .csv or .xlsx, got {out.name!r}")
        console.print(f"wrote {len(rows)} rows to {out}")
        return
    table = Table(title=title)
    for _, label in columns:
        table.add_column(label)
    for r in rows:
        table.add_row(*["-" if r.get(k) is None else str(r.get(k)) for k, _ in columns])
    console.print(table)


@app.command("distribution")
def distribution(
    region: str | None = typer.Option(None), out: Path | None = typer.Option(None)
) -> None:
    """区域设备分布统计表: robots, sites and customers per region and model."""
    from scheduler.reports import DISTRIBUTION_COLUMNS, equipment_distribution

    with runtime() as rt, rt.pool.connection() as conn:
        rows = equipment_distribution(conn, region=region)
    _emit(rows, DISTRIBUTION_COLUMNS, "区域设备分布统计表 Regional equipment distribution", out)


@app.command("out-of-box")
def out_of_box(
    region: str | None = typer.Option(None), out: Path | None = typer.Option(None)
) -> None:
    """开箱合格率: commissioning pass rate per region and month of installation."""
    from scheduler.reports import OUT_OF_BOX_COLUMNS, out_of_box_pass_rate

    with runtime() as rt, rt.pool.connection() as conn:
        rows = out_of_box_pass_rate(conn, region=region)
    _emit(rows, OUT_OF_BOX_COLUMNS, "开箱合格率 Out-of-box pass rate", out)
