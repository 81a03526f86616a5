"""``aic robots``: per-robot MQTT credentials."""

from __future__ import annotations

from pathlib import Path

import typer

from cli.context import console, fail

app = typer.Typer(
    help="Robot MQTT credentials (per-robot username = robot id).", no_args_is_help=True
)
DEFAULT_FILE = Path("/etc/mosquitto/aic/passwords")


@app.command()
def provision(
    robot_id: str,
    password_file: Path = typer.Option(DEFAULT_FILE, help="Mosquitto password file"),
) -> None:
    """Create a robot's MQTT credentials and print its password once."""
    from core.credentials import CredentialError
    from core.credentials import provision as do

    try:
        secret = do(password_file, robot_id)
    except CredentialError as exc:
        raise fail(str(exc)) from exc
    console.print(f"robot {robot_id}: username {robot_id}, password {secret}")
    console.print("reload the broker to apply: kill -HUP $(pidof mosquitto)")


@app.command()
def revoke(
    robot_id: str,
    password_file: Path = typer.Option(DEFAULT_FILE, help="Mosquitto password file"),
) -> None:
    """Remove a robot's credentials; after a broker reload it cannot connect."""
    from core.credentials import CredentialError
    from core.credentials import revoke as do

    try:
        do(password_file, robot_id)
    except CredentialError as exc:
        raise fail(str(exc)) from exc
    console.print(f"robot {robot_id} revoked; reload the broker: kill -HUP $(pidof mosquitto)")
