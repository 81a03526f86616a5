"""The API: authentication, the region filter from the token, roles, errors as 4xx."""

from __future__ import annotations

from datetime import datetime, timedelta

import jwt
import psycopg
import pytest
from fastapi.testclient import TestClient

from api.security import Principal, Tokens
from core.maintenance import ensure_partitions, refresh_rollups
from tests.api.conftest import EAST_ROBOT, NORTH_ROBOT, PASSWORD, agree_quote, login


def test_login_and_refresh(api: tuple[TestClient, Tokens, str]) -> None:
    """Password flow issues tokens with role and region; refresh issues new ones."""
    client, _, _ = api
    bad = client.post("/api/v1/auth/token", data={"username": "deng-keming", "password": "nope"})
    assert bad.status_code == 401
    r = client.post("/api/v1/auth/token", data={"username": "deng-keming", "password": PASSWORD})
    body = r.json()
    assert (body["role"], body["region"]) == ("lead", "north")
    again = client.post("/api/v1/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert again.status_code == 200
    # an access token is not a refresh token
    wrong = client.post("/api/v1/auth/refresh", json={"refresh_token": body["access_token"]})
    assert wrong.status_code == 401


@pytest.mark.parametrize("make", ["expired", "tampered", "alg_none", "other_key", "garbage"])
def test_bad_tokens_get_401(api: tuple[TestClient, Tokens, str], make: str) -> None:
    """Expired, tampered, alg=none and foreign tokens are refused."""
    client, tokens, _ = api
    p = Principal("hq-manager", "admin", None)
    if make == "expired":
        token = tokens.issue(p, now=tokens.clock.now() - timedelta(hours=2))
    elif make == "tampered":
        good = tokens.issue(Principal("deng-keming", "lead", "north"))
        head, _payload, sig = good.split(".")
        forged = jwt.encode(
            {"sub": "deng-keming", "role": "admin", "typ": "access", "exp": 9999999999},
            "k" * 40,
            algorithm="HS256",
        ).split(".")[1]
        token = f"{head}.{forged}.{sig}"
    elif make == "alg_none":
        token = jwt.encode(
            {"sub": "hq-manager", "role": "admin", "typ": "access", "exp": 9999999999},
            None,
            algorithm="none",
        )
    elif make == "other_key":
        token = Tokens.with_secret("another-secret-key-of-sufficient-len").issue(p)
    else:
        token = "not.a.token"
    r = client.get("/api/v1/robots", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert client.get("/api/v1/robots").status_code == 401


def test_leads_see_only_their_region(api: tuple[TestClient, Tokens, str]) -> None:
    """No token ever receives another region's robot, anomaly or work order: those answer 404."""
    client, _, _ = api
    north = login(client, "deng-keming")
    robots = client.get("/api/v1/robots?limit=500", headers=north).json()
    assert robots and {r["region"] for r in robots} == {"north"}
    assert client.get(f"/api/v1/robots/{EAST_ROBOT}", headers=north).status_code == 404
    assert client.get(f"/api/v1/robots/{NORTH_ROBOT}", headers=north).status_code == 200
    assert {a["robot_id"] for a in client.get("/api/v1/anomalies", headers=north).json()} == {
        NORTH_ROBOT
    }
    orders = client.get("/api/v1/work-orders", headers=north).json()
    assert orders and {o["region"] for o in orders} == {"north"}
    east_orders = client.get("/api/v1/work-orders", headers=login(client, "zheng-zhuzi")).json()
    assert east_orders and {o["region"] for o in east_orders} == {"east"}
    assert (
        client.get(f"/api/v1/work-orders/{east_orders[0]['id']}", headers=north).status_code == 404
    )
    # the query cannot widen the scope
    assert client.get(f"/api/v1/anomalies?robot_id={EAST_ROBOT}", headers=north).json() == []
    regions = client.get("/api/v1/regions", headers=north).json()
    assert [r["code"] for r in regions] == ["north"]
    admin = client.get("/api/v1/regions", headers=login(client, "hq-manager")).json()
    assert len(admin) == 5


def test_roles(api: tuple[TestClient, Tokens, str]) -> None:
    """Technicians see their own orders and cannot acknowledge anomalies; viewers read only."""
    client, _, _ = api
    tech = login(client, "zeng-guangkuo")
    orders = client.get("/api/v1/work-orders", headers=tech).json()
    assert orders and all(o["technician_id"] == "zeng-guangkuo" for o in orders)
    anomaly = client.get("/api/v1/anomalies", headers=tech).json()[0]
    assert (
        client.post(f"/api/v1/anomalies/{anomaly['id']}/acknowledge", headers=tech).status_code
        == 403
    )
    viewer = login(client, "hq-viewer")
    assert len(client.get("/api/v1/work-orders", headers=viewer).json()) >= 2
    r = client.post(
        f"/api/v1/work-orders/{orders[0]['id']}/transitions",
        headers=viewer,
        json={"to": "cancelled"},
    )
    assert r.status_code == 403
    lead = login(client, "deng-keming")
    ack = client.post(f"/api/v1/anomalies/{anomaly['id']}/acknowledge", headers=lead)
    assert ack.status_code == 200 and ack.json()["status"] == "acknowledged"


def test_transitions_through_the_api(api: tuple[TestClient, Tokens, str]) -> None:
    """A lead confirms and dispatches; the technician completes; refusals are 409 with a reason."""
    client, _, _ = api
    lead = login(client, "deng-keming")
    order = client.get("/api/v1/work-orders", headers=lead).json()[0]
    bad = client.post(
        f"/api/v1/work-orders/{order['id']}/transitions", headers=lead, json={"to": "completed"}
    )
    assert bad.status_code == 409 and "allowed from" in bad.json()["reason"]
    agree_quote(client, lead, order["id"])
    for step in ("confirmed", "dispatched"):
        r = client.post(
            f"/api/v1/work-orders/{order['id']}/transitions", headers=lead, json={"to": step}
        )
        assert r.status_code == 200, r.text
    tech = login(client, "zeng-guangkuo")
    assert (
        client.post(
            f"/api/v1/work-orders/{order['id']}/transitions",
            headers=tech,
            json={"to": "in_progress"},
        ).status_code
        == 200
    )
    done = client.post(
        f"/api/v1/work-orders/{order['id']}/transitions",
        headers=tech,
        json={
            "to": "completed",
            "completion": {
                "cause": "fan motor burnt",
                "resolution": "replaced",
                "parts_used": [{"code": "FAN-EXH-200", "qty": 1}],
                "time_spent_min": 60,
                "rating": 5,
                "signer": "店长",
            },
        },
    )
    assert done.status_code == 200, done.text
    detail = client.get(f"/api/v1/work-orders/{order['id']}", headers=lead).json()
    assert [h["to_status"] for h in detail["history"]][-2:] == ["in_progress", "completed"]
    assert detail["callbacks"][0]["kind"] == "verification"
    # Priced from the fee schedule: 1 h labour 150 + fan 640 + north travel 100.
    assert detail["completion"]["quote"]["total"] == "890.00"
    expected = "0" if detail["warranty"] == "in_warranty" else "890.00"
    assert detail["completion"]["charged"] == expected


@pytest.mark.parametrize(
    "query",
    [
        "/api/v1/work-orders?sort=due_at;DROP TABLE robots",
        "/api/v1/work-orders?sort=password",
        "/api/v1/work-orders?limit=100000",
        "/api/v1/work-orders?status=open' OR '1'='1",
        "/api/v1/anomalies?robot_id=x' OR 1=1 --",
        f"/api/v1/robots/{NORTH_ROBOT}/telemetry?metric=password",
        f"/api/v1/robots/{NORTH_ROBOT}/telemetry?metric=wok_temp_c&from=2026-02-01&to=2026-01-01",
        f"/api/v1/robots/{NORTH_ROBOT}/telemetry?metric=wok_temp_c&from=yesterday",
    ],
)
def test_bad_input_is_422_never_500(api: tuple[TestClient, Tokens, str], query: str) -> None:
    client, _, _ = api
    r = client.get(query, headers=login(client, "hq-manager"))
    assert r.status_code == 422, r.text
    assert r.json()["detail"]


@pytest.mark.clock
def test_telemetry_series_and_health(api: tuple[TestClient, Tokens, str]) -> None:
    """A robot's last hour of readings comes back from the rollups (also across UTC midnight:
    partitions for every day the hour touches); health, readiness and metrics answer."""
    client, tokens, url = api
    now = tokens.clock.now()
    start = now.replace(second=0, microsecond=0) - timedelta(hours=1)
    with psycopg.connect(url) as conn:
        ensure_partitions(conn, start=start, end=start + timedelta(minutes=59))
        conn.execute(
            """INSERT INTO telemetry (ts, robot_id, seq, state, wok_temp_c, received_at)
               SELECT %s + make_interval(mins => g), %s, g, 'cooking', 100 + g, %s
               FROM generate_series(0, 59) g""",
            (start, NORTH_ROBOT, now),
        )
        conn.commit()  # TimescaleDB refreshes its rollups outside a transaction
        refresh_rollups(conn, now=now, lag=timedelta(0))
    admin = login(client, "hq-manager")
    r = client.get(
        f"/api/v1/robots/{NORTH_ROBOT}/telemetry",
        headers=admin,
        params={
            "metric": "wok_temp_c",
            "from": start.isoformat(),
            "to": (start + timedelta(hours=1)).isoformat(),
            "max_points": 30,
        },
    )
    assert r.status_code == 200, r.text
    points = r.json()["points"]
    assert 25 <= len(points) <= 31
    assert points[0]["min"] == 100 and points[-1]["max"] == 159
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    assert "aic_api_requests_total" in client.get("/metrics").text
    assert client.get("/docs").status_code == 200


MATRIX_USERS = {
    "admin": "hq-manager",
    "engineer": "eng-fault-models",
    "lead": "deng-keming",
    "technician": "zeng-guangkuo",
    "viewer": "hq-viewer",
}


def _ids(db: str) -> dict[str, int]:
    with psycopg.connect(db) as conn:
        north = conn.execute(
            "SELECT id FROM anomalies WHERE robot_id = %s", (NORTH_ROBOT,)
        ).fetchone()
        east = conn.execute("SELECT id FROM work_orders WHERE region = 'east'").fetchone()
    assert north and east
    return {"north_anomaly": north[0], "east_order": east[0]}


# (method, path template, expected status per role: admin, engineer, lead, technician, viewer)
MATRIX = [
    ("GET", "/api/v1/regions", (200, 200, 200, 200, 200)),
    ("GET", "/api/v1/robots", (200, 200, 200, 200, 200)),
    ("GET", "/api/v1/customers", (200, 200, 200, 200, 200)),
    ("GET", "/api/v1/sites", (200, 200, 200, 200, 200)),
    ("GET", "/api/v1/plans", (200, 200, 200, 200, 200)),
    ("GET", f"/api/v1/robots/{EAST_ROBOT}", (200, 200, 404, 404, 200)),
    ("GET", f"/api/v1/robots/{EAST_ROBOT}/events", (200, 200, 404, 404, 200)),
    ("GET", "/api/v1/work-orders/{east_order}", (200, 200, 404, 404, 200)),
    ("GET", "/api/v1/fault-models", (200, 200, 403, 403, 403)),
    ("POST", "/api/v1/fault-models/rollback?robot_model=AIC-W1", (404, 404, 403, 403, 403)),
    ("GET", "/api/v1/quarantine", (200, 403, 403, 403, 403)),
    ("POST", "/api/v1/anomalies/{north_anomaly}/acknowledge", (200, 200, 200, 403, 403)),
]


@pytest.mark.parametrize(("method", "path", "expected"), MATRIX)
def test_authorization_matrix(
    api: tuple[TestClient, Tokens, str], method: str, path: str, expected: tuple[int, ...]
) -> None:
    """Every role against every endpoint: the expected answer, never another region's data."""
    client, _, db = api
    url = path.format(**_ids(db))
    got = tuple(
        client.request(method, url, headers=login(client, staff)).status_code
        for staff in MATRIX_USERS.values()
    )
    assert got == expected, dict(zip(MATRIX_USERS, got, strict=True))


def test_callbacks_are_recorded(api: tuple[TestClient, Tokens, str]) -> None:
    """After completion the lead records the callback (done at the app's clock); a second
    record of it is a 404."""
    client, tokens, db = api
    lead = login(client, "deng-keming")
    order = client.get("/api/v1/work-orders", headers=lead).json()[0]
    with psycopg.connect(db) as conn:
        conn.execute(
            "INSERT INTO callbacks (work_order_id, kind, due_at) VALUES (%s, 'phone_guided', %s)",
            (order["id"], tokens.clock.now()),
        )
    url = f"/api/v1/work-orders/{order['id']}/callbacks/phone_guided"
    r = client.post(url, headers=lead, json={"satisfied": True, "notes": "客户满意"})
    assert r.status_code == 200 and r.json()["satisfied"] is True
    assert datetime.fromisoformat(r.json()["done_at"]) == tokens.clock.now()
    assert client.post(url, headers=lead, json={"satisfied": True}).status_code == 404
    tech = login(client, "zeng-guangkuo")
    assert client.post(url, headers=tech, json={"satisfied": True}).status_code == 403


@pytest.mark.clock
def test_monthly_fault_report_is_region_scoped(api: tuple[TestClient, Tokens, str]) -> None:
    """Leads get their region's report; CSV carries the bilingual header; a bad month is 422.
    A fault at the app's instant falls in that instant's China-time month."""
    client, tokens, db = api
    from reports.periods import current_month

    now = tokens.clock.now()
    month = current_month(now)  # report months are China time
    with psycopg.connect(db) as conn:
        for robot, seq in ((NORTH_ROBOT, 1), (EAST_ROBOT, 1)):
            conn.execute(
                "INSERT INTO robot_events (robot_id, ts, seq, type, code)"
                " VALUES (%s, %s, %s, 'fault', 'E401')",
                (robot, now, seq),
            )
    lead = login(client, "deng-keming")
    rows = client.get(
        "/api/v1/reports/monthly-faults", params={"month": month}, headers=lead
    ).json()
    assert rows and {r["region"] for r in rows} == {"north"}
    admin = client.get(
        "/api/v1/reports/monthly-faults",
        params={"month": month},
        headers=login(client, "hq-manager"),
    ).json()
    assert {r["region"] for r in admin} == {"north", "east"}
    csv = client.get(
        "/api/v1/reports/monthly-faults", params={"month": month, "format": "csv"}, headers=lead
    )
    assert csv.status_code == 200 and "区域 Region" in csv.content.decode("utf-8-sig")
    bad = client.get("/api/v1/reports/monthly-faults", params={"month": "Nov"}, headers=lead)
    assert bad.status_code == 422


def test_bad_input_says_what_is_wrong_in_chinese_too(api: tuple[TestClient, Tokens, str]) -> None:
    """Issue 17: errors were English only. A 422 keeps the field list and adds a sentence."""
    client, _, _ = api
    r = client.get("/api/v1/work-orders", params={"limit": 0}, headers=login(client, "deng-keming"))
    assert r.status_code == 422
    body = r.json()
    assert isinstance(body["detail"], list) and body["message"].startswith("输入有误")
    assert "limit" in body["message"]
