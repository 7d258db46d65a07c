"""The ops dashboard of a running platform in headless Chromium (Debian's chromium and
chromium-driver; no browser download): a complaint submitted over gRPC appears in the live flow
without a reload, its case file opens, and screenshots are saved under test-artifacts/."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common.broker import free_port
from services.common.pb.haq.v1 import complaint_pb2 as c
from services.common.pb.haq.v1 import intake_pb2, intake_pb2_grpc
from tests.conftest import REPO
from tests.e2e.test_platform import Platform

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = REPO / "test-artifacts"

webdriver = pytest.importorskip(
    "selenium.webdriver", reason="selenium is not installed (pip install -e '.[dev]')"
)
if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    _why = "needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver)"
    if os.environ.get("HAQ_TEST_REQUIRE_CHROMIUM"):  # CI (.ci/run) installs them: missing is a failure
        pytest.fail(_why, pytrace=False)
    pytest.skip(_why, allow_module_level=True)

from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture
def platform_with_dashboard(tmp_path: Path, monkeypatch) -> Iterator[tuple[Platform, str]]:
    port = free_port()
    monkeypatch.setenv("HAQ_DASHBOARD_PORT", str(port))  # Platform's child environment copies os.environ
    p = Platform(tmp_path)
    try:
        p.wait_ready()
        yield p, f"http://127.0.0.1:{port}"
    finally:
        p.stop()


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    profile = tempfile.mkdtemp(prefix="haq-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--window-size=1440,1100",
        "--hide-scrollbars",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(driver: webdriver.Chrome, name: str) -> Path:
    """A full-page screenshot: the window grows to the page's height first."""
    ARTIFACTS.mkdir(exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1440, min(max(height, 900), 4000))
    path = ARTIFACTS / name
    assert driver.save_screenshot(str(path)), f"could not save {path}"
    driver.set_window_size(1440, 1100)
    return path


def test_a_new_complaint_appears_live_and_its_case_file_opens(platform_with_dashboard, browser):
    platform, url = platform_with_dashboard
    wait = WebDriverWait(browser, 60, poll_frequency=0.2)
    # Sign in once with the ops token (?token= goes into a cookie); every later page carries it.
    browser.get(url + "/?token=" + platform.token("ops"))
    wait.until(lambda d: d.find_element(By.ID, "live").get_attribute("data-state") == "live")
    browser.execute_script("window.haqNotReloaded = true;")  # gone if the page reloads

    stub = intake_pb2_grpc.IntakeServiceStub(platform.channel("intake"))
    resp = stub.SubmitComplaint(
        intake_pb2.SubmitComplaintRequest(
            draft=c.ComplaintDraft(
                channel=c.CHANNEL_EMAIL,
                sector=c.SECTOR_HEALTHCARE,
                complainant_role=c.COMPLAINANT_ROLE_PATIENT,
                customer=c.CustomerIdentifiers(email="negar.m@example.com"),
                subject="نتیجه آزمایش گم شده",
                body="نتیجه آزمایش خون من دو هفته است آماده نشده و کسی جواب تلفن را نمی‌دهد.",
            )
        ),
        timeout=10,
    )

    received = f'#flow tr[data-complaint="{resp.complaint_id}"][data-type="ComplaintReceived"]'
    routed = f'#flow tr[data-complaint="{resp.complaint_id}"][data-type="ComplaintRouted"]'
    wait.until(
        lambda d: d.find_elements(By.CSS_SELECTOR, routed) and d.find_elements(By.CSS_SELECTOR, received)
    )
    assert browser.execute_script("return window.haqNotReloaded === true"), "the page reloaded"
    row = browser.find_element(By.CSS_SELECTOR, routed)
    assert resp.reference in row.text and "healthcare" in row.text and "email" in row.text
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, '[data-stage-count="routed"]').text not in ("", "0"))
    flow_png = screenshot(browser, "dashboard-live-flow.png")

    row.find_element(By.CSS_SELECTOR, "a").click()
    wait.until(lambda d: d.find_element(By.TAG_NAME, "h1").text == resp.reference)
    text = browser.find_element(By.CSS_SELECTOR, "article.customer-text")
    assert text.get_attribute("lang") == "fa" and text.get_attribute("dir") == "rtl"
    assert "نتیجه آزمایش" in text.text
    timeline = browser.find_element(By.ID, "timeline").text
    assert "ComplaintReceived" in timeline and "ComplaintRouted" in timeline
    assert browser.find_element(By.ID, "owners-title").is_displayed()
    head = browser.find_element(By.CSS_SELECTOR, ".case-head").text
    assert "healthcare" in head and "not routed yet" not in head  # the routed team is in the case file
    case_png = screenshot(browser, "dashboard-case-file.png")

    browser.get(url + "/queues")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "section.team"))
    assert "duty owner" in browser.find_element(By.CSS_SELECTOR, "section.team").text.lower()
    queues_png = screenshot(browser, "dashboard-queues.png")

    browser.get(url + "/charts")
    wait.until(lambda d: d.execute_script("return !!(window.Chart && Chart.getChart('chart-sector'))"))
    charts_png = screenshot(browser, "dashboard-charts.png")

    for png in (flow_png, case_png, queues_png, charts_png):
        assert png.stat().st_size > 10_000, f"{png} looks empty"
