"""The customer portal of a running platform (started as `make run` starts it) in headless
Chromium: a customer submits a complaint, asks for a one-time link (read from the SMTP sink, as it
reached the contact on record), follows it, sees status, the owner's role, the next promised time
and the agent's public reply, replies, and rates the resolution from the link in the resolution
notice; the rating reaches escalation's CSAT figures. Screenshots in English and Persian are saved
under the test's tmp dir (and test-artifacts/)."""

from __future__ import annotations

import email
import re
import shutil
import time
from email import policy
from pathlib import Path

import pytest

from services.common.broker import free_port
from services.common.pb.haq.v1 import escalation_pb2, escalation_pb2_grpc
from tests.e2e.test_case_flow import case_when, run
from tests.e2e.test_dashboard_browser import ARTIFACTS, browser  # noqa: F401 (fixture)
from tests.e2e.test_platform import Platform, haq

pytestmark = pytest.mark.e2e

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

LINK = re.compile(r"https?://[^\s/]+/link/[A-Za-z0-9_-]{20,128}")
RATE = re.compile(r"https?://[^\s/]+/rate/[0-9a-f-]{36}\?score=5&exp=\d{1,12}&sig=[0-9a-f]{32}")


def mails(platform: Platform) -> list[str]:
    out = []
    for path in sorted((platform.settings.data_dir / "mail").glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        part = msg.get_body(preferencelist=("plain",))
        out.append(f"{msg['To']}\n{msg['Subject']}\n{part.get_content() if part else ''}")
    return out


def wait_for_mail(platform: Platform, pattern: re.Pattern[str], to: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for text in mails(platform):
            found = pattern.search(text)
            if found and to in text.split("\n", 1)[0]:
                return found.group(0)
        time.sleep(0.3)
    raise AssertionError(f"no mail to {to} matching {pattern.pattern}: {mails(platform)[-3:]}")


def refreshed(driver):
    """The page loaded again: public replies arrive from the lifecycle topic after it rendered."""
    driver.refresh()
    return driver


def shot(driver, tmp_path: Path, name: str) -> Path:
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(max(height, 800), 3000))
    path = tmp_path / name
    assert driver.save_screenshot(str(path)), f"could not save {path}"
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(path, ARTIFACTS / name)
    driver.set_window_size(1280, 900)
    return path


@pytest.fixture
def platform_with_portal(tmp_path: Path, monkeypatch):
    port, dashboard = free_port(), free_port()
    monkeypatch.setenv("HAQ_DASHBOARD_PORT", str(dashboard))
    monkeypatch.setenv("HAQ_PORTAL_PORT", str(port))
    monkeypatch.setenv("HAQ_PORTAL_PUBLIC_URL", f"http://127.0.0.1:{port}")
    p = Platform(tmp_path)
    try:
        p.wait_ready()
        p.dashboard_url = f"http://127.0.0.1:{dashboard}"
        yield p, f"http://127.0.0.1:{port}"
    finally:
        p.stop()


def test_submit_follow_reply_and_rate_in_english_and_persian(platform_with_portal, browser, tmp_path):  # noqa: F811
    platform, url = platform_with_portal
    wait = WebDriverWait(browser, 60, poll_frequency=0.2)
    customer = "leila.portal@example.com"

    # 1. submit (English)
    deadline = time.monotonic() + 30
    while True:  # the portal starts beside the services; the READY line does not wait for it
        browser.get(url + "/?lang=en")
        if browser.find_elements(By.ID, "submit-form"):
            break
        assert time.monotonic() < deadline, "the portal did not answer"
        time.sleep(0.5)
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("dir") == "ltr"
    form = browser.find_element(By.ID, "submit-form")
    form.find_element(By.NAME, "sector").send_keys("A hospital or clinic")
    form.find_element(By.NAME, "email").send_keys(customer)
    form.find_element(By.NAME, "subject").send_keys("Lab results lost")
    form.find_element(By.NAME, "body").send_keys(
        "My blood test results were never sent and nobody answers the phone."
    )
    shot(browser, tmp_path, "portal-home-en.png")
    form.find_element(By.ID, "submit-button").click()
    reference = wait.until(
        lambda d: d.find_elements(By.ID, "reference") and d.find_element(By.ID, "reference").text
    )
    assert reference.startswith("HQ-")

    # 2. ask for a link: a wrong contact gets the same answer and no mail
    for contact in ("someone.else@example.com", customer):
        browser.get(url + "/")
        follow = browser.find_element(By.ID, "follow-form")
        follow.find_element(By.NAME, "reference").send_keys(reference)
        follow.find_element(By.NAME, "contact").send_keys(contact)
        follow.find_element(By.ID, "follow-button").click()
        wait.until(lambda d: d.find_element(By.ID, "message").get_attribute("data-key") == "link_sent")
    link = wait_for_mail(platform, LINK, customer)
    assert not any("someone.else" in m.split("\n", 1)[0] for m in mails(platform))

    # 3. the agent answers; the customer follows the link
    case = case_when(
        platform, reference, lambda k: k["owner"] and k["status"] == "offered", "an offered owner"
    )
    owner = case["owner"]
    run(platform, "case", "accept", reference, "--agent", owner)
    run(
        platform,
        "case",
        "request-info",
        reference,
        "--agent",
        owner,
        "--question",
        "Which lab did you visit?",
    )
    case_when(platform, reference, lambda k: k["status"] == "waiting_on_customer", "waiting on the customer")

    browser.get(link)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, f'#complaints tr[data-reference="{reference}"]'))
    browser.find_element(By.CSS_SELECTOR, f'#complaints tr[data-reference="{reference}"] a').click()
    wait.until(lambda d: d.find_elements(By.ID, "status"))
    assert browser.find_element(By.ID, "status").text == "Waiting for your reply"
    assert browser.find_element(By.ID, "owner-role").text == "a patient-experience specialist"
    assert owner not in browser.page_source  # the role, never the staff member's name
    wait.until(lambda d: "Which lab did you visit?" in refreshed(d).find_element(By.ID, "replies").text)
    browser.find_element(By.CSS_SELECTOR, "#reply-form textarea").send_keys(
        "The central lab, on 20 November."
    )
    browser.find_element(By.ID, "reply-button").click()
    wait.until(lambda d: d.find_elements(By.ID, "reply-sent"))
    case = case_when(
        platform, reference,
        lambda k: any(t["type"] == "SlaClocksResumed" for t in k["timeline"]) and k["status"] != "waiting_on_customer",
        "the reply resuming the clocks",
    )  # fmt: skip
    browser.refresh()
    wait.until(lambda d: d.find_element(By.ID, "status").text == "Being handled")
    assert "Next promised by" in browser.page_source
    shot(browser, tmp_path, "portal-complaint-en.png")

    # The link was single-use: opening it again opens nothing.
    browser.delete_all_cookies()
    browser.get(link)
    assert browser.find_element(By.ID, "message").get_attribute("data-key") == "link_invalid"

    # 4. resolution: the notice carries the rating links; rate from it in Persian
    run(platform, "case", "resolve", reference, "--agent", owner, "--code", "fixed",
        "--summary", "The results were sent to you by email.")  # fmt: skip
    rate_link = wait_for_mail(platform, RATE, customer)
    browser.get(rate_link + "&lang=fa")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("dir") == "rtl"
    assert browser.find_element(By.CSS_SELECTOR, 'input[name="rating"][value="5"]').is_selected()
    browser.find_element(By.CSS_SELECTOR, "#rate-form textarea").send_keys("ممنون، مشکل حل شد.")
    shot(browser, tmp_path, "portal-rate-fa.png")
    browser.find_element(By.ID, "rate-button").click()
    wait.until(lambda d: d.find_element(By.ID, "message").get_attribute("data-key") == "rated")
    assert "سپاسگزاریم" in browser.find_element(By.ID, "message").text

    # 5. Persian case file view through a fresh link
    browser.get(url + "/?lang=fa")
    follow = browser.find_element(By.ID, "follow-form")
    follow.find_element(By.NAME, "reference").send_keys(reference)
    follow.find_element(By.NAME, "contact").send_keys(customer)
    follow.find_element(By.ID, "follow-button").click()
    wait.until(lambda d: d.find_element(By.ID, "message").get_attribute("data-key") == "link_sent")
    deadline = time.monotonic() + 60
    while True:
        fresh = [m for m in (LINK.findall("\n".join(mails(platform)))) if m != link]
        if fresh:
            break
        assert time.monotonic() < deadline, "no second link"
        time.sleep(0.3)
    browser.get(fresh[-1])
    browser.get(url + f"/complaints/{reference}")
    wait.until(lambda d: d.find_elements(By.ID, "status"))
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("dir") == "rtl"
    assert browser.find_element(By.ID, "status").text == "رسیدگی شد"
    assert browser.find_element(By.ID, "owner-role").text == "کارشناس تجربه بیمار"
    wait.until(
        lambda d: "The results were sent to you by email." in refreshed(d).find_element(By.ID, "replies").text
    )
    assert browser.find_elements(By.ID, "rated-before")
    shot(browser, tmp_path, "portal-complaint-fa.png")

    # 6. the rating is on the lifecycle topic: in the case file and escalation's CSAT figures
    case_when(
        platform, reference, lambda k: any(t["type"] == "ComplaintRated" for t in k["timeline"]), "the rating"
    )
    sla = escalation_pb2_grpc.SlaServiceStub(platform.channel("escalation", "ops"))
    deadline = time.monotonic() + 30
    while True:
        csat = sla.GetCompliance(escalation_pb2.GetComplianceRequest(), timeout=10).csat
        if csat:
            break
        assert time.monotonic() < deadline, "no CSAT rows"
        time.sleep(0.3)
    (row,) = csat
    assert (row.team, row.sector, row.channel, row.ratings, row.mean, row.satisfied_share) == (
        case["team"], "healthcare", "web", 1, 5.0, 1.0,
    )  # fmt: skip
    shown = haq(platform, "case", "compliance")
    assert shown.returncode == 0, shown.stderr
    assert "customer satisfaction (CSAT)" in shown.stdout and "mean 5.00  rated 4-5 100.0%" in shown.stdout

    # 7. and in the ops dashboard's charts (CSAT per team, sector or channel)
    browser.get(platform.dashboard_url + "/charts?token=" + platform.token("ops"))
    wait.until(
        lambda d: d.execute_script(
            "const c = window.Chart && Chart.getChart('chart-csat');"
            "return c ? c.data.datasets[0].data.length : 0"
        )
    )
    assert browser.execute_script("return Chart.getChart('chart-csat').data.labels") == [case["team"]]
    assert browser.execute_script("return Chart.getChart('chart-csat').data.datasets[0].data") == [5]
    assert "1 rating" in browser.find_element(By.ID, "csat-note").text
    shot(browser, tmp_path, "dashboard-charts-csat.png")
    for png in tmp_path.glob("portal-*.png"):
        assert png.stat().st_size > 10_000, f"{png} looks empty"
