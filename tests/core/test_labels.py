"""Every code a person can see has its Chinese and English label in core/labels.py."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import yaml

from core import labels
from core.labels import Labels, both, label

REPO = Path(__file__).resolve().parents[2]


def _check_values(
    conn: psycopg.Connection[tuple[object, ...]], table: str, column: str
) -> set[str]:
    """The values a CHECK constraint allows for ``table.column`` (the schema's vocabulary)."""
    defs = [
        str(r[0])
        for r in conn.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND contype = 'c'",
            (table,),
        )
    ]
    found = [d for d in defs if re.search(rf"\(?{column}\)? = ANY", d)]
    assert found, f"no CHECK on {table}.{column}: {defs}"
    return set(re.findall(r"'([a-z_]+)'::text", found[0]))


def test_every_stored_code_has_both_labels(fresh_db: str) -> None:
    with psycopg.connect(fresh_db) as conn:
        assert _check_values(conn, "work_orders", "status") == set(labels.STATUS)
        assert _check_values(conn, "work_orders", "type") == set(labels.ORDER_TYPE)
        assert _check_values(conn, "work_orders", "type") == set(labels.ORDER_FORM)
        assert _check_values(conn, "callbacks", "kind") == set(labels.CALLBACK_KIND)
        assert _check_values(conn, "anomalies", "status") == set(labels.ANOMALY_STATUS)
        names = Labels.load(conn)
    assert names.region("north") == "华北" and names.region("north", "en") == "North China"
    assert names.person("zeng-guangkuo") == "曾广阔" and names.person("scheduler") == "scheduler"


def test_every_code_of_the_code_has_a_label() -> None:
    from analytics.components import INDICATORS
    from ingest.messages import STATES
    from reports.repository import COMPONENT_BY_CODE
    from scheduler.orders import PREDICTIVE_TASKS, PRIORITY
    from service.lifecycle import TRANSITIONS

    rules = yaml.safe_load((REPO / "analytics" / "rules.yaml").read_text(encoding="utf-8"))
    rule_list = [r for group in rules.values() if isinstance(group, list) for r in group]
    assert rule_list
    assert set(TRANSITIONS) == set(labels.STATUS)
    kinds = {i.kind for i in INDICATORS} | set(PREDICTIVE_TASKS) | {r["kind"] for r in rule_list}
    assert kinds <= set(labels.FAULT_KIND), kinds - set(labels.FAULT_KIND)
    components = {i.component for i in INDICATORS} | set(COMPONENT_BY_CODE.values())
    components |= {r["component"] for r in rule_list}
    assert components <= set(labels.COMPONENT), components - set(labels.COMPONENT)
    assert set(PRIORITY) == set(labels.SEVERITY)
    assert set(STATES) == set(labels.ROBOT_STATE)
    for vocabulary in labels.VOCABULARIES.values():
        for zh, en in vocabulary.values():
            assert re.search(r"[\u4e00-\u9fff]", zh) and not re.search(r"[\u4e00-\u9fff]", en)
            assert en[0].isupper(), en


def test_labels_in_each_language() -> None:
    assert label("status", "dispatched") == "已派工"
    assert label("status", "dispatched", "en") == "Dispatched"
    assert both("fault_kind", "exhaust_fan_failure") == "排烟风机故障 Exhaust fan failure"
    assert label("status", "no-such-code") == "no-such-code"  # shown as it is, never hidden
    assert label("status", None) == "-"
    assert labels.yes_no(True) == "是" and labels.yes_no(False, "en") == "No"


def test_every_metric_of_the_charts_has_a_label() -> None:
    from api.repository import ROBOT_METRICS

    assert set(ROBOT_METRICS) == set(labels.METRIC)


def test_every_channel_has_a_label(fresh_db: str) -> None:
    with psycopg.connect(fresh_db) as conn:
        assert _check_values(conn, "work_orders", "origin") == set(labels.CHANNEL)
        assert _check_values(conn, "consultations", "channel") <= set(labels.CHANNEL)
