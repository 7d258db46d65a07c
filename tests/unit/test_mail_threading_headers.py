"""The headers that make our mail thread with the customer's (services/notifications/adapters/
smtp.py): the acknowledgement of an emailed complaint answers the customer's Message-ID, every
mail about a complaint joins its thread id, the subject carries the [HQ-…] reference, and intake's
email channel reads those ids back as ours (a reply threads; our own mail is never answered)."""

from __future__ import annotations

from email.message import EmailMessage

from services.common.pb.haq.v1 import complaint_pb2, events_pb2
from services.intake.domain import inbound_mail
from services.notifications.adapters import smtp
from services.notifications.domain.templates import RenderedMessage

ACK = RenderedMessage(
    "acknowledgement", "en", "ltr", "We have received your complaint: HQ-7KX2-94", "Text", "<p>Text</p>"
)
CID = "6f1c2b9e-0000-4000-8000-000000000001"


def build(rendered: RenderedMessage = ACK, **kw: str) -> EmailMessage:
    return smtp.build_message(
        rendered, sender="Haq <care@haq.local>", recipient="sara@example.com", notification_id="ntf-abc",
        reference="HQ-7KX2-94", **kw,
    )  # fmt: skip


def received(metadata: dict[str, str]) -> events_pb2.ComplaintReceived:
    return events_pb2.ComplaintReceived(complaint=complaint_pb2.Complaint(id=CID, metadata=metadata))


def test_the_acknowledgement_of_an_emailed_complaint_answers_the_customers_message():
    payload = smtp.thread_payload(received({"email_message_id": "m1@example.com"}))
    msg = build(complaint_id=CID, in_reply_to=smtp.in_reply_to(payload))
    assert msg["Message-ID"] == "<ntf-abc@haq.local>"
    assert msg["In-Reply-To"] == "<m1@example.com>"
    assert msg["References"] == f"<m1@example.com> <haq-case-{CID}@haq.local>"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["Subject"] == "We have received your complaint: HQ-7KX2-94"  # the reference is there already


def test_other_mail_joins_the_complaints_thread_and_gets_the_reference_in_the_subject():
    rendered = RenderedMessage("resolved", "en", "ltr", "Your complaint is resolved", "Text", "<p>Text</p>")
    msg = build(rendered, complaint_id=CID)
    assert msg["In-Reply-To"] is None
    assert msg["References"] == f"<haq-case-{CID}@haq.local>"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Subject"] == "Your complaint is resolved [HQ-7KX2-94]"


def test_no_thread_payload_without_a_usable_customer_message_id():
    assert smtp.thread_payload(received({})) == ""
    assert (
        smtp.thread_payload(received({"email_message_id": "a b@example.com"})) == ""
    )  # a space: a header break
    assert smtp.thread_payload(received({"email_message_id": "x\r\nBcc: evil@example.com"})) == ""
    assert smtp.thread_payload(events_pb2.Resolved()) == ""
    assert smtp.in_reply_to("") == "" and smtp.in_reply_to('{"id": "webhook payload"}') == ""


def test_intake_reads_our_ids_back_as_ours():
    msg = build(complaint_id=CID, in_reply_to="m1@example.com")
    ours = frozenset({"haq.local"})
    own_id = inbound_mail.message_ids(str(msg["Message-ID"]))[0]
    assert inbound_mail.notification_id_of(own_id, ours) == "ntf-abc"
    thread = inbound_mail.message_ids(str(msg["References"]))
    assert [inbound_mail.case_id_of(i, ours) for i in thread] == ["", CID]
    # Our own mail delivered back to a care address is a loop: never answered.
    verdict = inbound_mail.not_worth_answering(msg, "care@haq.local", ours, frozenset({"care@haq.local"}))
    assert verdict is not None
