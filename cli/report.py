"""``aic report``: the statistics the regional leads owe HQ (one command per report)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from cli.context import console, fail, region_code, runtime
from core.labels import Labels
from reports.catalog import REPORT_LIST, Report

app = typer.Typer(
    help="Reports for HQ (table, or CSV / XLSX with Chinese and English headers).",
    no_args_is_help=True,
)


def emit(
    rows: list[dict[str, Any]],
    report: Report,
    title: str,
    out: Path | None,
    *,
    names: Labels | None = None,
) -> None:
    """Print the report as a table, or write it to ``out`` (.csv or .xlsx); with ``names``,
    regions and codes in words."""
    from reports.export import cell, to_csv, to_xlsx
    from reports.periods import TIME_NOTE

    if out is not None:
        if out.suffix == ".xlsx":
            to_xlsx(
                rows, out, title=title, columns=report.columns, skip=report.no_total, names=names
            )
        elif out.suffix == ".csv":
            out.write_text(to_csv(rows, report.columns), encoding="utf-8-sig")
        else:
            raise fail(f"--out must end in .csv or .xlsx, got {out.name!r}")
        console.print(f"wrote {len(rows)} rows to {out}")
        return
    table = Table(title=title, caption=TIME_NOTE)
    for _, label in report.columns:
        table.add_column(label)
    for r in rows:
        table.add_row(
            *[
                "-" if r.get(k) is None else str(cell(names.value(k, r[k]) if names else r[k]))
                for k, _ in report.columns
            ]
        )
    console.print(table)


def _produce(report: Report, region: str | None, period: str | None, out: Path | None) -> None:
    from core.labels import Labels
    from reports.catalog import run, title
    from reports.periods import last_month, last_week

    with runtime() as rt, rt.pool.connection() as conn:
        now = rt.clock.now()
        region = region_code(conn, region)
        names = Labels.load(conn)
        if report.period == "month" and period is None:
            period = last_month(now)
        elif report.period == "week" and period is None:
            period = last_week(now)
        try:
            rows = run(conn, report.name, now=now, region=region, period=period)
        except ValueError as exc:
            raise fail(str(exc)) from exc
    emit(rows, report, title(report, period), out, names=names)


def _command(report: Report) -> Callable[..., None]:
    region_opt = typer.Option(None, help="one region, code or name: north, 华北 (default: all)")
    out_opt = typer.Option(None, help="write .csv or .xlsx instead of printing")
    if report.period == "month":

        def monthly(
            month: str | None = typer.Option(
                None, help="e.g. 2026-11 (China time; default: last month)"
            ),
            region: str | None = region_opt,
            out: Path | None = out_opt,
        ) -> None:
            _produce(report, region, month, out)

        fn: Callable[..., None] = monthly
    elif report.period == "week":

        def weekly(
            week: str | None = typer.Option(
                None, help="ISO week, e.g. 2026-W48, Monday to Sunday (default: last week)"
            ),
            region: str | None = region_opt,
            out: Path | None = out_opt,
        ) -> None:
            _produce(report, region, week, out)

        fn = weekly
    else:

        def current(region: str | None = region_opt, out: Path | None = out_opt) -> None:
            _produce(report, region, None, out)

        fn = current
    fn.__doc__ = report.title
    return fn


for _report in REPORT_LIST:
    app.command(_report.name)(_command(_report))
