"""``aic models rules``: threshold rules as versioned data in the database."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from cli.context import console, fail, runtime

app = typer.Typer(help="Threshold rules: load a versioned rules file, list, activate.")


@app.command("load")
def load(
    path: Path = typer.Argument(..., help="rules YAML (the format of analytics/rules.yaml)"),
    activate: bool = typer.Option(True, help="make it the rule set live scoring uses"),
    actor: str | None = typer.Option(None, "--actor", help="who loads it (recorded)"),
) -> None:
    """Validate and store a rules file as a new version; live scoring uses it from the
    next run. A version is never overwritten: bump ``version`` for every change."""
    from analytics.rules import load_rules
    from analytics.rules_repository import store_rule_set

    try:
        rules = load_rules(path)
    except (OSError, ValueError) as exc:
        raise fail(str(exc)) from exc
    with runtime() as rt, rt.pool.connection() as conn:
        try:
            store_rule_set(
                conn,
                rules=rules,
                source=str(path),
                loaded_by=actor,
                now=rt.clock.now(),
                activate=activate,
            )
        except ValueError as exc:
            raise fail(str(exc)) from exc
    state = "active" if activate else "stored, not active"
    console.print(f"rules version {rules.version} ({len(rules.rules)} rules) loaded: {state}")


@app.command("activate")
def activate(version: int = typer.Argument(...)) -> None:
    """Make an already loaded version the active one (also to roll back)."""
    from analytics.rules_repository import activate_rule_set

    with runtime() as rt, rt.pool.connection() as conn:
        try:
            activate_rule_set(conn, version=version)
        except ValueError as exc:
            raise fail(str(exc)) from exc
    console.print(f"rules version {version} is active")


@app.command("list")
def list_() -> None:
    """Loaded rule sets; without an active one, scoring uses the package's rules.yaml."""
    from analytics.rules_repository import list_rule_sets

    with runtime() as rt, rt.pool.connection() as conn:
        rows = list_rule_sets(conn)
    if not rows:
        console.print("no rule sets loaded: scoring uses the shipped analytics/rules.yaml")
        return
    table = Table(title="rule sets")
    for col in ("version", "active", "rules", "loaded", "by", "source"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            str(r["version"]),
            "yes" if r["active"] else "",
            str(r["rules"]),
            f"{r['loaded_at']:%Y-%m-%d %H:%M}",
            r["loaded_by"] or "",
            r["source"] or "",
        )
    console.print(table)
