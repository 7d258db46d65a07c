"""The chat/social adapter contract (services/intake/domain/chat_inbound.py and the Slack
signature check in services/intake/entrypoints/chat_in.py): generic and Slack payloads, what is
never taken (bots, edits, our own bot), and every field's limit."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from services.intake.domain import chat_inbound as ci
from services.intake.entrypoints import chat_in


def generic(**over):
    body = {
        "network": "Telegram",
        "thread_id": "chat-991",
        "message_id": "m-1",
        "user": {"id": "sara_a", "name": "Sara"},
        "text": "My parcel never came.\nOrdered on 1 Dec.",
    }
    body.update(over)
    return body


def slack(**event):
    ev = {
        "type": "message",
        "channel": "C024BE91L",
        "user": "U2147483697",
        "text": "Refund?",
        "ts": "1700000000.000100",
    }
    ev.update(event)
    return {"type": "event_callback", "team_id": "T111", "event_id": "Ev01", "event": ev}


def test_a_generic_message_makes_a_complaint_draft_with_the_social_identity():
    msg = ci.read_payload(generic())
    assert isinstance(msg, ci.ChatMessage)
    assert msg.thread == "chat:telegram:chat-991"
    draft = ci.to_draft(msg, "default")
    assert draft.channel == "chat" and draft.customer.social[0].network == "telegram"
    assert draft.customer.social[0].handle == "sara_a" and draft.customer.display_name == "Sara"
    assert draft.subject == "My parcel never came."
    assert draft.metadata == {"chat_thread": "chat:telegram:chat-991", "chat_network": "telegram"}
    assert draft.idempotency_key == ci.read_payload(generic()).idempotency_key
    assert draft.idempotency_key != ci.read_payload(generic(message_id="m-2")).idempotency_key


def test_a_slack_message_threads_by_thread_ts_or_its_own_ts():
    first = ci.read_payload(slack())
    reply = ci.read_payload(slack(ts="1700000050.000200", thread_ts="1700000000.000100"))
    assert first.thread == reply.thread == "chat:slack:T111:C024BE91L:1700000000.000100"
    assert first.network == "slack" and first.user_id == "U2147483697"


@pytest.mark.parametrize(
    "event",
    [{"bot_id": "B1"}, {"subtype": "message_changed"}, {"subtype": "bot_message"}, {"user": "UOURBOT"}],
)
def test_bots_edits_and_our_own_bot_are_never_taken(event):
    got = ci.read_payload(slack(**event), own_bot_ids=frozenset({"UOURBOT"}))
    assert isinstance(got, ci.ChatIgnored)


def test_the_slack_handshake_and_other_events():
    assert ci.read_payload({"type": "url_verification", "challenge": "abc"}) == ci.Handshake("abc")
    assert isinstance(ci.read_payload(slack(type="reaction_added")), ci.ChatIgnored)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ([], "payload"),
        ({"type": "other"}, "type"),
        (generic(network=""), "network"),
        (generic(thread_id="a b"), "thread_id"),
        (generic(thread_id="x" * 151), "thread_id"),
        (generic(user="sara"), "user"),
        (generic(user={"id": "s\x00"}), "user.id"),
        (generic(text=""), "text"),
        (generic(text="x" * 20_001), "text"),
        (generic(text=5), "text"),
        (generic(channel="fax"), "channel"),
        (slack(channel="C1\nX"), "event.channel"),
    ],
)
def test_bad_payloads_name_the_field(payload, field):
    with pytest.raises(ci.ChatRejected) as err:
        ci.read_payload(payload)
    assert err.value.field == field


def test_the_slack_signature_is_checked_with_its_timestamp():
    body = json.dumps(slack()).encode()
    stamp = "1700000000"
    sig = "v0=" + hmac.new(b"s3cret", b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    headers = {chat_in.SLACK_TIMESTAMP: stamp, chat_in.SLACK_SIGNATURE: sig}
    assert chat_in.slack_signature_ok("s3cret", headers, body, 300, now=lambda: 1700000100)
    assert not chat_in.slack_signature_ok("s3cret", headers, body + b" ", 300, now=lambda: 1700000100)
    assert not chat_in.slack_signature_ok("other", headers, body, 300, now=lambda: 1700000100)
    assert not chat_in.slack_signature_ok("s3cret", headers, body, 300, now=lambda: 1700000400)  # a replay
    assert not chat_in.slack_signature_ok("", headers, body, 300, now=lambda: 1700000100)


def test_the_body_is_bounded_and_must_be_json():
    with pytest.raises(ci.ChatRejected):
        chat_in.parse_body(b"{" + b" " * ci.MAX_PAYLOAD_BYTES + b"}")
    with pytest.raises(ci.ChatRejected):
        chat_in.parse_body(b"not json")
