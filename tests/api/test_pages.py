"""Dashboard pages through HTTP: sign-in cookie, work-order form, completion, region scope."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.security import Tokens
from tests.api.conftest import PASSWORD


def test_complete_a_work_order_from_the_form(api: tuple[TestClient, Tokens, str]) -> None:
    """A lead moves an order to in progress and completes it with the form; a missing fee for
    an out-of-warranty robot is refused with the reason shown on the page."""
    client, _, _ = api
    assert client.get("/ui/orders").url.path == "/login"
    r = client.post("/login", data={"username": "deng-keming", "password": PASSWORD})
    assert r.url.path == "/ui/orders" and "Job queue" in r.text
    order = client.get("/api/v1/work-orders").json()[0]  # the cookie authenticates the API too
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
        "cause": "排烟风机电机烧毁",
        "resolution": "更换风机",
        "parts": "FAN-EXH:1",
        "time_spent_min": "60",
        "rating": "5",
        "signer": "王店长",
    }
    refused = client.post(f"/ui/orders/{order['id']}/complete", data=form)
    if "保外" in page.text:
        assert "fee charged is required" in refused.text
        form["fee"] = "380"
        done = client.post(f"/ui/orders/{order['id']}/complete", data=form)
    else:
        done = refused
    assert '<td id="order-status">completed</td>' in done.text
    assert "verification" in done.text  # the callback is due


def test_pages_keep_to_the_region(api: tuple[TestClient, Tokens, str]) -> None:
    client, _, _ = api
    client.post("/login", data={"username": "deng-keming", "password": PASSWORD})
    east = [o for o in client.get("/api/v1/work-orders").json() if o["region"] == "east"]
    assert east == []
    other = client.get("/ui/robots/aic-sh-00019")
    assert other.status_code == 404
