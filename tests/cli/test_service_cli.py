"""``aic parts``, ``aic software``, ``aic report`` and ``aic orders`` service commands."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook
from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]


def test_parts_software_and_reports(fresh_db: str, tmp_path: Path) -> None:
    env = {"AIC_DATABASE_URL": fresh_db, "AIC_STATE_DIR": str(tmp_path), "COLUMNS": "200"}

    def aic(*args: str) -> str:
        r = runner.invoke(app, list(args), env=env)
        assert r.exit_code == 0, r.output
        return r.output

    reload = aic("parts", "load", str(REPO / "examples" / "parts.yaml"))
    assert "8 parts" in reload and "fee schedule v1" in reload
    assert "north FAN-EXH-200: 5 on hand" in aic(
        "parts", "receive", "north", "FAN-EXH-200", "2", "--actor", "deng-keming"
    )
    adjust = ["parts", "adjust", "--actor", "deng-keming", "--reason", "count", "--"]
    refused = runner.invoke(app, [*adjust, "north", "FAN-EXH-200", "-9"], env=env)
    assert refused.exit_code == 2 and "5 on hand, 9 needed" in refused.output
    aic(
        "software",
        "record",
        "--site",
        "site-bj-001",
        "--model",
        "AIC-W1",
        "--version",
        "3.3.0",
        "--quantity",
        "1",
        "--operator",
        "曾广阔",
        "--on",
        "2026-11-20",
    )
    out = tmp_path / "sw.xlsx"
    aic("report", "software-updates", "--month", "2026-11", "--out", str(out))
    rows = list(load_workbook(out).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert rows[2][2].date().isoformat() == "2026-11-20" and rows[2][3:6] == ("AIC-W1", 1, "3.3.0")
    assert "合计 Total" in rows[-1]
    stock = aic("report", "parts-stock", "--region", "north")
    assert "FAN-EXH-200" in stock and "east" not in stock
    # No --week: last week in China time (what a lead reports; issue 17), at the command's
    # clock (AIC_NOW: Sunday 29 November 2026, 23:59 UTC, is Monday 30 November in China,
    # ISO week 49 — so the report is week 48).
    last_week = runner.invoke(
        app, ["report", "weekly"], env={**env, "AIC_NOW": "2026-11-29T23:59:00Z"}
    )
    assert last_week.exit_code == 0 and "2026-W48" in last_week.output, last_week.output
    north = runner.invoke(app, ["report", "parts-stock", "--region", "华北"], env=env)
    assert north.exit_code == 0 and "华北" in north.output and "east" not in north.output
    nowhere = runner.invoke(app, ["report", "parts-stock", "--region", "nort"], env=env)
    assert nowhere.exit_code == 2 and "unknown region 'nort'" in nowhere.output
    card = aic("orders", "warranty-card", "aic-bj-00001")
    assert "保修卡 WC-FXW22500001" in card
    assert "commissioning orders created" in aic("orders", "commissioning")
    bad = runner.invoke(app, ["parts", "load", str(REPO / "examples" / "fleet.yaml")], env=env)
    assert bad.exit_code == 2 and "fleet.yaml" in bad.output


def test_orders_list_takes_region_names_and_refuses_unknown_filters(fresh_db: str) -> None:
    """`aic orders list --region 华北` (code, Chinese or English name) lists the north's
    orders; a misspelt region or status is an error that lists the valid ones (it used to
    print an empty table and exit 0); `--status open` is the open orders."""
    from datetime import UTC, datetime, timedelta

    import psycopg
    from psycopg.types.json import Jsonb

    from scheduler.orders import generate_predictive

    now = datetime(2026, 12, 1, 2, tzinfo=UTC)
    with psycopg.connect(fresh_db) as conn:
        for robot in ("aic-bj-00001", "aic-sh-00019"):
            conn.execute(
                """INSERT INTO anomalies (robot_id, detector, model_version, component, kind,
                       window_start, window_end, score, severity, evidence)
                   VALUES (%s, 'rules', 'rules/1', 'exhaust_fan', 'exhaust_fan_failure',
                           %s, %s, 1, 'critical', %s)""",
                (robot, now - timedelta(days=1), now, Jsonb({})),
            )
        assert len(generate_predictive(conn, now=now).created) == 2
    env = {"AIC_DATABASE_URL": fresh_db, "COLUMNS": "250"}
    for name in ("north", "华北", "North China"):
        out = runner.invoke(app, ["orders", "list", "--region", name], env=env)
        assert out.exit_code == 0 and "aic-bj-00001" in out.output, out.output
        assert "aic-sh-00019" not in out.output
    both = runner.invoke(app, ["orders", "list", "--status", "open"], env=env)
    assert both.exit_code == 0 and "aic-sh-00019" in both.output and "aic-bj-00001" in both.output
    typo = runner.invoke(app, ["orders", "list", "--region", "nort"], env=env)
    assert typo.exit_code == 2 and "unknown region 'nort'" in typo.output
    assert "north (华北)" in typo.output
    bad = runner.invoke(app, ["orders", "list", "--status", "opened"], env=env)
    assert bad.exit_code == 2 and "unknown status 'opened'" in bad.output


def test_a_lead_opens_an_order_from_a_call_and_records_the_callback(fresh_db: str) -> None:
    """`aic orders open` (报修) and `aic orders callback` (客户回访) from the CLI; an
    unsatisfied customer gets a revisit order."""
    env = {"AIC_DATABASE_URL": fresh_db, "COLUMNS": "200", "AIC_NOW": "2026-12-01T02:00:00Z"}

    def aic(*args: str, code: int = 0) -> str:
        r = runner.invoke(app, list(args), env=env)
        assert r.exit_code == code, r.output
        return r.output

    out = aic(
        "orders",
        "open",
        "aic-bj-00001",
        "--symptom",
        "急停后无法启动",
        "--actor",
        "deng-keming",
        "--solved-by-phone",
        "--cause",
        "急停按下",
        "--resolution",
        "指导复位",
        "--minutes",
        "10",
    )
    assert ": completed" in out
    refused = aic(
        "orders", "open", "aic-bj-00001", "--symptom", "x", "--actor", "zeng-guangkuo", code=2
    )
    assert "leads and HQ take customers' reports" in refused
    import psycopg

    with psycopg.connect(fresh_db) as conn:
        (oid,) = conn.execute("SELECT id FROM work_orders WHERE origin = 'phone'").fetchone()  # type: ignore[misc]
    done = aic(
        "orders",
        "callback",
        str(oid),
        "phone_guided",
        "--unsatisfied",
        "--actor",
        "deng-keming",
        "--notes",
        "又坏了",
    )
    assert "revisit order" in done
