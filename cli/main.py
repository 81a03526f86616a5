"""Entry point of the ``aic`` command."""

from __future__ import annotations

import typer

from cli import (
    api,
    db,
    demo,
    fleet,
    ingest,
    models,
    parts,
    report,
    robots,
    scheduler,
    sim,
    software,
)

app = typer.Typer(
    help="AIC fleet care: telemetry and predictive maintenance for AIC cooking robots.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(fleet.app, name="fleet")
app.add_typer(models.app, name="models")
app.add_typer(scheduler.app, name="scheduler")
app.add_typer(scheduler.plans_app, name="plans")
app.add_typer(scheduler.orders_app, name="orders")
app.command(name="demo")(demo.demo)
app.command(name="ingest")(ingest.ingest)
app.command(name="sim")(sim.sim)
app.command(name="api")(api.api)
app.add_typer(api.users_app, name="users")
app.add_typer(robots.app, name="robots")
app.add_typer(report.app, name="report")
app.add_typer(parts.app, name="parts")
app.add_typer(software.app, name="software")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
