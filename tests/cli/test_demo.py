"""`aic demo` runs the pipeline end to end: simulator → MQTT → ingest → database → scoring."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.brokers import ProjectBroker


@pytest.mark.broker
def test_demo_end_to_end(
    tmp_path: Path, empty_database_url: str, project_broker: ProjectBroker
) -> None:
    """On an empty database the demo builds the schema, streams a small fleet, and reports."""
    result = CliRunner().invoke(
        app,
        ["demo", "--robots", "8", "--days", "10", "--faults", "0.5", "--seed", "3", "--no-serve"],
        env={
            "AIC_DATABASE_URL": empty_database_url,
            "AIC_MQTT_URL": project_broker.url,
            "AIC_STATE_DIR": str(tmp_path),
        },
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "migrations applied" in out and "103 robots" in out
    assert "unacknowledged 0" in out
    stored = int(out.split("ingest: ")[1].split(" readings stored")[0])
    assert stored > 10_000
    assert "Injected faults caught" in out
