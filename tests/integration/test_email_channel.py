"""The email channel on the real intake process and the real broker: a mail sent with Python's
smtplib (an independent SMTP client) to the intake SMTP listener becomes a ComplaintReceived
(channel EMAIL, the sender as the customer), a reply becomes a CustomerFollowedUp on the same
complaint (never a second complaint), an auto-reply becomes nothing; and the IMAP poller reads a
real dovecot mailbox over TLS."""

from __future__ import annotations

import imaplib
import smtplib
import socket
import sqlite3
import ssl
import time
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from sqlalchemy import text as text_sql
from sqlalchemy.exc import OperationalError

from services.common import topics
from services.common.broker import free_port
from services.common.db import make_engine
from services.common.migrations import migrate
from services.common.pb.haq.v1 import complaint_pb2 as c
from services.common.settings import Settings
from services.common.tail import collect
from services.intake.adapters.mail_threads import MailThreadRow
from services.intake.domain.inbound_mail import MailRejected
from services.intake.entrypoints.imap_poller import POISON_ATTEMPTS, ImapPoller
from services.intake.entrypoints.smtp_in import SmtpListener
from services.intake.mail_service import MailIntake, MailOutcome
from services.intake.service import IntakeService
from services.intake.settings import MailSettings
from tests.dovecot import start_dovecot

pytestmark = pytest.mark.integration

CARE = "care@haq.local"


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listening on {port}")


def customer_mail(subject: str, body: str, sender: str = "Sara Ahmadi <sara@example.com>", **headers: str):
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = CARE
    msg["Subject"] = subject
    msg["Message-ID"] = headers.pop("Message_ID", make_msgid(domain="example.com"))
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def send(port: int, msg: EmailMessage, rcpt: str = CARE) -> tuple[int, bytes]:
    """smtplib as the sender's server would talk to ours; the DATA reply."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo("client.example.com")
        smtp.mail("sara@example.com")
        code, text = smtp.rcpt(rcpt)
        if code != 250:
            return code, text
        return smtp.data(msg.as_bytes(policy=policy.SMTP))  # CRLF lines, as on the wire


def lifecycle_until(settings, predicate, timeout=30):
    return collect(
        settings, topics.LIFECYCLE_TOPIC, lambda rs: predicate([r for r in rs if r.envelope]), timeout
    )


def complaints(settings) -> list[tuple[str, str]]:
    with sqlite3.connect(settings.data_dir / "intake.db") as db:
        return db.execute("SELECT id, channel FROM complaints ORDER BY received_at").fetchall()


def follow_ups(settings, complaint_id: str) -> list[str]:
    with sqlite3.connect(settings.data_dir / "intake.db") as db:
        rows = db.execute(
            "SELECT body FROM follow_ups WHERE complaint_id = ? ORDER BY received_at", (complaint_id,)
        )
        return [r[0] for r in rows]


def test_a_mail_becomes_a_complaint_and_a_reply_a_follow_up_and_an_auto_reply_nothing(
    settings, start_service
):
    port = free_port()
    start_service("intake", HAQ_MAIL_SMTP_ENABLED="1", HAQ_MAIL_SMTP_PORT=str(port), HAQ_MAIL_ADDRESSES=CARE)
    wait_port(port)

    # Another address here: refused at RCPT.
    code, _ = send(port, customer_mail("x", "y"), rcpt="someone-else@haq.local")
    assert code == 550

    first = customer_mail("سفارش من نرسید", "سفارش من بعد از دو هفته هنوز نرسیده است.")
    code, reply = send(port, first)
    assert code == 250 and b"Complaint HQ-" in reply, reply
    reference = reply.decode().split("Complaint ")[1].split()[0]

    received = lifecycle_until(
        settings, lambda rs: any(r.envelope.type == "haq.v1.ComplaintReceived" for r in rs)
    )
    [event] = [r.envelope for r in received if r.envelope.type == "haq.v1.ComplaintReceived"]
    complaint = event.message.complaint
    assert complaint.reference == reference
    assert complaint.channel == c.CHANNEL_EMAIL
    assert complaint.customer.email == "sara@example.com"
    assert complaint.customer.display_name == "Sara Ahmadi"
    assert complaint.language == "fa"
    assert complaint.subject == "سفارش من نرسید"
    assert complaint.metadata["email_message_id"] == first["Message-ID"].strip("<>")

    # The same mail again (the sender's retry): the same complaint, not a second one.
    code, again = send(port, first)
    assert code == 250 and reference.encode() in again

    # A reply to the customer's own mail (as a mail client threads it): a follow-up.
    reply_mail = customer_mail(
        f"Re: {first['Subject']}",
        "Still nothing.\n\nOn Tue, Sara wrote:\n> earlier text",
        In_Reply_To=first["Message-ID"],
        References=first["Message-ID"],
    )
    code, text = send(port, reply_mail)
    assert code == 250 and b"Follow-up" in text, text
    # A reply naming our thread id, as a reply to our acknowledgement carries it in References.
    by_thread = customer_mail(
        "Re: ack", "A third message.", References=f"<haq-case-{complaint.id}@haq.local>"
    )
    assert send(port, by_thread)[0] == 250
    # A reply with only the reference in the subject, from the same customer: a follow-up.
    by_reference = customer_mail(f"About [{reference}]", "And a fourth.")
    assert send(port, by_reference)[0] == 250
    # The same reference from someone else is a new complaint, not a note on Sara's.
    stranger = customer_mail(f"About [{reference}]", "Not Sara.", sender="mallory@example.org")
    code, text = send(port, stranger)
    assert code == 250 and b"Complaint HQ-" in text

    followed = lifecycle_until(
        settings, lambda rs: sum(r.envelope.type == "haq.v1.CustomerFollowedUp" for r in rs) >= 3
    )
    follow_events = [r.envelope for r in followed if r.envelope.type == "haq.v1.CustomerFollowedUp"]
    assert {e.message.complaint_id for e in follow_events} == {complaint.id}
    assert [e.message.body for e in follow_events] == ["Still nothing.", "A third message.", "And a fourth."]
    assert all(e.message.channel == c.CHANNEL_EMAIL for e in follow_events)

    # Auto-replies, bounces and our own mail: accepted, and nothing comes of them.
    auto = customer_mail(f"Out of office: [{reference}]", "I am away.", Auto_Submitted="auto-replied")
    bounce = customer_mail("Undelivered Mail", "failed", sender="MAILER-DAEMON@example.com")
    ours = customer_mail("loop", "our own", Message_ID="<ntf-0123abcd@haq.local>")
    for mail in (auto, bounce, ours):
        code, _ = send(port, mail)
        assert code == 250
    assert [ch for _, ch in complaints(settings)] == ["email", "email"]  # Sara's and the stranger's
    assert follow_ups(settings, complaint.id) == ["Still nothing.", "A third message.", "And a fourth."]


def test_a_mail_without_a_usable_sender_gets_550_and_an_oversized_one_552(settings, start_service):
    port = free_port()
    start_service(
        "intake", HAQ_MAIL_SMTP_ENABLED="1", HAQ_MAIL_SMTP_PORT=str(port), HAQ_MAIL_MAX_MESSAGE_BYTES="5000"
    )
    wait_port(port)
    code, text = send(port, customer_mail("x", "y", sender="not an address"))
    assert code == 550 and b"From" in text
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo("client.example.com")
        assert smtp.esmtp_features.get("size") == "5000"  # announced, so senders can check first
    assert send(port, customer_mail("big", ("x" * 70 + "\n") * 150))[0] == 552
    assert send(port, customer_mail("small", "fits"))[0] == 250
    assert [ch for _, ch in complaints(settings)] == ["email"]


def test_attachments_are_kept_by_reference_under_the_data_dir(settings, start_service):
    port = free_port()
    start_service(
        "intake",
        HAQ_MAIL_SMTP_ENABLED="1",
        HAQ_MAIL_SMTP_PORT=str(port),
        HAQ_MAIL_MAX_ATTACHMENT_BYTES="1000",
    )
    wait_port(port)
    msg = customer_mail("Broken screen", "Photo attached.")
    msg.add_attachment(b"\x89PNG small", maintype="image", subtype="png", filename="screen.png")
    msg.add_attachment(b"z" * 5000, maintype="application", subtype="pdf", filename="big.pdf")
    code, _ = send(port, msg)
    assert code == 250
    received = lifecycle_until(
        settings, lambda rs: any(r.envelope.type == "haq.v1.ComplaintReceived" for r in rs)
    )
    [complaint] = [
        r.envelope.message.complaint for r in received if r.envelope.type == "haq.v1.ComplaintReceived"
    ]
    kept, refused = complaint.metadata["attachment_1"], complaint.metadata["attachment_2"]
    digest = kept.split()[0].removeprefix("sha256:")
    assert kept.endswith("image/png screen.png")
    assert refused.startswith("refused 5000 big.pdf")
    stored = settings.data_dir / "intake" / "attachments" / digest[:2] / digest
    assert stored.read_bytes() == b"\x89PNG small"
    assert b"PNG small" not in complaint.SerializeToString()  # the bytes never travel on the topic


# ---- the IMAP poller against a real dovecot ------------------------------------------------


@pytest.fixture
def dovecot():
    server = start_dovecot()
    yield server
    server.stop()


def imap_client(server) -> imaplib.IMAP4_SSL:
    ctx = ssl.create_default_context(cafile=str(server.ca_file))
    conn = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=ctx)
    conn.login(server.user, server.password)
    return conn


def folder_count(server, folder: str, criterion: str = "ALL") -> int:
    conn = imap_client(server)
    try:
        status, _ = conn.select(f'"{folder}"')
        if status != "OK":
            return 0
        _, data = conn.uid("SEARCH", None, criterion)
        return len(data[0].split())
    finally:
        conn.logout()


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_the_imap_poller_reads_a_tls_mailbox_and_files_what_it_stored(
    settings, start_service, dovecot, security
):
    conn = imap_client(dovecot)
    first = customer_mail("Refund never came", "I returned the item a month ago.")
    reply = customer_mail("Re: Refund never came", "Any news?", In_Reply_To=first["Message-ID"])
    auto = customer_mail("Automatic reply", "Away", Auto_Submitted="auto-replied")
    nobody = customer_mail("?", "no sender", sender="")
    for msg in (first, reply, auto, nobody):
        assert conn.append("INBOX", None, None, msg.as_bytes())[0] == "OK"
    conn.logout()

    port = dovecot.imaps_port if security == "tls" else dovecot.imap_port
    start_service(
        "intake",
        HAQ_MAIL_IMAP_HOST="127.0.0.1",
        HAQ_MAIL_IMAP_PORT=str(port),
        HAQ_MAIL_IMAP_SECURITY=security,
        HAQ_MAIL_IMAP_USER=dovecot.user,
        HAQ_MAIL_IMAP_PASSWORD=dovecot.password,
        HAQ_MAIL_IMAP_CA_FILE=str(dovecot.ca_file),
        HAQ_MAIL_IMAP_POLL_S="0.5",
    )
    records = lifecycle_until(
        settings, lambda rs: any(r.envelope.type == "haq.v1.CustomerFollowedUp" for r in rs), timeout=60
    )
    [received] = [
        r.envelope.message.complaint for r in records if r.envelope.type == "haq.v1.ComplaintReceived"
    ]
    [followed] = [r.envelope.message for r in records if r.envelope.type == "haq.v1.CustomerFollowedUp"]
    assert received.channel == c.CHANNEL_EMAIL and received.customer.email == "sara@example.com"
    assert followed.complaint_id == received.id and followed.body == "Any news?"

    deadline = time.monotonic() + 30
    while folder_count(dovecot, "INBOX") and time.monotonic() < deadline:
        time.sleep(0.3)
    assert folder_count(dovecot, "INBOX") == 0  # every message filed
    assert folder_count(dovecot, "Haq-Done", "SEEN") == 3  # the complaint, the reply, the auto-reply
    assert folder_count(dovecot, "Haq-Refused", "FLAGGED") == 1  # no usable sender
    time.sleep(1.5)  # a few more polls: nothing is taken twice
    assert [ch for _, ch in complaints(settings)] == ["email"]
    assert follow_ups(settings, received.id) == ["Any news?"]


class ScriptedIntake:
    """Stands in for MailIntake to drive the poller's failure paths on the real dovecot: a given
    subject fails with the given exception, every other mail is taken."""

    def __init__(self, failing_subject: str, error: Exception):
        self.failing_subject, self.error = failing_subject.encode(), error
        self.taken: list[bytes] = []

    def accept(self, raw: bytes, envelope_sender, recipients) -> MailOutcome:
        if b"Subject: " + self.failing_subject in raw:
            raise self.error
        self.taken.append(raw)
        return MailOutcome("complaint", "c-1", "HQ-0000-00")


def poller_for(server, intake) -> ImapPoller:
    settings = MailSettings(
        imap_host="127.0.0.1", imap_port=server.imaps_port, imap_user=server.user,
        imap_password=server.password, imap_ca_file=str(server.ca_file),
    )  # fmt: skip
    return ImapPoller(intake, settings)


def append(server, *mails: EmailMessage) -> None:
    conn = imap_client(server)
    for msg in mails:
        assert conn.append("INBOX", None, None, msg.as_bytes())[0] == "OK"
    conn.logout()


def test_a_message_that_keeps_failing_is_filed_as_refused_and_the_rest_go_on(dovecot):
    append(dovecot, customer_mail("poison", "x"), customer_mail("fine", "y"))
    intake = ScriptedIntake("poison", ValueError("a bug this message triggers"))
    poller = poller_for(dovecot, intake)
    for _ in range(POISON_ATTEMPTS - 1):
        with pytest.raises(ValueError):
            poller.poll_once()
        assert folder_count(dovecot, "INBOX", "UNSEEN") == 2
    results = poller.poll_once()
    assert isinstance(results[0], MailRejected) and results[0].field == "message"
    assert [r.kind for r in results[1:]] == ["complaint"]
    assert folder_count(dovecot, "Haq-Refused", "FLAGGED") == 1
    assert folder_count(dovecot, "Haq-Done", "SEEN") == 1
    assert folder_count(dovecot, "INBOX") == 0


def test_a_database_outage_never_gives_a_message_up(dovecot):
    append(dovecot, customer_mail("waits", "x"))
    poller = poller_for(dovecot, ScriptedIntake("waits", OperationalError("INSERT", {}, Exception("locked"))))
    for _ in range(POISON_ATTEMPTS + 2):
        with pytest.raises(OperationalError):
            poller.poll_once()
    assert folder_count(dovecot, "INBOX", "UNSEEN") == 1
    assert folder_count(dovecot, "Haq-Refused") == 0


def test_a_mail_that_cannot_be_stored_gets_451_and_its_retry_makes_one_complaint(tmp_path):
    """The real listener and intake service on a real SQLite database whose mail_threads table
    has gone: the transaction fails, the sender is told to retry (451), nothing half-stored; once
    the table is back, the same mail is one complaint."""
    engine = make_engine(f"sqlite:///{tmp_path / 'intake.db'}")
    migrate(engine, "intake")
    service = IntakeService(engine, "default")
    intake = MailIntake(service, Settings(data_dir=tmp_path), MailSettings())
    port = free_port()
    listener = SmtpListener(intake, "127.0.0.1", port, 1_000_000)
    listener.start()
    try:
        MailThreadRow.__table__.drop(engine)
        mail = customer_mail("Broken kettle", "It stopped working after a day.")
        code, text = send(port, mail)
        assert code == 451, text
        with engine.connect() as conn:
            assert conn.execute(text_sql("SELECT count(*) FROM complaints")).scalar_one() == 0
        MailThreadRow.__table__.create(engine)
        assert send(port, mail)[0] == 250
        assert send(port, mail)[0] == 250  # and once more: still the one complaint
        with engine.connect() as conn:
            assert conn.execute(text_sql("SELECT count(*) FROM complaints")).scalar_one() == 1
            assert conn.execute(text_sql("SELECT count(*) FROM mail_threads")).scalar_one() == 1
    finally:
        listener.stop()
