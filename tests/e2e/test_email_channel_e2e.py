"""The email channel on the whole platform as `make run` starts it: a mail sent with smtplib to
care@haq.local becomes a complaint with an owner; the acknowledgement that reaches the SMTP sink
answers the customer's Message-ID (In-Reply-To, References) and carries the reference; a reply to
that acknowledgement, as a mail client writes it, lands as a follow-up on the same complaint."""

from __future__ import annotations

import email
import email.policy
import json
import smtplib
import sqlite3
import time
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest

from services.common.broker import free_port
from tests.e2e.test_platform import Platform, haq
from tests.integration.test_email_channel import wait_port

pytestmark = pytest.mark.e2e

CUSTOMER = "sara.ahmadi@example.com"


def send(port: int, msg: EmailMessage) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo("mx.example.com")
        smtp.mail(CUSTOMER)
        assert smtp.rcpt("care@haq.local")[0] == 250
        return smtp.data(msg.as_bytes(policy=email.policy.SMTP))


def case_file(platform: Platform, reference: str) -> dict:
    shown = haq(platform, "show", reference, "--json")
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def until(what: str, check, timeout: float = 90):
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.3)


def mails_to(folder: Path, address: str) -> list[EmailMessage]:
    found = []
    for path in sorted(folder.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if str(msg.get("X-Original-To", "")) == address:
            found.append(msg)
    return found


@pytest.fixture
def platform(tmp_path: Path, monkeypatch):
    mail_port = free_port()
    monkeypatch.setenv("HAQ_MAIL_SMTP_PORT", str(mail_port))  # devrun turns the listener on
    p = Platform(tmp_path)
    p.mail_port = mail_port
    try:
        p.wait_ready()
        yield p
    finally:
        p.stop()


def test_a_mailed_complaint_gets_an_owner_a_threaded_acknowledgement_and_a_reply_follows_up(platform):
    assert any(f"127.0.0.1:{platform.mail_port}" in line for line in platform.output)  # the banner says
    wait_port(platform.mail_port)
    first = EmailMessage()
    first["From"] = f"Sara Ahmadi <{CUSTOMER}>"
    first["To"] = "care@haq.local"
    first["Subject"] = "نوبت جراحی دو بار لغو شد"
    first["Message-ID"] = customer_id = make_msgid(domain="example.com")
    first.set_content("نوبت جراحی من دو بار لغو شد و کسی پاسخ نمی‌دهد.")
    code, text = send(platform.mail_port, first)
    assert code == 250, text
    reference = text.decode().split("Complaint ")[1].split()[0]

    case = until("an owner", lambda: (c := case_file(platform, reference))["owner"] and c)
    assert case["channel"] == "email"
    assert case["language"] == "fa"

    folder = platform.settings.data_dir / "mail"
    [ack] = until("the acknowledgement in the SMTP sink", lambda: mails_to(folder, CUSTOMER))
    assert ack["In-Reply-To"] == customer_id
    assert ack["References"].split()[0] == customer_id
    assert f"<haq-case-{case['id']}@haq.local>" in ack["References"]
    assert reference in ack["Subject"]
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["Message-ID"].startswith("<ntf-")

    # The customer answers the acknowledgement, as a mail client does.
    reply = EmailMessage()
    reply["From"] = f"Sara Ahmadi <{CUSTOMER}>"
    reply["To"] = "care@haq.local"
    reply["Subject"] = f"Re: {ack['Subject']}"
    reply["Message-ID"] = make_msgid(domain="example.com")
    reply["In-Reply-To"] = ack["Message-ID"]
    reply["References"] = f"{ack['References']} {ack['Message-ID']}"
    reply.set_content("هنوز خبری نشده است.\n\n> نوبت جراحی من دو بار لغو شد")
    code, text = send(platform.mail_port, reply)
    assert code == 250 and b"Follow-up" in text, text

    def followed_up():
        c = case_file(platform, reference)
        return [t for t in c["timeline"] if t["type"] == "CustomerFollowedUp"] and c

    case = until("the follow-up on the case file", followed_up)
    with sqlite3.connect(platform.settings.data_dir / "intake.db") as db:
        assert db.execute("SELECT count(*) FROM complaints").fetchone()[0] == 1  # never a duplicate
        bodies = db.execute("SELECT body FROM follow_ups WHERE complaint_id = ?", (case["id"],)).fetchall()
    assert bodies == [("هنوز خبری نشده است.",)]
    # A client that sets only In-Reply-To (our acknowledgement's id): intake knows the id from the
    # NotificationSent it projected into the case file.
    until(
        "the acknowledgement in the case file",
        lambda: (
            [n for n in case["notifications"] if n["status"] == "sent"]
            or [n for n in case_file(platform, reference)["notifications"] if n["status"] == "sent"]
        ),
    )
    short = EmailMessage()
    short["From"] = CUSTOMER
    short["Subject"] = "Re: ..."
    short["In-Reply-To"] = ack["Message-ID"]
    short.set_content("Third message.")
    code, text = send(platform.mail_port, short)
    assert code == 250 and b"Follow-up" in text, text
    # Our acknowledgement is never answered by us: the only customer mail is that one.
    time.sleep(2)
    assert len(mails_to(folder, CUSTOMER)) == 1
