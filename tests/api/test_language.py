"""Issue 17: no English code on a zh-CN page — statuses, types, regions, staff ids, fault
kinds, health, states are shown by name — and the language switch is remembered per user."""

from __future__ import annotations

import html
import re

import psycopg
from fastapi.testclient import TestClient

from api.security import Tokens
from core import labels
from tests.api.conftest import NORTH_ROBOT, PASSWORD, agree_quote, form_token, login

TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*")


def visible_text(page: str) -> str:
    """What a person reads: no scripts, styles or tags (attributes carry codes on purpose)."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def known_codes(db_url: str) -> set[str]:
    with psycopg.connect(db_url) as conn:
        regions = {r[0] for r in conn.execute("SELECT code FROM regions")}
        staff = {r[0] for r in conn.execute("SELECT id FROM staff")}
    codes = regions | staff
    for vocabulary in labels.VOCABULARIES.values():
        codes |= set(vocabulary)
    return {c for c in codes if isinstance(c, str)} - {"metric"}


def codes_on(client: TestClient, path: str, codes: set[str]) -> set[str]:
    r = client.get(path)
    assert r.status_code == 200, (path, r.status_code)
    assert '<html lang="zh-CN">' in r.text, path
    return set(TOKEN.findall(visible_text(r.text))) & codes


def test_no_english_code_on_a_chinese_page(api: tuple[TestClient, Tokens, str]) -> None:
    client, _, db_url = api
    codes = known_codes(db_url)
    assert {"in_progress", "north", "zeng-guangkuo", "exhaust_fan_failure", "ok"} <= codes
    lead = login(client, "deng-keming")
    order = client.get(
        "/api/v1/work-orders", params={"robot_id": NORTH_ROBOT}, headers=lead
    ).json()[0]
    agree_quote(client, lead, order["id"])
    for step in ("confirmed", "dispatched"):
        client.post(
            f"/api/v1/work-orders/{order['id']}/transitions",
            json={"to": step, "override_reason": "客户同意"},
            headers=lead,
        )
    client.post("/login", data={"username": "deng-keming", "password": PASSWORD})
    pages = [
        "/ui/orders",
        f"/ui/orders/{order['id']}",
        "/ui/orders/new",
        "/ui/robots",
        f"/ui/robots/{NORTH_ROBOT}",
        "/ui/reports",
        *(
            f"/ui/reports/{n}"
            for n in (
                "weekly",
                "distribution",
                "customer-file",
                "parts-stock",
                "service-quality",
                "work-log",
                "equipment-tracking",
                "monthly-faults",
                "faulty-returns",
            )
        ),
    ]
    found = {p: codes_on(client, p, codes) for p in pages}
    client.post("/logout", data={"csrf": form_token(client)})
    client.post("/login", data={"username": "zeng-guangkuo", "password": PASSWORD})
    for p in ("/ui/today", f"/ui/orders/{order['id']}"):
        found[f"technician {p}"] = codes_on(client, p, codes)
    assert {p: c for p, c in found.items() if c} == {}


def test_the_language_switch_is_remembered_per_user(api: tuple[TestClient, Tokens, str]) -> None:
    client, _, _ = api
    client.post("/login", data={"username": "deng-keming", "password": PASSWORD})
    zh = client.get("/ui/orders")
    assert '<html lang="zh-CN">' in zh.text and "工单队列" in zh.text
    r = client.post(
        "/ui/lang",
        data={"csrf": form_token(client), "lang": "en", "back": "/ui/robots"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/ui/robots"
    client.cookies.clear()  # another device: the choice is the staff member's
    client.post("/login", data={"username": "deng-keming", "password": PASSWORD})
    en = client.get("/ui/orders")
    assert '<html lang="en">' in en.text and "Job queue" in en.text and "North China" in en.text
    client.post("/logout", data={"csrf": form_token(client)})
    client.post("/login", data={"username": "eng-fault-models", "password": PASSWORD})
    assert '<html lang="en">' in client.get("/ui/orders").text  # engineers: English by default
