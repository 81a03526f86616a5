"""Issue 17 in headless Chromium at phone width (390 px): a technician signs in, finds the
day's visit, starts it and completes the 维修工单 with the customer's signature drawn on the
screen — without ever scrolling sideways. Screenshots in both languages go to the test's
tmp dir (and to docs/img with AIC_SCREENSHOTS=1)."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from api.repository import set_password
from api.security import hash_password
from core.clock import FixedClock
from tests.api.test_dashboard import PASSWORD, REPO, browser, server  # noqa: F401

SIDEWAYS = "return document.documentElement.scrollWidth - window.innerWidth"
# While a page reloads, an element found a moment ago may be gone: keep waiting.
RELOADING = (StaleElementReferenceException, NoSuchElementException)


def _dispatch_to_zeng(db_url: str, clock: FixedClock) -> int:
    from service import quotes
    from service.orders import transition

    now = clock.now()
    with psycopg.connect(db_url) as conn:
        set_password(conn, staff_id="zeng-guangkuo", password_hash=hash_password(PASSWORD), now=now)
        (oid, warranty) = conn.execute(
            "SELECT id, warranty FROM work_orders WHERE robot_id = 'aic-bj-00001'"
        ).fetchone()  # type: ignore[misc]
        lead = {"actor": "deng-keming", "now": now}
        if warranty == "out_of_warranty":
            quotes.propose(conn, order_id=oid, minutes=60, parts=[], **lead)
            quotes.accept(conn, order_id=oid, accepted_by="王店长", **lead)
        transition(conn, order_id=oid, to="confirmed", override_reason="客户同意", **lead)
        transition(
            conn,
            order_id=oid,
            to="dispatched",
            technician_id="zeng-guangkuo",
            override_reason="客户同意",
            **lead,
        )
        conn.commit()
    return int(oid)


def _no_sideways_scroll(d: WebDriver, what: str) -> None:
    assert d.execute_script(SIDEWAYS) <= 0, f"{what} scrolls sideways at 390 px"


def test_a_technician_completes_an_order_on_a_phone(
    server: str,  # noqa: F811
    browser: object,  # noqa: F811
    fresh_db: str,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    assert isinstance(browser, WebDriver)
    d = browser
    shots = REPO / "docs" / "img" if os.environ.get("AIC_SCREENSHOTS") else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    oid = _dispatch_to_zeng(fresh_db, clock)
    d.set_window_size(390, 844)
    d.get(server + "/login")
    d.find_element(By.ID, "username").send_keys("zeng-guangkuo")
    d.find_element(By.ID, "password").send_keys(PASSWORD)
    d.find_element(By.ID, "sign-in").click()
    WebDriverWait(d, 10).until(ec.presence_of_element_located((By.ID, "orders")))
    _no_sideways_scroll(d, "the job queue")
    d.save_screenshot(str(shots / "phone-job-queue.png"))
    d.get(server + "/ui/today")
    visit = WebDriverWait(d, 10).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, f".visit[data-order='{oid}']"))
    )
    assert "tel:" in visit.get_attribute("innerHTML")  # one tap to call the kitchen
    _no_sideways_scroll(d, "today's visits")
    d.save_screenshot(str(shots / "phone-today.png"))
    visit.find_element(By.CSS_SELECTOR, "button.start").click()
    form = WebDriverWait(d, 10).until(ec.presence_of_element_located((By.ID, "complete-form")))
    _no_sideways_scroll(d, "the work-order form")
    form.find_element(By.NAME, "cause").send_keys("IGBT风扇滤网堵塞")
    form.find_element(By.NAME, "resolution").send_keys("清洁滤网，复测温升正常")
    form.find_element(By.NAME, "time_spent_min").send_keys("40")
    form.find_element(By.NAME, "training").send_keys("滤网每周清洁")
    form.find_element(By.NAME, "rating").send_keys("5")
    form.find_element(By.NAME, "signer").send_keys("王店长")
    pad = form.find_element(By.ID, "signature")
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", pad)
    ActionChains(d).move_to_element_with_offset(pad, -80, 0).click_and_hold().move_by_offset(
        60, -20
    ).move_by_offset(60, 30).move_by_offset(40, -10).release().perform()
    signature = form.find_element(By.ID, "signature-data").get_attribute("value") or ""
    assert signature.startswith("data:image/png;base64,"), "the signature was not captured"
    d.save_screenshot(str(shots / "phone-complete-form.png"))
    form.find_element(By.CSS_SELECTOR, "button[type='submit']").click()
    WebDriverWait(d, 10, ignored_exceptions=RELOADING).until(
        lambda drv: (
            drv.find_element(By.ID, "order-status").get_attribute("data-status") == "completed"
        )
    )
    assert d.find_element(By.ID, "order-status").text == "已完工"
    assert d.find_elements(By.CSS_SELECTOR, "img.signature")
    _no_sideways_scroll(d, "the completed order")
    d.save_screenshot(str(shots / "phone-completed.png"))
    # The same order in English, as an engineer or a lead who switched would read it.
    d.find_element(By.ID, "lang-switch").click()
    WebDriverWait(d, 10, ignored_exceptions=RELOADING).until(
        lambda drv: (
            drv.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
            and drv.find_element(By.ID, "order-status").text == "Completed"
        )
    )
    assert d.find_element(By.ID, "order-status").text == "Completed"
    d.save_screenshot(str(shots / "phone-completed-en.png"))


AXE = REPO / "tests" / "vendor" / "axe-core-4.10.2" / "axe.min.js"


def _axe(d: WebDriver) -> list[str]:
    """Serious and critical accessibility violations of the page (axe-core, WCAG 2 A/AA)."""
    d.execute_script(AXE.read_text(encoding="utf-8"))
    result = d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        " axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']}).then(r => done(r.violations));"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {v['nodes'][0]['target']}"
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


def test_main_pages_have_no_serious_accessibility_violation(
    server: str,  # noqa: F811
    browser: object,  # noqa: F811
) -> None:
    assert isinstance(browser, WebDriver)
    d = browser
    d.set_window_size(1366, 900)
    d.get(server + "/login")
    found = {"/login": _axe(d)}
    d.find_element(By.ID, "username").send_keys("deng-keming")
    d.find_element(By.ID, "password").send_keys(PASSWORD)
    d.find_element(By.ID, "sign-in").click()
    WebDriverWait(d, 10).until(ec.presence_of_element_located((By.ID, "orders")))
    order = d.find_element(By.CSS_SELECTOR, "#orders tbody tr[data-order]").get_attribute(
        "data-order"
    )
    for path in (
        "/ui/orders",
        f"/ui/orders/{order}",
        "/ui/orders/new",
        "/ui/robots",
        "/ui/robots/aic-bj-00001",
        "/ui/reports",
        "/ui/reports/distribution",
    ):
        d.get(server + path)
        WebDriverWait(d, 10).until(ec.presence_of_element_located((By.TAG_NAME, "footer")))
        found[path] = _axe(d)
    assert {p: v for p, v in found.items() if v} == {}
