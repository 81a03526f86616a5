"""The manual's service loop through the API (chapter 4): a customer's call → phone
guidance or a visit → completion → callback → verified; an unsatisfied callback → a
revisit; visit windows checked against the kitchen's hours, the technician's region and
their other visits."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from api.security import Tokens
from core.clock import FixedClock, zone
from tests.api.conftest import EAST_ROBOT, NORTH_ROBOT, agree_quote, login

Api = tuple[TestClient, Tokens, str]
COMPLETION = {
    "cause": "排烟风机电机烧毁",
    "resolution": "更换排烟风机",
    "parts_used": [],
    "time_spent_min": 45,
    "rating": 5,
    "signer": "王店长",
}


def _move(client: TestClient, headers: dict[str, str], oid: int, **body: Any) -> Any:
    return client.post(f"/api/v1/work-orders/{oid}/transitions", json=body, headers=headers)


def _report(client: TestClient, headers: dict[str, str], **extra: Any) -> Any:
    body = {"robot_id": NORTH_ROBOT, "channel": "phone", "symptom": "锅不转，有焦味"} | extra
    return client.post("/api/v1/work-orders", json=body, headers=headers)


def _site_hours_window(db_url: str, robot: str, day: datetime) -> tuple[datetime, datetime]:
    """An hour inside the robot's kitchen's first service interval on ``day``'s weekday."""
    with psycopg.connect(db_url) as conn:
        tz, opens = conn.execute(
            """SELECT s.timezone, h.opens FROM robots r JOIN sites s ON s.id = r.site_id
               JOIN site_service_hours h ON h.site_id = s.id
               WHERE r.robot_id = %s AND h.weekday = %s ORDER BY h.opens LIMIT 1""",
            (robot, day.astimezone(zone("Asia/Shanghai")).isoweekday()),
        ).fetchone()  # type: ignore[misc]
    local = day.astimezone(zone(tz)).date()
    start = datetime.combine(local, opens, zone(tz)) + timedelta(hours=1)
    return start, start + timedelta(hours=1)


def test_a_call_a_visit_a_fix_a_callback_verified(api: Api, clock: FixedClock) -> None:
    """Intake by phone (not solved by guidance) → routed with a window outside service hours
    → confirmed → dispatched → started → completed → verification callback → verified."""
    client, _, _ = api
    lead = login(client, "deng-keming")
    r = _report(
        client,
        lead,
        customer_requests="下午三点前到",
        reported_by="王店长",
        phone_guidance={"resolved": False},
    )
    assert r.status_code == 201, r.text
    order = r.json()
    assert (
        order["type"] == "repair" and order["priority"] == 1 and order["lead_id"] == "deng-keming"
    )
    detail = client.get(f"/api/v1/work-orders/{order['id']}", headers=lead).json()
    assert detail["customer_requests"] == "下午三点前到" and detail["symptom"] == "锅不转，有焦味"
    again = _report(client, lead)
    assert again.status_code == 409 and order["number"] in again.text  # one open report per robot
    if order["status"] == "new":  # no window found: the lead sets one outside service hours
        start = clock.now() + timedelta(days=1)
        _move(
            client,
            lead,
            order["id"],
            to="scheduled",
            window_start=start.isoformat(),
            window_end=(start + timedelta(hours=1)).isoformat(),
            override_reason="测试",
        )
    assert _move(client, lead, order["id"], to="confirmed").status_code == 200
    agree_quote(client, lead, order["id"])
    r = _move(client, lead, order["id"], to="dispatched")  # to the technician it was routed to
    assert r.status_code == 200, r.text
    assigned = client.get(f"/api/v1/work-orders/{order['id']}", headers=lead).json()
    tech = login(client, assigned["technician_id"])
    assert _move(client, tech, order["id"], to="in_progress").status_code == 200
    done = _move(client, tech, order["id"], to="completed", completion=COMPLETION)
    assert done.status_code == 200 and "charged" in done.json()["completion"], done.text
    refused = _move(client, lead, order["id"], to="verified")
    assert refused.status_code == 409 and "callback verification is not done" in refused.text
    cb = client.post(
        f"/api/v1/work-orders/{order['id']}/callbacks/verification",
        json={"satisfied": True, "notes": "满意"},
        headers=lead,
    )
    assert cb.status_code == 200 and cb.json()["revisit_order_id"] is None
    assert _move(client, lead, order["id"], to="verified").json()["status"] == "verified"


def test_phone_guidance_that_works_closes_with_a_callback_in_two_hours(
    api: Api, clock: FixedClock
) -> None:
    client, _, _ = api
    lead = login(client, "deng-keming")
    r = _report(
        client,
        lead,
        phone_guidance={
            "resolved": True,
            "cause": "急停按钮被按下",
            "resolution": "电话指导客户复位急停",
            "minutes": 10,
        },
    )
    assert r.status_code == 201 and r.json()["status"] == "completed", r.text
    detail = client.get(f"/api/v1/work-orders/{r.json()['id']}", headers=lead).json()
    (callback,) = detail["callbacks"]
    assert callback["kind"] == "phone_guided"
    assert datetime.fromisoformat(callback["due_at"]) == clock.now() + timedelta(hours=2)
    assert detail["completion"]["phone_guided"] is True and detail["technician_id"] is None
    # Neither a technician nor another region's lead takes a customer's report.
    assert _report(client, login(client, "zeng-guangkuo")).status_code == 403
    assert _report(client, login(client, "zheng-zhuzi")).status_code == 404


def test_an_unsatisfied_customer_gets_a_revisit(api: Api, clock: FixedClock) -> None:
    client, _, db_url = api
    lead = login(client, "deng-keming")
    r = _report(
        client,
        lead,
        phone_guidance={
            "resolved": True,
            "cause": "滤网堵",
            "resolution": "电话指导清洗滤网",
            "minutes": 15,
        },
    )
    oid = r.json()["id"]
    cb = client.post(
        f"/api/v1/work-orders/{oid}/callbacks/phone_guided",
        json={"satisfied": False, "notes": "还是有焦味"},
        headers=lead,
    )
    assert cb.status_code == 200, cb.text
    revisit = cb.json()["revisit_order_id"]
    detail = client.get(f"/api/v1/work-orders/{revisit}", headers=lead).json()
    assert detail["type"] == "repair" and detail["status"] == "new"
    assert detail["symptom"] == "还是有焦味" and r.json()["number"] in detail["title"]
    with psycopg.connect(db_url) as conn:
        alert = conn.execute(
            "SELECT kind, region FROM alerts WHERE work_order_id = %s", (revisit,)
        ).fetchone()
    assert alert == ("unsatisfied", "north")
    # Verified without a done callback only with the reason none was possible.
    other = _report(
        client,
        login(client, "hq-manager"),
        robot_id=EAST_ROBOT,
        phone_guidance={"resolved": True, "cause": "x", "resolution": "y", "minutes": 5},
    )
    hq = login(client, "hq-manager")
    assert _move(client, hq, other.json()["id"], to="verified").status_code == 409
    ok = _move(client, hq, other.json()["id"], to="verified", no_callback_reason="三天未接通")
    assert ok.status_code == 200, ok.text


def test_windows_are_checked_against_hours_region_and_other_visits(
    api: Api, clock: FixedClock
) -> None:
    """A 19:00–20:00-style window inside the kitchen's service was accepted; a north order
    went to a South China technician. Each rule refuses with its reason; a lead may accept a
    window in service hours only by saying why (audited)."""
    client, _, db_url = api
    lead = login(client, "deng-keming")
    orders = client.get(
        "/api/v1/work-orders", params={"robot_id": NORTH_ROBOT}, headers=lead
    ).json()
    oid = orders[0]["id"]
    start, end = _site_hours_window(db_url, NORTH_ROBOT, clock.now() + timedelta(days=2))
    body = {"to": "scheduled", "window_start": start.isoformat(), "window_end": end.isoformat()}
    inside = _move(client, lead, oid, **body)
    assert inside.status_code == 409 and "service hours" in inside.json()["reason"], inside.text
    agreed = _move(client, lead, oid, **body, override_reason="客户同意当天提前打烊")
    assert agreed.status_code == 200, agreed.text
    history = client.get(f"/api/v1/work-orders/{oid}", headers=lead).json()["history"]
    assert "客户同意当天提前打烊" in history[-1]["note"]
    agree_quote(client, lead, oid)
    south = _move(client, lead, oid, to="confirmed")
    assert south.status_code == 409  # confirming a window in service hours: same rule
    assert _move(client, lead, oid, to="confirmed", override_reason="客户同意").status_code == 200
    wrong = _move(
        client, lead, oid, to="dispatched", technician_id="gan-zhongxin", override_reason="客户同意"
    )
    assert wrong.status_code == 409 and "works in south" in wrong.json()["reason"]
    # Another north order in the same window for the same technician clashes.
    reported = _report(client, lead, robot_id="aic-bj-00002", phone_guidance={"resolved": False})
    assert reported.status_code == 201, reported.text
    other = (reported.json()["id"],)
    assert (
        _move(
            client,
            lead,
            oid,
            to="dispatched",
            technician_id="zeng-guangkuo",
            override_reason="客户同意",
        ).status_code
        == 200
    )
    clash = _move(
        client,
        lead,
        other[0],
        to="scheduled",
        window_start=start.isoformat(),
        window_end=end.isoformat(),
        technician_id="zeng-guangkuo",
        override_reason="客户同意",
    )
    assert clash.status_code == 409 and "already visits" in clash.json()["reason"], clash.text


def test_a_customer_who_declines_to_sign_is_recorded_not_forced(
    api: Api, clock: FixedClock
) -> None:
    """4.2.8C: do not force the customer to sign; the refusal is recorded instead."""
    client, _, _ = api
    lead = login(client, "deng-keming")
    oid = client.get("/api/v1/work-orders", params={"robot_id": NORTH_ROBOT}, headers=lead).json()[
        0
    ]["id"]
    agree_quote(client, lead, oid)
    for to in ("confirmed", "dispatched"):
        assert _move(client, lead, oid, to=to, override_reason="客户同意").status_code == 200
    tech = login(client, "zeng-guangkuo")
    assert _move(client, tech, oid, to="in_progress").status_code == 200
    unsigned = {k: v for k, v in COMPLETION.items() if k not in ("rating", "signer")}
    refused = _move(client, tech, oid, to="completed", completion=unsigned)
    assert refused.status_code == 409 and "customer declined" in refused.json()["reason"]
    declined = unsigned | {"customer_declined": "店长忙，不愿签字", "training": "排烟管道清洁"}
    done = _move(client, tech, oid, to="completed", completion=declined)
    assert done.status_code == 200, done.text
    assert done.json()["completion"]["customer_declined"] == "店长忙，不愿签字"
    assert done.json()["completion"]["rating"] is None
    # The technicians' work log (工作日志) behind the weekly report: who, how long, training.
    from reports.periods import current_week

    log = client.get(
        "/api/v1/reports/work-log", params={"week": current_week(clock.now())}, headers=lead
    ).json()
    (line,) = [r for r in log if r["number"] == done.json()["number"]]
    assert (line["technician"], line["minutes"], line["training"]) == ("曾广阔", 45, "排烟管道清洁")


def test_out_of_warranty_work_is_quoted_and_agreed_before_the_visit(
    api: Api, clock: FixedClock
) -> None:
    """4.2.2A: the fee is explained and agreed before the visit; 4.2.7.1A: a receipt."""
    client, _, db_url = api
    lead = login(client, "deng-keming")
    oid = client.get("/api/v1/work-orders", params={"robot_id": NORTH_ROBOT}, headers=lead).json()[
        0
    ]["id"]
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "UPDATE robots SET warranty_end = %s WHERE robot_id = %s",
            (clock.now().date() - timedelta(days=30), NORTH_ROBOT),
        )
        conn.execute("UPDATE work_orders SET warranty = 'out_of_warranty' WHERE id = %s", (oid,))
    assert _move(client, lead, oid, to="confirmed", override_reason="客户同意").status_code == 200
    unquoted = _move(client, lead, oid, to="dispatched", override_reason="客户同意")
    assert unquoted.status_code == 409 and "quote the fee" in unquoted.json()["reason"]
    q = client.post(
        f"/api/v1/work-orders/{oid}/quote",
        json={"minutes": 70, "parts": [{"code": "FAN-EXH-200", "qty": 1}]},
        headers=lead,
    )
    assert q.status_code == 200, q.text
    assert float(q.json()["total"]) > float(q.json()["parts_total"]) > 0
    not_yet = _move(client, lead, oid, to="dispatched", override_reason="客户同意")
    assert not_yet.status_code == 409 and "not accepted" in not_yet.json()["reason"]
    ok = client.post(
        f"/api/v1/work-orders/{oid}/quote/accept", json={"accepted_by": "王店长"}, headers=lead
    )
    assert ok.status_code == 200 and ok.json()["accepted_by"] == "王店长"
    assert _move(client, lead, oid, to="dispatched", override_reason="客户同意").status_code == 200
    tech = login(client, "zeng-guangkuo")
    assert _move(client, tech, oid, to="in_progress").status_code == 200
    done = _move(client, tech, oid, to="completed", completion=COMPLETION)
    c = done.json()["completion"]
    assert done.status_code == 200 and c["in_warranty"] is False and float(c["charged"]) > 0
    assert c["receipt"].startswith("RC-") and c["quoted"] == q.json()["total"]
    in_warranty = client.post(
        f"/api/v1/work-orders/{oid}/quote",
        json={"minutes": 10},
        headers=login(client, "eng-fault-models"),
    )
    assert in_warranty.status_code == 403  # engineers plan no visits


def test_a_lead_plans_a_software_update_visit(api: Api, clock: FixedClock) -> None:
    """Software-update orders could never be created; completing one records the update."""
    client, _, _ = api
    lead = login(client, "deng-keming")
    body = {"robot_id": "aic-bj-00002", "version": "3.3.0"}
    r = client.post("/api/v1/work-orders/software-updates", json=body, headers=lead)
    assert r.status_code == 201 and r.json()["type"] == "software_update", r.text
    again = client.post("/api/v1/work-orders/software-updates", json=body, headers=lead)
    assert again.status_code == 409
    banana = client.post(
        "/api/v1/work-orders/software-updates", json=body | {"version": "banana"}, headers=lead
    )
    assert banana.status_code == 422
    other = client.post(
        "/api/v1/work-orders/software-updates", json=body, headers=login(client, "zheng-zhuzi")
    )
    assert other.status_code == 404  # another region's robot


def test_the_manuals_flow_end_to_end(api: Api, clock: FixedClock) -> None:
    """Issue 16's flow through the API: intake → phone guidance → callback in 2 h (not
    fixed) → a visit → quote accepted → completion → callback → verified."""
    client, _, db_url = api
    robot = "aic-bj-00002"
    with psycopg.connect(db_url) as conn:  # out of warranty: the visit is charged
        conn.execute(
            "UPDATE robots SET warranty_end = %s WHERE robot_id = %s",
            (clock.now().date() - timedelta(days=60), robot),
        )
    lead = login(client, "deng-keming")
    first = _report(
        client,
        lead,
        robot_id=robot,
        symptom="出菜有焦味",
        phone_guidance={
            "resolved": True,
            "cause": "锅底积碳",
            "resolution": "指导客户清洗锅底",
            "minutes": 15,
        },
    )
    assert first.status_code == 201 and first.json()["status"] == "completed", first.text
    clock.advance(timedelta(hours=2))  # the callback is due (the token expired: sign in)
    lead = login(client, "deng-keming")
    cb = client.post(
        f"/api/v1/work-orders/{first.json()['id']}/callbacks/phone_guided",
        json={"satisfied": False, "notes": "清洗后仍有焦味"},
        headers=lead,
    )
    assert cb.status_code == 200, cb.text
    visit = cb.json()["revisit_order_id"]
    assert cb.status_code == 200 and visit is not None
    assert _move(client, lead, first.json()["id"], to="verified").status_code == 200
    start = clock.now() + timedelta(days=1)
    assert (
        _move(
            client,
            lead,
            visit,
            to="scheduled",
            window_start=start.isoformat(),
            window_end=(start + timedelta(hours=1)).isoformat(),
            override_reason="客户同意",
        ).status_code
        == 200
    )
    assert _move(client, lead, visit, to="confirmed", override_reason="客户同意").status_code == 200
    assert (
        _move(
            client,
            lead,
            visit,
            to="dispatched",
            technician_id="zeng-guangkuo",
            override_reason="客户同意",
        ).status_code
        == 409
    )  # no quote yet
    q = client.post(f"/api/v1/work-orders/{visit}/quote", json={"minutes": 60}, headers=lead)
    assert q.status_code == 200, q.text
    assert (
        client.post(
            f"/api/v1/work-orders/{visit}/quote/accept",
            json={"accepted_by": "王店长"},
            headers=lead,
        ).status_code
        == 200
    )
    assert (
        _move(
            client,
            lead,
            visit,
            to="dispatched",
            technician_id="zeng-guangkuo",
            override_reason="客户同意",
        ).status_code
        == 200
    )
    tech = login(client, "zeng-guangkuo")
    assert _move(client, tech, visit, to="in_progress").status_code == 200
    done = _move(client, tech, visit, to="completed", completion=COMPLETION)
    assert done.status_code == 200 and done.json()["completion"]["receipt"], done.text
    cb2 = client.post(
        f"/api/v1/work-orders/{visit}/callbacks/verification",
        json={"satisfied": True},
        headers=lead,
    )
    assert cb2.status_code == 200 and cb2.json()["revisit_order_id"] is None
    assert _move(client, lead, visit, to="verified").json()["status"] == "verified"


def test_a_consultation_is_answered_and_recorded_not_a_repair(api: Api, clock: FixedClock) -> None:
    """Chapter 1: questions (咨询) are answered and recorded — not as work orders."""
    from reports.periods import current_month

    client, _, db_url = api
    lead = login(client, "deng-keming")
    body = {
        "robot_id": NORTH_ROBOT,
        "channel": "wechat",
        "question": "滤网多久清洗一次？",
        "answer": "每周清洗一次，油烟大的店每三天",
    }
    r = client.post("/api/v1/consultations", json=body, headers=lead)
    assert r.status_code == 201 and r.json()["region"] == "north", r.text
    assert (
        client.post(
            "/api/v1/consultations", json=body, headers=login(client, "zeng-guangkuo")
        ).status_code
        == 403
    )
    assert (
        client.post("/api/v1/consultations", json=body | {"answer": ""}, headers=lead).status_code
        == 422
    )
    rows = client.get(
        "/api/v1/reports/consultations",
        params={"month": current_month(clock.now())},
        headers=lead,
    ).json()
    assert [(q["question"], q["answered_by"]) for q in rows] == [("滤网多久清洗一次？", "邓克明")]
    with psycopg.connect(db_url) as conn:
        orders = conn.execute("SELECT count(*) FROM work_orders WHERE origin = 'wechat'").fetchone()
    assert orders == (0,)
