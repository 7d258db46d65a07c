"""Reading a customer's email (services/intake/domain/inbound_mail.py): text from plain, HTML and
multipart mail, attachments within the caps, RFC 2047 subjects, thread ids and the [HQ-…]
reference, and the mail that must never be answered."""

from __future__ import annotations

from email import policy
from email.header import Header
from email.message import EmailMessage
from email.parser import BytesParser

import pytest

from services.intake.domain import inbound_mail as im
from services.intake.domain.draft import MAX_BODY, MAX_SUBJECT

OURS = frozenset({"haq.local"})
OUR_ADDRESSES = frozenset({"care@haq.local"})
CAP = 1000


def mail(body: str = "My order never came.", **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = headers.pop("From", "Sara Ahmadi <Sara@Example.com>")
    msg["To"] = "care@haq.local"
    msg["Subject"] = headers.pop("Subject", "Late delivery")
    msg["Message-ID"] = headers.pop("Message_ID", "<m1@example.com>")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def roundtrip(msg: EmailMessage) -> EmailMessage:
    """As a listener receives it: bytes on the wire, parsed again."""
    parsed = BytesParser(policy=policy.default).parsebytes(msg.as_bytes())
    assert isinstance(parsed, EmailMessage)
    return parsed


def read(msg: EmailMessage, cap: int = CAP) -> im.InboundMail:
    return im.read_mail(roundtrip(msg), "care@haq.local", cap)


def ignored(msg: EmailMessage, envelope_sender: str | None = "sara@example.com") -> im.Ignored | None:
    return im.not_worth_answering(roundtrip(msg), envelope_sender, OURS, OUR_ADDRESSES)


# ---- text ------------------------------------------------------------------------------------


def test_a_plain_mail_gives_the_sender_subject_and_body():
    got = read(mail())
    assert got.sender_email == "sara@example.com"
    assert got.sender_name == "Sara Ahmadi"
    assert got.subject == "Late delivery"
    assert got.body.strip() == "My order never came."
    assert got.message_id == "m1@example.com"
    assert got.thread_ids == ()
    assert got.idempotency_key.startswith("mail:")


def test_an_html_only_mail_is_read_as_its_visible_text():
    msg = mail()
    msg.set_content(
        "<html><head><title>x</title><style>p{color:red}</style></head><body>"
        "<p>The &quot;express&quot; parcel</p><script>alert(1)</script><div>never&nbsp;came.</div>"
        "</body></html>",
        subtype="html",
    )
    got = read(msg)
    assert got.body == 'The "express" parcel\n\nnever came.'
    assert "alert" not in got.body and "color" not in got.body


def test_multipart_alternative_prefers_the_plain_part():
    msg = mail("Plain words.")
    msg.add_alternative("<p>HTML words.</p>", subtype="html")
    assert read(msg).body.strip() == "Plain words."


def test_a_persian_subject_in_rfc2047_is_decoded_and_a_reference_in_it_found():
    msg = EmailMessage()
    msg["From"] = "sara@example.com"
    msg["To"] = "care@haq.local"
    msg["Subject"] = Header("پیگیری شکایت [HQ-7KX2-94]", "utf-8").encode()
    msg.set_content("سفارش من نرسید.")
    raw = msg.as_bytes()
    assert b"=?utf-8?" in raw  # really encoded on the wire
    got = im.read_mail(BytesParser(policy=policy.default).parsebytes(raw), "care@haq.local", CAP)
    assert got.subject == "پیگیری شکایت [HQ-7KX2-94]"
    assert got.subject_reference == "HQ-7KX2-94"
    draft = im.to_draft(got, [], "general", "default")
    assert draft.channel == "email" and draft.customer.email == "sara@example.com"


# ---- attachments -----------------------------------------------------------------------------


def test_attachments_under_the_cap_are_kept_and_over_it_refused_by_name():
    msg = mail()
    msg.add_attachment(b"x" * 100, maintype="application", subtype="pdf", filename="invoice.pdf")
    msg.add_attachment(b"y" * (CAP + 1), maintype="image", subtype="png", filename="../../etc/photo.png")
    got = read(msg)
    assert [a.filename for a in got.attachments] == ["invoice.pdf"]
    assert got.attachments[0].data == b"x" * 100
    assert [(r.filename, r.size) for r in got.refused_attachments] == [("photo.png", CAP + 1)]
    stored = [(got.attachments[0], f"sha256:{got.attachments[0].sha256}")]
    draft = im.to_draft(got, stored, "general", "default")
    assert draft.metadata["attachment_1"].startswith(
        f"sha256:{got.attachments[0].sha256} 100 application/pdf"
    )
    assert draft.metadata["attachment_2"].startswith("refused 1001 photo.png")
    assert "x" * 100 not in str(draft)  # never the bytes


def test_more_attachments_than_allowed_are_refused_past_the_limit():
    msg = mail()
    for i in range(im.MAX_ATTACHMENTS + 2):
        msg.add_attachment(f"{i}".encode(), maintype="application", subtype="octet-stream", filename=f"f{i}")
    got = read(msg)
    assert len(got.attachments) == im.MAX_ATTACHMENTS
    assert len(got.refused_attachments) == 2


def test_a_mail_with_only_an_attachment_still_makes_a_complaint():
    msg = EmailMessage()
    msg["From"] = "sara@example.com"
    msg.add_attachment(b"%PDF", maintype="application", subtype="pdf", filename="a.pdf")
    got = read(msg)
    draft = im.to_draft(got, [(got.attachments[0], "sha256:" + got.attachments[0].sha256)], "general", "t")
    assert draft.body == "(no text: see the attachments)"


# ---- threading -------------------------------------------------------------------------------


def test_thread_ids_are_in_reply_to_first_then_references_newest_first():
    got = read(mail(In_Reply_To="<ntf-abc@haq.local>", References="<m0@example.com> <ntf-abc@haq.local>"))
    assert got.thread_ids == ("ntf-abc@haq.local", "m0@example.com")
    assert im.notification_id_of("ntf-abc@haq.local", OURS) == "ntf-abc"
    assert im.notification_id_of("ntf-abc@elsewhere.org", OURS) == ""
    assert im.notification_id_of("digest-ntf-abc@haq.local", OURS) == "ntf-abc"


def test_references_alone_thread_and_are_bounded():
    ids = " ".join(f"<r{i}@example.com>" for i in range(100))
    got = read(mail(References=ids))
    assert len(got.thread_ids) == im.MAX_THREAD_IDS
    assert got.thread_ids[0] == "r99@example.com"


def test_a_reference_in_the_subject_without_brackets_or_in_lower_case_is_found():
    assert (
        read(mail(Subject="Re: We have received your complaint: hq-7kx2-94")).subject_reference
        == "HQ-7KX2-94"
    )
    assert read(mail(Subject="Order HQ-12")).subject_reference == ""


def test_a_reply_keeps_the_new_text_and_drops_the_quote():
    body = "Still nothing arrived.\n\nOn Tue, 1 Dec 2026 at 10:00, Haq <care@haq.local> wrote:\n> We have received\n> your complaint"
    got = read(mail(body))
    assert im.follow_up_text(got, []) == "Still nothing arrived."
    assert im.follow_up_body("> only a quote") == "> only a quote"  # nothing new: keep it all


# ---- never answered --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"Auto_Submitted": "auto-replied"}, "Auto-Submitted"),
        ({"Precedence": "bulk"}, "Precedence"),
        ({"Precedence": "auto_reply"}, "Precedence"),
        ({"X_Autoreply": "yes"}, "X-Autoreply"),
        ({"List_Id": "<news.example.com>"}, "mailing-list"),
        ({"X_Failed_Recipients": "x@example.com"}, "bounce"),
        ({"From": "MAILER-DAEMON@example.com"}, "mailer daemon"),
        ({"From": "Haq <care@haq.local>"}, "our own address"),
        ({"Message_ID": "<ntf-0123@haq.local>"}, "our own Message-ID"),
    ],
)
def test_auto_replies_bounces_lists_and_our_own_mail_are_ignored(headers, why):
    verdict = ignored(mail(**headers))
    assert verdict is not None and why in verdict.reason


def test_a_null_envelope_sender_or_return_path_is_a_bounce():
    assert "null envelope sender" in ignored(mail(), envelope_sender="").reason
    assert "null envelope sender" in ignored(mail(Return_Path="<>"), envelope_sender=None).reason
    assert ignored(mail(Return_Path="<sara@example.com>"), envelope_sender=None) is None


def test_a_delivery_report_is_ignored():
    msg = mail()
    msg.make_mixed()
    msg.replace_header("Content-Type", 'multipart/report; report-type=delivery-status; boundary="b"')
    assert "report" in ignored(msg).reason


def test_auto_submitted_no_and_an_ordinary_mail_are_answered():
    assert ignored(mail(Auto_Submitted="no")) is None
    assert ignored(mail()) is None


# ---- bounds ----------------------------------------------------------------------------------


def test_oversized_subject_and_body_are_cut_to_the_draft_limits():
    got = read(mail("b" * (MAX_BODY + 500), Subject="s" * (MAX_SUBJECT + 50)))
    draft = im.to_draft(got, [], "general", "default")
    assert len(draft.subject) <= MAX_SUBJECT and draft.subject.endswith(im.TRUNCATED)
    assert len(draft.body) <= MAX_BODY and draft.body.endswith(im.TRUNCATED)


def test_an_overlong_message_id_is_not_used():
    got = read(mail(Message_ID="<" + "a" * 300 + "@example.com>"))
    assert got.message_id == ""
    assert got.idempotency_key.startswith("mail-sha256:")


@pytest.mark.parametrize(
    "sender", ["", "a@example.com, b@example.com", "not an address", "x" * 300 + "@example.com"]
)
def test_a_mail_without_exactly_one_usable_sender_is_rejected_naming_from(sender):
    with pytest.raises(im.MailRejected) as err:
        read(mail(From=sender))
    assert err.value.field == "From"


def test_a_mail_with_neither_text_nor_attachment_is_rejected():
    got = read(mail("   "))
    with pytest.raises(im.MailRejected) as err:
        im.to_draft(got, [], "general", "default")
    assert err.value.field == "body"


def test_nul_characters_in_the_body_do_not_reach_the_draft():
    got = read(mail("before\x00after"))
    assert "\x00" not in got.body and "beforeafter" in got.body


def test_deeply_nested_html_is_converted_and_overlong_html_cut():
    assert read(_html_mail("<div>" * 20_000 + "text" + "</div>" * 20_000)).body == "text"
    long_html = "<p>" + "word " * (im.MAX_HTML // 5 + 1000) + "</p><p>after the cut</p>"
    got = read(_html_mail(long_html))
    assert "after the cut" not in got.body and got.body.startswith("word word")


def _html_mail(html: str) -> EmailMessage:
    msg = mail()
    msg.set_content(html, subtype="html")
    return msg


def test_the_idempotency_key_is_the_senders_message_id_or_the_whole_message():
    sara, other = read(mail()), read(mail(From="mallory@example.org"))
    assert sara.idempotency_key != other.idempotency_key  # a copied Message-ID is not Sara's mail
    assert read(mail()).idempotency_key == sara.idempotency_key  # the same mail again
    raw_a, raw_b = b"From: a@example.com\r\n\r\none", b"From: a@example.com\r\n\r\ntwo"
    key_a = im.read_mail(BytesParser(policy=policy.default).parsebytes(raw_a), "care@haq.local", CAP, raw_a)
    key_b = im.read_mail(BytesParser(policy=policy.default).parsebytes(raw_b), "care@haq.local", CAP, raw_b)
    assert key_a.idempotency_key.startswith("mail-sha256:") and key_a.idempotency_key != key_b.idempotency_key


def test_malformed_headers_do_not_stop_the_mail_from_being_read():
    raw = (
        b"From: Sara <sara@example.com>\r\nSubject: =?utf-8?B?!!broken?=\r\nMessage-ID: <<<>>>\r\n"
        b"In-Reply-To: not an id\r\nReturn-Path: <<\r\nContent-Type: text/plain; charset=x-unknown\r\n\r\nHello"
    )
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert im.not_worth_answering(msg, None, OURS, OUR_ADDRESSES) is None
    got = im.read_mail(msg, "care@haq.local", CAP, raw)
    assert got.sender_email == "sara@example.com" and got.message_id == "" and got.thread_ids == ()
    assert "Hello" in got.body
