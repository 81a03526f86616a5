"""``aic demo``: the whole pipeline on embedded defaults, ending with a summary."""

from __future__ import annotations

from pathlib import Path

import typer

from cli.context import console, runtime

REPO_FLEET = Path(__file__).resolve().parent.parent / "examples" / "fleet.yaml"


def demo(
    fleet_file: Path = typer.Option(REPO_FLEET, "--fleet", help="fleet YAML to load"),
) -> None:
    """Start services (embedded unless configured), build the schema, load the fleet, report."""
    from core.fleet import load_fleet_file
    from core.fleet_repository import region_summaries, upsert_fleet
    from core.migrate import migrate

    fleet = load_fleet_file(fleet_file)
    with runtime(need_broker=True) as rt:
        console.rule("AIC fleet care demo")
        console.print(f"database: {rt.services.database_url.split('?')[0]}")
        console.print(f"broker:   {rt.services.mqtt_url}")
        with rt.pool.connection() as conn:
            conn.autocommit = True
            applied = migrate(conn)
            conn.autocommit = False
            console.print(f"schema: {len(applied)} migrations applied")
            counts = upsert_fleet(conn, fleet=fleet)
            conn.commit()
            console.print(
                f"fleet: {counts.sites} sites, {counts.robots} robots in {counts.regions} regions"
            )
            for r in region_summaries(conn):
                console.print(f"  {r.name_zh} {r.name_en}: lead {r.lead}, {r.robots} robots")
