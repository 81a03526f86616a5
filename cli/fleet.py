"""``aic fleet``: load and show the fleet registry."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from cli.context import console, fail, runtime

app = typer.Typer(help="Fleet registry: regions, staff, sites, robots.", no_args_is_help=True)


@app.command()
def load(
    path: Path = typer.Argument(..., help="fleet YAML file, e.g. examples/fleet.yaml"),
) -> None:
    """Validate a fleet file and load it in one transaction (nothing is loaded on error)."""
    from core.errors import FleetFileError
    from core.fleet import load_fleet_file
    from core.fleet_repository import upsert_fleet

    try:
        fleet = load_fleet_file(path)
    except FleetFileError as exc:
        raise fail(f"{path}: {exc}") from exc
    with runtime() as rt, rt.pool.connection() as conn:
        counts = upsert_fleet(conn, fleet=fleet)
    console.print(
        f"loaded {counts.regions} regions, {counts.staff} staff, {counts.models} models, "
        f"{counts.customers} customers, {counts.sites} sites, {counts.robots} robots"
    )


@app.command()
def show() -> None:
    """Show each region (区域) with its lead, technicians, sites and robots."""
    from core.fleet_repository import region_summaries

    with runtime() as rt, rt.pool.connection() as conn:
        rows = region_summaries(conn)
    table = Table(title="Fleet 设备分布")
    for col in ("Region 区域", "Lead 组长", "Technicians 技工", "Sites 客户点", "Robots 设备"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            f"{r.name_en} {r.name_zh}",
            r.lead or "-",
            str(r.technicians),
            str(r.sites),
            str(r.robots),
        )
    console.print(table)
    if not rows:
        console.print("no fleet loaded: run `aic fleet load examples/fleet.yaml`")


@app.command()
def synth(
    robots: int = typer.Option(..., min=1, help="how many robots"),
    out: Path = typer.Option(..., help="YAML file to write"),
    seed: int = typer.Option(1),
    base: Path = typer.Option(
        Path(__file__).resolve().parent.parent / "examples" / "fleet.yaml",
        help="fleet whose regions, staff and models are kept",
    ),
) -> None:
    """Write a synthetic fleet of N robots (for large simulations and benchmarks)."""
    import yaml

    from core.fleet import load_fleet_file, parse_fleet
    from core.fleet_synth import synthesize

    doc = synthesize(load_fleet_file(base), robots=robots, seed=seed)
    parse_fleet(doc)  # what we write must load
    out.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    console.print(f"wrote {robots} robots in {len(doc['sites'])} sites to {out}")
