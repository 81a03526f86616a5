"""``aic db``: schema migrations and maintenance."""

from __future__ import annotations

from collections.abc import Sequence

import typer
from rich.markup import escape
from rich.table import Table

from cli.context import console, fail, runtime

app = typer.Typer(help="Database schema: migrate, status, maintenance.", no_args_is_help=True)


@app.command()
def migrate(
    dialect: str = typer.Option("auto", help="auto | plain | timescale"),
) -> None:
    """Apply pending migrations (a second run is a no-op)."""
    from core.migrate import migrate as run_migrations

    with runtime() as rt, rt.pool.connection() as conn:
        conn.autocommit = True
        applied = run_migrations(conn, prefer_dialect=dialect)
    if applied:
        for mig in applied:
            console.print(f"applied {mig.version:04d}_{mig.name}")
    else:
        console.print("schema is up to date")


@app.command()
def status() -> None:
    """Show each migration and whether it is applied."""
    from core.migrate import status as migration_status

    with runtime() as rt, rt.pool.connection() as conn:
        dialect, rows = migration_status(conn)
    table = Table(title=f"schema ({dialect or 'empty database'})")
    for col in ("version", "name", "state", "applied at"):
        table.add_column(col)
    for row in rows:
        table.add_row(
            f"{row.version:04d}",
            row.name,
            row.state,
            row.applied_at.isoformat(timespec="seconds") if row.applied_at else "",
        )
    console.print(table)
    from core.maintenance import timescale_jobs

    with runtime() as rt, rt.pool.connection() as conn:
        jobs = timescale_jobs(conn) if dialect == "timescale" else []
    if jobs:
        _print_jobs(jobs)
    if any(r.state != "applied" for r in rows) or any(j.failing for j in jobs):
        raise typer.Exit(1)


def _print_jobs(jobs: Sequence[object]) -> None:
    """TimescaleDB's background jobs: rollups, compression and retention depend on them."""
    from core.clock import format_local
    from core.maintenance import JobHealth

    table = Table(title="TimescaleDB jobs (times in China time)")
    for col in ("job", "what", "on", "last run", "last success", "failures", "next", "last error"):
        table.add_column(col, overflow="fold")
    for j in jobs:
        assert isinstance(j, JobHealth)
        table.add_row(
            str(j.job_id),
            j.name,
            j.target or "",
            f"[red]{j.last_status}[/]" if j.failing else (j.last_status or "not yet"),
            format_local(j.last_success, zone_suffix=False) if j.last_success else "never",
            str(j.failures),
            format_local(j.next_start, zone_suffix=False) if j.next_start else "",
            escape(j.last_error or ""),
        )
    console.print(table)


@app.command()
def maintain(
    retention_days: int = typer.Option(400, min=1, help="drop telemetry older than this"),
    ahead_days: int = typer.Option(7, min=1, help="create partitions this far ahead"),
) -> None:
    """Create partitions ahead, refresh rollups, apply retention (the scheduler runs this too)."""
    from core.maintenance import run_maintenance

    with runtime() as rt, rt.pool.connection() as conn:
        report = run_maintenance(
            conn, now=rt.clock.now(), retention_days=retention_days, ahead_days=ahead_days
        )
    console.print(
        f"partitions created {report.partitions_created}, dropped {report.partitions_dropped}; "
        f"rollup minutes refreshed {report.minutes_refreshed}"
    )
    from core.maintenance import timescale_jobs

    with runtime() as rt, rt.pool.connection() as conn:
        failing = [j for j in timescale_jobs(conn) if j.failing]
    if failing:
        _print_jobs(failing)
        raise fail(
            f"{len(failing)} TimescaleDB job(s) failing: rollups, compression or retention "
            "are not kept up (see timescaledb_information.job_errors)",
            code=1,
        )
