"""Reports, parts, warranty cards, customer files and software updates over HTTP and in the
dashboard: region from the token, clear 4xx for bad input, exports that open."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from api.security import Tokens
from reports.catalog import REPORTS
from tests.api.conftest import EAST_ROBOT, NORTH_ROBOT, PASSWORD, login

Api = tuple[TestClient, Tokens, str]


def test_reports_keep_to_the_lead_region_and_export(api: Api) -> None:
    client, _, _ = api
    lead, viewer = login(client, "deng-keming"), login(client, "hq-viewer")
    names = [r["name"] for r in client.get("/api/v1/reports", headers=lead).json()]
    assert names == list(REPORTS)
    north = client.get("/api/v1/reports/distribution", headers=lead).json()
    everyone = client.get("/api/v1/reports/distribution", headers=viewer).json()
    assert {r["region"] for r in north} == {"north"}
    assert {r["region"] for r in everyone} == {"north", "east", "south", "central", "southwest"}
    for name in ("customer-file", "parts-stock", "equipment-tracking", "weekly"):
        params = {"month": "2026-11", "week": "2026-W48"}
        rows = client.get(f"/api/v1/reports/{name}", params=params, headers=lead).json()
        assert rows and {r["region"] for r in rows} == {"north"}, name
    x = client.get(
        "/api/v1/reports/service-quality",
        params={"month": "2026-11", "format": "xlsx"},
        headers=lead,
    )
    assert x.status_code == 200 and "attachment" in x.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(x.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert (
        values[1][0] == "区域 Region" and values[2][0] == "华北" and values[-1][0] == "合计 Total"
    )


def test_report_input_errors_are_4xx(api: Api) -> None:
    client, _, _ = api
    lead = login(client, "deng-keming")
    missing = client.get("/api/v1/reports/monthly-faults", headers=lead)
    assert missing.status_code == 422 and "needs month" in missing.text
    assert client.get("/api/v1/reports/nope", headers=lead).status_code == 422
    bad_week = client.get("/api/v1/reports/weekly", params={"week": "2026-W99"}, headers=lead)
    assert bad_week.status_code == 422 and "2026-W48" in bad_week.text
    assert client.get("/api/v1/reports/weekly").status_code == 401


def test_parts_receipts_and_returns_by_region(api: Api) -> None:
    client, _, _ = api
    lead, tech = login(client, "deng-keming"), login(client, "zeng-guangkuo")
    ok = client.post(
        "/api/v1/parts/receipts",
        json={"region": "north", "part_code": "FAN-EXH-200", "qty": 4},
        headers=lead,
    )
    assert ok.status_code == 200 and ok.json()["on_hand"] == 7
    east = client.post(
        "/api/v1/parts/receipts",
        json={"region": "east", "part_code": "FAN-EXH-200", "qty": 4},
        headers=lead,
    )
    assert east.status_code == 404
    assert (
        client.post(
            "/api/v1/parts/receipts",
            json={"region": "north", "part_code": "FAN-EXH-200", "qty": 1},
            headers=tech,
        ).status_code
        == 403
    )
    unknown = client.post(
        "/api/v1/parts/receipts",
        json={"region": "north", "part_code": "NO-SUCH", "qty": 1},
        headers=lead,
    )
    assert unknown.status_code == 409 and "unknown part" in unknown.text
    assert (
        client.post("/api/v1/parts/returns/999999/received", json={}, headers=lead).status_code
        == 404
    )


def test_warranty_card_customer_file_and_software_entry(api: Api) -> None:
    client, _, _ = api
    lead = login(client, "deng-keming")
    card = client.get(f"/api/v1/robots/{NORTH_ROBOT}/warranty-card", headers=lead)
    assert card.status_code == 200 and card.json()["card_no"].startswith("WC-")
    assert client.get(f"/api/v1/robots/{EAST_ROBOT}/warranty-card", headers=lead).status_code == 404
    assert client.get("/api/v1/customers/cust-001/file", headers=lead).status_code == 200
    other = client.get("/api/v1/customers/no-such-customer/file", headers=lead)
    assert other.status_code == 404
    entry = {
        "site_id": "site-bj-001",
        "model": "AIC-W1",
        "updated_on": "2026-11-20",
        "quantity": 1,  # the site's one AIC-W1 (more is refused: issue 16)
        "version": "3.3.0",
        "operator": "曾广阔",
    }
    assert client.post("/api/v1/software-updates", json=entry, headers=lead).status_code == 201
    bad = client.post(
        "/api/v1/software-updates", json={**entry, "version": "x; drop"}, headers=lead
    )
    assert bad.status_code == 422
    east_site = client.post(
        "/api/v1/software-updates", json={**entry, "site_id": "site-sh-006"}, headers=lead
    )
    assert east_site.status_code == 404
    rows = client.get(
        "/api/v1/reports/software-updates", params={"month": "2026-11"}, headers=lead
    ).json()
    assert [(r["site_id"], r["quantity"], r["version"]) for r in rows] == [
        ("site-bj-001", 1, "3.3.0")
    ]


def test_report_pages(api: Api) -> None:
    """Report pages keep to the lead's region; a period report opens on last week (China
    time, at the app's clock: what a lead reports) with the picker to choose another; a bad
    week is shown."""
    from reports.periods import last_week

    client, tokens, _ = api
    client.post("/login", data={"username": "deng-keming", "password": PASSWORD})
    index = client.get("/ui/reports")
    assert index.status_code == 200 and "月度维修更换零配件统计表" in index.text
    chart = client.get("/ui/reports/distribution")
    assert chart.status_code == 200 and 'id="chart"' in chart.text and 'id="report"' in chart.text
    assert "east" not in chart.text.split('id="report"')[1]
    picker = client.get("/ui/reports/weekly")
    this_week = last_week(tokens.clock.now())
    assert 'id="period-form"' in picker.text and 'id="report"' in picker.text
    assert f"format=xlsx&amp;week={this_week}" in picker.text
    week = client.get("/ui/reports/weekly", params={"week": "2026-W48"})
    assert 'id="report"' in week.text and "format=xlsx&amp;week=2026-W48" in week.text
    bad = client.get("/ui/reports/weekly", params={"week": "2026-48"})
    assert bad.status_code == 200 and 'id="report-error"' in bad.text
    assert client.get("/ui/reports/nope").status_code == 404


def test_xlsx_for_excel_labels_widths_frozen_header(api: Api) -> None:
    """Issue 17: XLSX values were codes (north, exhaust_fan, False) with no widths or frozen
    header."""
    client, _, _ = api
    r = client.get(
        "/api/v1/reports/parts-stock",
        params={"format": "xlsx"},
        headers=login(client, "hq-manager"),
    )
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    header = values[1]
    body = values[2:-1]
    region = header.index("区域 Region")
    flags = [i for i, h in enumerate(header) if h and "需补货" in h]
    assert {row[region] for row in body} <= {"华北", "华东", "华南", "华中", "西南"}
    assert flags and {row[flags[0]] for row in body} <= {"是", "否"}
    assert sheet.freeze_panes == "B3"
    assert sheet.column_dimensions["A"].width >= 8
