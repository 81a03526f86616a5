"""The aic command end to end against a real database: migrate, status, fleet load/show."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()


@pytest.fixture
def env(empty_database_url: str, tmp_path: Path) -> dict[str, str]:
    return {"AIC_DATABASE_URL": empty_database_url, "AIC_STATE_DIR": str(tmp_path)}


def test_migrate_twice_then_status(env: dict[str, str]) -> None:
    """`aic db migrate` builds the schema; the second run is a no-op; status is clean."""
    first = runner.invoke(app, ["db", "migrate"], env=env)
    assert first.exit_code == 0, first.output
    assert "applied 0001_registry" in first.output
    second = runner.invoke(app, ["db", "migrate"], env=env)
    assert second.exit_code == 0 and "up to date" in second.output
    status = runner.invoke(app, ["db", "status"], env=env)
    assert "pending" not in status.output
    # Exit 0 — unless on TimescaleDB one of its background jobs has already failed (status
    # says so with exit 1: on the hand-built TimescaleDB of docs/schema.md they all fail).
    import psycopg

    from core.maintenance import timescale_jobs

    with psycopg.connect(env["AIC_DATABASE_URL"]) as conn:
        failing = any(j.failing for j in timescale_jobs(conn))
    assert status.exit_code == (1 if failing else 0), status.output


def test_status_before_migrate_fails(env: dict[str, str]) -> None:
    """An unmigrated database shows pending migrations and exits 1."""
    result = runner.invoke(app, ["db", "status"], env=env)
    assert result.exit_code == 1 and "pending" in result.output


def test_fleet_load_and_show(env: dict[str, str], fleet_file: Path) -> None:
    """The example fleet loads and `fleet show` lists each region's lead."""
    assert runner.invoke(app, ["db", "migrate"], env=env).exit_code == 0
    load = runner.invoke(app, ["fleet", "load", str(fleet_file)], env=env)
    assert load.exit_code == 0, load.output
    assert "5 regions" in load.output
    show = runner.invoke(app, ["fleet", "show"], env=env)
    assert show.exit_code == 0
    for lead in ("邓克明", "郑竹子", "任迎五", "魏晨光", "梁福杰"):
        assert lead in show.output


def test_bad_fleet_file_loads_nothing(
    env: dict[str, str], fleet_file: Path, tmp_path: Path
) -> None:
    """A bad entry is reported by path and field, and nothing at all is loaded."""
    assert runner.invoke(app, ["db", "migrate"], env=env).exit_code == 0
    doc = yaml.safe_load(fleet_file.read_text(encoding="utf-8"))
    doc["sites"][3]["robots"][0]["model"] = "AIC-X9"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(app, ["fleet", "load", str(bad)], env=env)
    assert result.exit_code == 2
    assert "sites[3].robots[0].model" in result.output and "AIC-X9" in result.output
    import psycopg

    with psycopg.connect(env["AIC_DATABASE_URL"]) as conn:
        assert conn.execute("SELECT count(*) FROM regions").fetchone() == (0,)


def test_wrong_database_url_names_the_setting(tmp_path: Path) -> None:
    """A URL that cannot connect fails at start-up naming AIC_DATABASE_URL."""
    result = runner.invoke(
        app,
        ["db", "status"],
        env={
            "AIC_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
            "AIC_STATE_DIR": str(tmp_path),
        },
    )
    assert result.exit_code == 2
    assert "AIC_DATABASE_URL" in result.output


def test_error_messages_print_as_written(tmp_path: Path) -> None:
    """A refused robot id shows the id pattern whole (Rich used to eat `[a-z0-9-]` as markup)."""
    result = runner.invoke(
        app, ["robots", "provision", "a+b", "--password-file", str(tmp_path / "pw")]
    )
    assert result.exit_code == 2
    assert "[a-z0-9-]" in result.output and "'a+b'" in result.output


def test_metrics_port_in_use_is_a_clear_error(
    env: dict[str, str], mqtt_url: str, tmp_path: Path
) -> None:
    """`aic ingest --metrics-port P` with P taken exits 2 with a message, not a traceback."""
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        assert runner.invoke(app, ["db", "migrate"], env=env).exit_code == 0
        result = runner.invoke(
            app,
            [
                "ingest",
                "--metrics-port",
                str(port),
                "--client-id",
                f"aic-test-{port}",
                "--insecure-broker",
            ],
            env={**env, "AIC_MQTT_URL": mqtt_url},
        )
    finally:
        taken.close()
    assert result.exit_code == 2, result.output
    assert f"--metrics-port {port}: cannot listen" in result.output
