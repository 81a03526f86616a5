"""One policy, three entry points: every role tries every move through the API, the
dashboard's form and the CLI, and the three agree with each other and with the table of
docs/api.md (service.policy decides; no entry point has rules of its own)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.repository import set_password
from api.security import Tokens, hash_password
from cli.main import app as cli_app
from core.clock import FixedClock
from service import policy
from service.repository import insert_order
from tests.api.conftest import NORTH_ROBOT, PASSWORD, form_token, login

# Actor → (role, region) as the registry has them; "tech-other" is a north technician the
# orders are not assigned to.
ACTORS = {
    "hq-manager": ("admin", None),
    "eng-fault-models": ("engineer", None),
    "deng-keming": ("lead", "north"),
    "zheng-zhuzi": ("lead", "east"),
    "zeng-guangkuo": ("technician", "north"),
    "tech-other": ("technician", "north"),
    "hq-viewer": ("viewer", None),
}
TARGETS = ("in_progress", "on_hold", "scheduled", "cancelled", "confirmed")
# What docs/api.md gives each actor on a north order dispatched to zeng-guangkuo
# (dispatched → confirmed is never allowed: the lifecycle refuses it for everyone).
EXPECTED = {
    "hq-manager": {"in_progress", "on_hold", "scheduled", "cancelled"},
    "deng-keming": {"in_progress", "on_hold", "scheduled", "cancelled"},
    "zeng-guangkuo": {"in_progress", "on_hold"},
}
ENTRY_POINTS = ("api", "dashboard", "cli")


def _dispatched_order(conn: psycopg.Connection[Any], key: str, now: Any) -> int:
    site, customer = conn.execute(
        "SELECT r.site_id, s.customer_id FROM robots r JOIN sites s ON s.id = r.site_id"
        " WHERE r.robot_id = %s",
        (NORTH_ROBOT,),
    ).fetchone()
    start = now + timedelta(days=1)
    oid = insert_order(
        conn,
        fields={
            "type": "repair",
            "dedup_key": key,
            "robot_id": NORTH_ROBOT,
            "site_id": site,
            "region": "north",
            "customer_id": customer,
            "title": "矩阵测试 / matrix",
            "tasks": ["exhaust-fan-replace"],
            "priority": 2,
            "due_at": now + timedelta(days=2),
            "warranty": "in_warranty",
            "evidence": {},
            "status": "dispatched",
            "technician_id": "zeng-guangkuo",
            "lead_id": "deng-keming",
            "window_start": start,
            "window_end": start + timedelta(hours=2),
        },
        actor="scheduler",
        now=now,
        day=now.date(),
    )
    assert oid is not None
    return oid


def _status(conn: psycopg.Connection[Any], oid: int) -> str:
    row = conn.execute("SELECT status FROM work_orders WHERE id = %s", (oid,)).fetchone()
    assert row is not None
    return str(row[0])


def test_api_dashboard_and_cli_agree_on_who_may_move_what(
    api: tuple[TestClient, Tokens, str], clock: FixedClock
) -> None:
    client, _, db_url = api
    now = clock.now()
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO staff (id, name, role, region) VALUES"
            " ('tech-other', '另一技工', 'technician', 'north')"
        )
        set_password(conn, staff_id="tech-other", password_hash=hash_password(PASSWORD), now=now)
        orders = {
            (who, to, via): _dispatched_order(conn, f"matrix:{who}:{to}:{via}", now)
            for who in ACTORS
            for to in TARGETS
            for via in ENTRY_POINTS
        }
    runner = CliRunner()
    env = {"AIC_DATABASE_URL": db_url, "AIC_NOW": now.isoformat(), "COLUMNS": "200"}
    outcome: dict[tuple[str, str, str], bool] = {}
    for who in ACTORS:
        headers = login(client, who)
        client.cookies.clear()
        page = client.post("/login", data={"username": who, "password": PASSWORD})
        assert page.status_code == 200, page.text
        csrf = form_token(client, "/ui/orders")
        for to in TARGETS:
            r = client.post(
                f"/api/v1/work-orders/{orders[(who, to, 'api')]}/transitions",
                json={"to": to},
                headers=headers,
            )
            assert r.status_code in (200, 403, 404, 409), r.text
            client.post(
                f"/ui/orders/{orders[(who, to, 'dashboard')]}/move",
                data={"to": to, "csrf": csrf},
                follow_redirects=False,
            )
            runner.invoke(
                cli_app,
                ["orders", "move", str(orders[(who, to, "cli")]), to, "--actor", who],
                env=env,
            )
        client.cookies.clear()
    with psycopg.connect(db_url) as conn:
        for key, oid in orders.items():
            outcome[key] = _status(conn, oid) != "dispatched"
        actors = {r[0] for r in conn.execute("SELECT DISTINCT actor FROM work_order_events")}
    wrong = []
    for who, (role, region) in ACTORS.items():
        actor = policy.Actor(who, role, region)
        for to in TARGETS:
            expected = to in EXPECTED.get(who, set())
            # The policy alone (the lifecycle refuses dispatched → confirmed on its own).
            assert policy.may_move(
                actor, {"region": "north", "technician_id": "zeng-guangkuo"}, to
            ) == (expected or (to == "confirmed" and who in ("hq-manager", "deng-keming")))
            for via in ENTRY_POINTS:
                if outcome[(who, to, via)] != expected:
                    wrong.append(f"{via}: {who} ({role}) → {to}: moved={outcome[(who, to, via)]}")
    assert wrong == [], "\n".join(wrong)
    assert actors <= {*ACTORS, "scheduler"}


@pytest.mark.parametrize("actor", ["nobody", "retired-lead"])
def test_cli_refuses_an_actor_who_is_no_staff_member(
    api: tuple[TestClient, Tokens, str], clock: FixedClock, actor: str
) -> None:
    """`aic orders move 1 confirmed --actor nobody` wrote "nobody" into the audit trail."""
    _, _, db_url = api
    now = clock.now()
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO staff (id, name, role, region, active)"
            " VALUES ('retired-lead', '退休组长', 'lead', 'north', false)"
        )
        oid = _dispatched_order(conn, "unknown-actor", now)
        before = conn.execute("SELECT count(*) FROM work_order_events").fetchone()
    r = CliRunner().invoke(
        cli_app,
        ["orders", "move", str(oid), "in_progress", "--actor", actor],
        env={"AIC_DATABASE_URL": db_url, "AIC_NOW": now.isoformat()},
    )
    assert r.exit_code != 0 and f"no active staff member {actor!r}" in r.output, r.output
    with psycopg.connect(db_url) as conn:
        assert _status(conn, oid) == "dispatched"
        after = conn.execute("SELECT count(*) FROM work_order_events").fetchone()
        assert after == before
        assert conn.execute(
            "SELECT count(*) FROM work_order_events WHERE actor = %s", (actor,)
        ).fetchone() == (0,)
