"""A low rating reopens the complaint when HAQ_NOTIFY_LOW_RATING_ACTION=reopen: on the running
platform (as `make run` starts it), the customer rates 1 from the link in the resolution notice,
and escalation reopens the case through its own reopen path (Reopened in the case file)."""

from __future__ import annotations

import email
import http.cookiejar
import re
import time
import urllib.parse
import urllib.request
from email import policy
from pathlib import Path

import pytest

from services.common.broker import free_port
from services.common.pb.haq.v1 import complaint_pb2 as c
from services.common.pb.haq.v1 import intake_pb2, intake_pb2_grpc
from tests.e2e.test_case_flow import case_when, run
from tests.e2e.test_platform import Platform

pytestmark = pytest.mark.e2e
RATE_ONE = re.compile(r"https?://[^\s/]+/rate/[0-9a-f-]{36}\?score=1&exp=\d{1,12}&sig=[0-9a-f]{32}")


def wait_for_mail(platform: Platform, pattern: re.Pattern[str], to: str, timeout: float = 60) -> str:
    """The first match of `pattern` in a mail to `to` saved by the SMTP sink (no browser needed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted((platform.settings.data_dir / "mail").glob("*.eml")):
            msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            part = msg.get_body(preferencelist=("plain",))
            found = pattern.search(f"{msg['Subject']}\n{part.get_content() if part else ''}")
            if found and to in str(msg["To"]):
                return found.group(0)
        time.sleep(0.3)
    raise AssertionError(f"no mail to {to} matching {pattern.pattern}")


def rate_one(tmp_path: Path, monkeypatch, action: str):
    """Start the platform with `action`, resolve a complaint and rate it 1 from the notice's link."""
    port = free_port()
    monkeypatch.setenv("HAQ_PORTAL_PORT", str(port))
    monkeypatch.setenv("HAQ_PORTAL_PUBLIC_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("HAQ_NOTIFY_LOW_RATING_ACTION", action)
    platform = Platform(tmp_path)
    platform.wait_ready()
    stub = intake_pb2_grpc.IntakeServiceStub(platform.channel("intake"))
    made = stub.SubmitComplaint(
        intake_pb2.SubmitComplaintRequest(
            draft=c.ComplaintDraft(
                channel=c.CHANNEL_EMAIL, sector=c.SECTOR_GENERAL, complainant_role=c.COMPLAINANT_ROLE_CONSUMER,
                customer=c.CustomerIdentifiers(email="reza.low@example.com"),
                subject="Refund never arrived", body="The refund I was promised two weeks ago never arrived.",
            )
        ),
        timeout=10,
    )  # fmt: skip
    ref = made.reference
    owner = case_when(platform, ref, lambda k: k["owner"] and k["status"] == "offered", "an owner")["owner"]
    run(platform, "case", "accept", ref, "--agent", owner)
    run(platform, "case", "resolve", ref, "--agent", owner, "--code", "explained", "--summary", "Sent today.")
    case_when(platform, ref, lambda k: k["status"] == "resolved", "the resolution")
    link = wait_for_mail(platform, RATE_ONE, "reza.low@example.com")

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    form = opener.open(link + "&lang=en", timeout=10).read().decode()
    assert 'value="1" checked' in form
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))
    assert set(fields) == {"csrf", "exp", "sig"}
    action_path = urllib.parse.urlsplit(link).path
    body = urllib.parse.urlencode({**fields, "rating": "1", "comment": "Nothing arrived."}).encode()
    done = opener.open(f"http://127.0.0.1:{port}{action_path}", data=body, timeout=10).read().decode()
    assert 'data-key="rated"' in done
    return platform, ref, owner


def test_a_low_rating_reopens_the_complaint_when_configured(tmp_path: Path, monkeypatch):
    platform, ref, owner = rate_one(tmp_path, monkeypatch, "reopen")
    try:
        case = case_when(
            platform,
            ref,
            lambda k: any(t["type"] == "Reopened" for t in k["timeline"]),
            "the reopen",
            timeout=60,
        )
        types = [t["type"] for t in case["timeline"]]
        assert types.index("ComplaintRated") < types.index("Reopened")
        assert case["status"] not in ("resolved", "closed") and case["owner"] == owner
    finally:
        platform.stop()


def test_a_low_rating_alerts_the_team_lead_by_default(tmp_path: Path, monkeypatch):
    platform, ref, _owner = rate_one(tmp_path, monkeypatch, "alert_lead")
    try:
        case = case_when(
            platform, ref,
            lambda k: any(n["template"] == "low_rating" and n["status"] == "sent" for n in k["notifications"]),
            "the team lead's alert",
        )  # fmt: skip
        (alert,) = [n for n in case["notifications"] if n["template"] == "low_rating"]
        # In the lead's language (the seeded leads read Persian): the rating, and the reference.
        wait_for_mail(
            platform, re.compile(re.escape(ref) + r"[^\n]*(1 out of 5|امتیاز ۱ از ۵)"), alert["recipient"]
        )
        assert not any(t["type"] == "Reopened" for t in case["timeline"])
    finally:
        platform.stop()
