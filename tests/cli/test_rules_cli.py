"""Rules as versioned data: `aic models rules load/list/activate` and scoring with them
(issue 21: rules could only be changed by editing the file inside the installed package)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import yaml
from typer.testing import CliRunner

from analytics.rules import DEFAULT_RULES
from analytics.scoring import score_windows
from analytics.service import rules_in_force
from cli.main import app

runner = CliRunner()


def test_load_list_activate_and_score_with_loaded_rules(fresh_db: str, tmp_path: Path) -> None:
    env = {"AIC_DATABASE_URL": fresh_db, "AIC_STATE_DIR": str(tmp_path)}
    listed = runner.invoke(app, ["models", "rules", "list"], env=env)
    assert listed.exit_code == 0 and "shipped" in listed.output
    doc = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    doc["version"] = 2
    doc["rules"].append(
        {"name": "stir-vibration-early", "feature": "stir_vib_p90", "op": ">", "value": 2.0,
         "component": "stir_drive", "kind": "stir_bearing_wear", "severity": "medium"}
    )  # fmt: skip
    path = tmp_path / "rules-v2.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    loaded = runner.invoke(app, ["models", "rules", "load", str(path), "--actor", "eng"], env=env)
    assert loaded.exit_code == 0, loaded.output
    again = runner.invoke(app, ["models", "rules", "load", str(path)], env=env)
    assert again.exit_code != 0 and "bump `version`" in again.output
    with psycopg.connect(fresh_db) as conn:
        rules = rules_in_force(conn)
    assert rules.version == 2 and rules.rules[-1].name == "stir-vibration-early"
    window = {
        "robot_id": "aic-bj-00001", "window_start": datetime(2026, 9, 1, tzinfo=UTC),
        "window_hours": 24, "n_cooking": 0, "stir_vib_p90": 2.5, "err_codes": [],
    }  # fmt: skip
    found = score_windows([window], rules=rules).anomalies
    assert [(a.model_version, a.kind) for a in found] == [("rules/2", "stir_bearing_wear")]
    assert window["window_start"] + timedelta(hours=24) == found[0].window_end
    table = runner.invoke(app, ["models", "rules", "list"], env=env)
    assert "2" in table.output and "yes" in table.output and "eng" in table.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 3\nrules: [{name: x, component: c, kind: k}]\n", encoding="utf-8")
    refused = runner.invoke(app, ["models", "rules", "load", str(bad)], env=env)
    assert refused.exit_code != 0 and "feature/op/value or error_code" in refused.output
    missing = runner.invoke(app, ["models", "rules", "activate", "9"], env=env)
    assert missing.exit_code != 0 and "no rules version 9" in missing.output
