"""``aic software``: software-update records (软件更新记录)."""

from __future__ import annotations

from datetime import date

import typer

from cli.context import console, fail, runtime

app = typer.Typer(help="Software-update records (软件更新记录).", no_args_is_help=True)


@app.command("record")
def record(
    site: str = typer.Option(...),
    model: str = typer.Option(...),
    version: str = typer.Option(...),
    quantity: int = typer.Option(..., min=1),
    operator: str = typer.Option(..., help="who did the update"),
    on: str | None = typer.Option(
        None, help="date of the update, e.g. 2026-11-30 (default: today at the site)"
    ),
    from_version: str | None = typer.Option(None),
) -> None:
    """Record an update done on site by hand (site, date, model, quantity, version, operator)."""
    from core.errors import NotFoundError
    from service.software import record_manual

    try:
        day = date.fromisoformat(on) if on else None
    except ValueError as exc:
        raise fail(f"--on must look like 2026-11-30, got {on!r}") from exc
    with runtime() as rt, rt.pool.connection() as conn:
        try:
            rid = record_manual(
                conn,
                site_id=site,
                model=model,
                updated_on=day,
                quantity=quantity,
                version=version,
                operator=operator,
                now=rt.clock.now(),
                from_version=from_version,
            )
        except (ValueError, NotFoundError) as exc:
            raise fail(str(exc)) from exc
    console.print(f"recorded update {rid}: {quantity} × {model} at {site} → {version}")


@app.command("sync")
def sync() -> None:
    """Record the robots' own firmware_updated events (also done by the scheduler)."""
    from service.software import sync_from_events

    with runtime() as rt, rt.pool.connection() as conn:
        n = sync_from_events(conn, now=rt.clock.now())
    console.print(f"{n} updates recorded from robot events")
