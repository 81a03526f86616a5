"""Dashboard pages through HTTP: sign-in cookie, work-order form, completion, region scope."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.security import Tokens
from core.clock import local_date
from tests.api.conftest import PASSWORD, agree_quote, form_token, seed_cooling_fault


@pytest.mark.clock
def test_complete_a_work_order_from_the_form(api: tuple[TestClient, Tokens, str]) -> None:
    """A lead moves an order to in progress and completes it with the form; an unknown part
    is refused with the reason shown on the page. The robot's warranty ended yesterday (the
    site's day at the app's clock), so the visit is charged by the fee schedule."""
    client, tokens, db = api
    assert client.get("/ui/orders").url.path == "/login"
    r = client.post("/login", data={"username": "deng-keming", "password": PASSWORD})
    # A lead's pages are in Chinese (issue 17): 工单队列, not "Job queue".
    assert r.url.path == "/ui/orders" and "工单队列" in r.text
    order = client.get("/api/v1/work-orders").json()[0]  # the cookie authenticates the API too
    yesterday = local_date(tokens.clock.now()) - timedelta(days=1)
    with psycopg.connect(db) as conn:
        conn.execute(
            "UPDATE robots SET warranty_end = %s WHERE robot_id = %s",
            (yesterday, order["robot_id"]),
        )
    agree_quote(client, {}, order["id"])  # the session cookie authenticates
    for step in ("confirmed", "dispatched", "in_progress"):
        assert (
            client.post(
                f"/api/v1/work-orders/{order['id']}/transitions", json={"to": step}
            ).status_code
            == 200
        )
    page = client.get(f"/ui/orders/{order['id']}")
    assert page.status_code == 200 and 'id="complete-form"' in page.text
    assert "维修工单" in page.text or "维护保养工作单" in page.text
    form = {
        "csrf": form_token(client, f"/ui/orders/{order['id']}"),
        "cause": "排烟风机电机烧毁",
        "resolution": "更换风机",
        "parts": "FAN-EXH-200:1",
        "time_spent_min": "60",
        "rating": "5",
        "signer": "王店长",
    }
    bad = client.post(f"/ui/orders/{order['id']}/complete", data={**form, "parts": "NO-SUCH:1"})
    assert "unknown part" in bad.text and 'data-status="in_progress">维修中</td>' in bad.text
    done = client.post(f"/ui/orders/{order['id']}/complete", data=form)
    assert 'data-status="completed">已完工</td>' in done.text
    assert 'id="charged"' in done.text and "890.00" in done.text  # 150 + 640 + 100
    assert "verification" in done.text  # the callback is due


def test_pages_keep_to_the_region(api: tuple[TestClient, Tokens, str]) -> None:
    client, _, _ = api
    client.post("/login", data={"username": "deng-keming", "password": PASSWORD})
    east = [o for o in client.get("/api/v1/work-orders").json() if o["region"] == "east"]
    assert east == []
    other = client.get("/ui/robots/aic-sh-00019")
    assert other.status_code == 404


def test_engineer_page_evaluates_a_simulator_run(api: tuple[TestClient, Tokens, str]) -> None:
    """Engineers see the model registry and an evaluation of a run's ground truth with a chart;
    leads are sent back to their job queue."""
    client, tokens, db = api
    now = tokens.clock.now()
    with psycopg.connect(db) as conn:
        conn.execute(
            """INSERT INTO fault_ground_truth (run_id, robot_id, kind, component, error_code,
                   onset, failure, seed)
               VALUES ('run-1', 'aic-bj-00001', 'exhaust_fan_failure', 'exhaust_fan', 'E401',
                       %s, %s, 1)""",
            (now - timedelta(hours=12), now - timedelta(hours=12)),
        )
        conn.execute(
            """INSERT INTO robot_features (robot_id, window_start, n_readings, n_cooking, err_count)
               VALUES ('aic-bj-00001', %s, 10, 5, 0), ('aic-sh-00019', %s, 10, 5, 0)""",
            (now - timedelta(days=2), now - timedelta(days=1)),
        )
        seed_cooling_fault(conn, run_id="run-1", now=now)
    client.post("/login", data={"username": "deng-keming", "password": PASSWORD})
    assert client.get("/ui/models").url.path == "/ui/orders"
    client.post("/logout", data={"csrf": form_token(client)})
    client.post("/login", data={"username": "eng-fault-models", "password": PASSWORD})
    page = client.get("/ui/models?run=run-1")
    assert page.status_code == 200
    assert 'id="eval-summary"' in page.text and "exhaust_fan_failure" in page.text
    row = page.text.split("<td>exhaust_fan_failure</td>")[1].split("</tr>")[0]
    # one failed, sudden (no warned share), detected at failure
    assert '<td>1</td><td colspan="2">sudden: not predicted</td>' in row
    assert row.replace("\n", "").endswith("<td>1.00</td>")
    assert 'id="leads"' in page.text
    assert 'id="timelines"' in page.text
    timelines = page.text.split("const timelines = ")[1].split(";\n")[0]
    assert (
        '"kind": "cooling_degradation"' in timelines and '"robot_id": "aic-bj-00002"' in timelines
    )


def test_pages_state_the_time_zone_once(api: tuple[TestClient, Tokens, str]) -> None:
    """Every signed-in page says once that its times are the sites' local (China) time."""
    client, _, _ = api
    client.post("/login", data={"username": "deng-keming", "password": PASSWORD})
    for path in ("/ui/orders", "/ui/robots", "/ui/reports"):
        page = client.get(path).text
        assert page.count('id="time-zone"') == 1 and "UTC+08:00" in page


def test_the_service_loop_from_the_dashboard(api: tuple[TestClient, Tokens, str]) -> None:
    """A lead records a call solved by phone, then the unsatisfied callback → a revisit."""
    client, _, _ = api
    client.post("/login", data={"username": "deng-keming", "password": PASSWORD})
    assert 'id="new-report"' in client.get("/ui/orders").text
    form = client.get("/ui/orders/new")
    assert form.status_code == 200 and 'id="intake-form"' in form.text
    bad = client.post(
        "/ui/orders/new",
        data={
            "csrf": form_token(client, "/ui/orders/new"),
            "robot_id": "aic-sh-00019",
            "symptom": "x",
        },
        follow_redirects=True,
    )  # another region's robot
    assert 'id="intake-error"' in bad.text
    r = client.post(
        "/ui/orders/new",
        data={
            "csrf": form_token(client, "/ui/orders/new"),
            "robot_id": "aic-bj-00002",
            "symptom": "屏幕不亮",
            "solved": "1",
            "cause": "电源开关未开",
            "resolution": "指导打开电源",
            "minutes": "5",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"])
    assert 'id="callback-form"' in page.text and "电话指导回访" in page.text
    done = client.post(
        r.headers["location"] + "/callback",
        data={
            "csrf": form_token(client, r.headers["location"]),
            "kind": "phone_guided",
            "satisfied": "no",
            "notes": "还是不亮",
        },
        follow_redirects=True,
    )
    assert "<td>否</td>" in done.text and "还是不亮" in done.text
    revisits = client.get("/api/v1/work-orders", params={"robot_id": "aic-bj-00002"}).json()
    assert any("Revisit" in o["title"] for o in revisits)


def test_a_lead_reschedules_reassigns_and_cancels_from_the_order_page(
    api: tuple[TestClient, Tokens, str],
) -> None:
    """The whole lifecycle from the dashboard: a new window (checked), another technician,
    a cancel with its reason — through the same policy as the API."""
    client, tokens, _ = api
    client.post("/login", data={"username": "deng-keming", "password": PASSWORD})
    order = client.get("/api/v1/work-orders").json()[0]
    path = f"/ui/orders/{order['id']}"
    page = client.get(path)
    assert 'id="move-form"' in page.text and "曾广阔" in page.text
    from core.clock import zone

    tomorrow = (
        f"{(tokens.clock.now() + timedelta(days=1)).astimezone(zone('Asia/Shanghai')):%Y-%m-%d}"
    )

    def move(**form: str) -> str:
        r = client.post(
            path + "/move",
            data={"csrf": form_token(client, path), "back": path, **form},
            follow_redirects=True,
        )
        assert r.status_code == 200
        return r.text

    inside = move(to="scheduled", window_start=f"{tomorrow}T19:00", window_end="20:00")
    assert 'id="order-error"' in inside and "service hours" in inside
    bad = move(to="scheduled", window_start=f"{tomorrow}T19:00", window_end="18:00")
    assert "结束时间须晚于开始时间" in bad
    ok = move(
        to="scheduled",
        window_start=f"{tomorrow}T19:00",
        window_end="20:00",
        technician_id="zeng-guangkuo",
        override_reason="客户同意当天晚开门",
    )
    assert 'id="order-error"' not in ok and "19:00–20:00" in ok
    cancelled = move(to="cancelled", note="客户已自行更换设备")
    assert 'data-status="cancelled"' in cancelled and "客户已自行更换设备" in cancelled


def test_the_job_queue_filters(api: tuple[TestClient, Tokens, str]) -> None:
    client, _, _ = api
    client.post("/login", data={"username": "deng-keming", "password": PASSWORD})
    everything = client.get("/ui/orders").text
    assert 'id="filters"' in everything and "data-order=" in everything
    assert "data-order=" in client.get("/ui/orders", params={"technician": "zeng-guangkuo"}).text
    assert "data-order=" not in client.get("/ui/orders", params={"technician": "nobody"}).text
    assert "data-order=" not in client.get("/ui/orders", params={"type": "commissioning"}).text
    assert "data-order=" not in client.get("/ui/orders", params={"status": "verified"}).text
    assert client.get("/ui/orders", params={"due": "overdue", "type": "bogus"}).status_code == 200
