"""Replies on the customer's chat/social thread: the thread key read back, the body the chat
endpoint receives, the channel chosen for a chat customer, and the pipeline (record → plan →
deliver) posting the acknowledgement and an agent's response on the thread, with the email
template's text. A real SQLite database; the fakes are only at the HTTP and SMTP boundary.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlmodel import Session

from services.common.codec import Envelope, new_event
from services.common.db import create_tables, make_engine
from services.common.pb.haq.v1 import complaint_pb2, events_pb2
from services.common.runtime import EventConsumer
from services.notifications.adapters import db
from services.notifications.adapters.http_channels import HttpChannels, HttpFailure, is_transient
from services.notifications.adapters.tenant_config import TenantBook
from services.notifications.domain import signing
from services.notifications.domain.audience import CaseState, customer_channel
from services.notifications.domain.chat_reply import ChatThread, parse_thread, reply_body
from services.notifications.domain.schedule import RetryPolicy
from services.notifications.domain.templates import TemplateRenderer
from services.notifications.domain.tenant import TenantConfig, parse_tenants
from services.notifications.service_layer.admin import Admin
from services.notifications.service_layer.dispatcher import Dispatcher, Senders
from services.notifications.service_layer.planner import Planner
from services.notifications.service_layer.recorder import Recorder
from tests.unit.test_notifications_delivery import T0, Clock, FakeDirectory, FakeSmtp

SLACK_THREAD = "chat:slack:T01:C02:1700000000.000100"
GENERIC_THREAD = "chat:telegram:chat-991"
CHAT_TENANT = TenantConfig(chat_webhook_url="http://chat.test/hook")


def test_thread_keys_read_back_into_where_a_reply_goes() -> None:
    assert parse_thread(SLACK_THREAD) == ChatThread(
        "slack", "T01:C02:1700000000.000100", channel="C02", thread_ts="1700000000.000100"
    )
    assert parse_thread(GENERIC_THREAD) == ChatThread("telegram", "chat-991")
    assert parse_thread("chat:wa:a:b") == ChatThread("wa", "a:b")  # a generic id may hold ':'
    for bad in ("", "mail:x", "chat:slack:C02:1700", "chat:slack:a:b:c:d", "chat::x", "chat:x:a b",
                "chat:x:" + "a" * 151, "chat:x:" + "<script>"):  # fmt: skip
        assert parse_thread(bad) is None, bad


def test_the_body_is_slacks_thread_shape_or_the_generic_one() -> None:
    slack = reply_body(parse_thread(SLACK_THREAD), "A & <b> *x*", delivery_id="ntf-1", reference="HQ-1")
    assert slack == {"channel": "C02", "thread_ts": "1700000000.000100", "text": "A &amp; &lt;b&gt; *x*",
                     "mrkdwn": False}  # fmt: skip
    generic = reply_body(parse_thread(GENERIC_THREAD), "سلام <b>", delivery_id="ntf-1", reference="HQ-1")
    assert generic == {"network": "telegram", "thread_id": "chat-991", "text": "سلام <b>",
                       "message_id": "ntf-1", "reference": "HQ-1"}  # fmt: skip


def test_a_chat_customer_is_answered_on_the_thread_unless_email_is_asked_for() -> None:
    case = CaseState("c-1", email="sara@example.com", channel="chat", chat_thread=GENERIC_THREAD)
    assert customer_channel(case, CHAT_TENANT) == ("chat", GENERIC_THREAD)
    social = CaseState("c-1", channel="social", chat_thread=SLACK_THREAD)
    assert customer_channel(social, CHAT_TENANT) == ("chat", SLACK_THREAD)
    assert customer_channel(case, CHAT_TENANT, requested="email") == ("email", "sara@example.com")
    chose_email = CaseState("c-1", email="s@x.com", channel="chat", chat_thread=GENERIC_THREAD,
                            preferred_channel="email")  # fmt: skip
    assert customer_channel(chose_email, CHAT_TENANT) == ("email", "s@x.com")
    # No chat endpoint for the tenant: email as before; no email either: nobody to send to.
    assert customer_channel(case, TenantConfig()) == ("email", "sara@example.com")
    assert customer_channel(social, TenantConfig()) == ("", "")
    # A thread key on a complaint that did not come in on chat is not used.
    web = CaseState("c-1", email="s@x.com", channel="web", chat_thread=GENERIC_THREAD)
    assert customer_channel(web, CHAT_TENANT) == ("email", "s@x.com")
    reply_only = TenantConfig(chat_reply_url="https://slack.com/api/chat.postMessage")
    assert reply_only.chat_replies_to == "https://slack.com/api/chat.postMessage"
    assert customer_channel(social, reply_only) == ("chat", SLACK_THREAD)


@dataclass
class ThreadHttp:
    errors: list[BaseException] = field(default_factory=list)
    replies: list[dict] = field(default_factory=list)
    staff: list[dict] = field(default_factory=list)

    def chat_reply(self, url, payload, *, token, secret, delivery_id):
        self.replies.append({"url": url, "payload": payload, "token": token, "secret": secret,
                             "delivery_id": delivery_id})  # fmt: skip
        if self.errors:
            raise self.errors.pop(0)

    def chat(self, url, text, *, delivery_id):
        self.staff.append({"url": url, "text": text})


TENANTS = {
    "tenants": {
        "default": {
            "chat": {
                "webhook_url": "http://chat.test/staff",
                "reply_url": "http://chat.test/api/chat.postMessage",
                "reply_token": "xoxb-test",
                "reply_secret": "reply-secret",
            }
        }
    }
}


@dataclass
class World:
    smtp: FakeSmtp
    http: ThreadHttp
    dispatcher: Dispatcher
    admin: Admin
    consumer: EventConsumer
    recorder: Recorder

    def consume(self, envelope: Envelope) -> None:
        self.consumer.apply(envelope, self.recorder.on_event)
        self.dispatcher.drain()


@pytest.fixture
def world(tmp_path: Path) -> World:
    engine = make_engine(f"sqlite:///{tmp_path / 'notifications.db'}")
    create_tables(engine, db.TABLES)
    tenants = TenantBook(parse_tenants(TENANTS))
    smtp, http, clock = FakeSmtp(), ThreadHttp(), Clock()
    planner = Planner(TemplateRenderer(), tenants, FakeDirectory())
    dispatcher = Dispatcher(
        engine, planner, Senders(smtp, http), tenants,  # type: ignore[arg-type]
        sender_address="Haq <care@haq.local>", retry=RetryPolicy(max_attempts=3, base_s=0.0, cap_s=0.0),
        clock=clock, rand=lambda: 0.0,
    )  # fmt: skip
    admin = Admin(engine, planner, tenants, dispatcher, clock=clock)
    consumer = EventConsumer("notifications-lifecycle", "notifications", engine, relay=None)
    return World(smtp, http, dispatcher, admin, consumer, Recorder(clock=clock))


def chat_received(thread: str, *, email: str = "", language: str = "en", channel=complaint_pb2.CHANNEL_CHAT):
    complaint = complaint_pb2.Complaint(
        id="c-1", reference="HQ-7KX2-94", tenant="default", language=language, channel=channel,
        customer=complaint_pb2.CustomerIdentifiers(email=email, display_name="Sara"),
        metadata={"chat_thread": thread, "chat_network": thread.split(":")[1] if thread else ""},
    )  # fmt: skip
    complaint.received_at.FromDatetime(T0)
    return new_event(events_pb2.ComplaintReceived(complaint=complaint), source="/haq/intake", subject="c-1",
                     event_id="evt-1")  # fmt: skip


def responded(body: str, event_id: str = "evt-2") -> Envelope:
    msg = events_pb2.AgentResponded(complaint_id="c-1", agent="reza", body=body)
    return new_event(msg, source="/haq/test", subject="c-1", event_id=event_id)


def test_the_acknowledgement_and_a_response_go_on_the_thread_with_the_email_text(world: World) -> None:
    world.consume(chat_received(SLACK_THREAD, email="sara@example.com", language="fa"))
    world.consume(responded("بسته شما فردا می‌رسد."))

    assert world.smtp.sent == []  # on the thread instead of email, though the customer has one
    ack, reply = world.http.replies
    for sent in (ack, reply):
        assert sent["url"] == "http://chat.test/api/chat.postMessage"
        assert (sent["token"], sent["secret"]) == ("xoxb-test", "reply-secret")
        assert (sent["payload"]["channel"], sent["payload"]["thread_ts"]) == ("C02", "1700000000.000100")
    assert "HQ-7KX2-94" in ack["payload"]["text"] and "شماره پیگیری" in ack["payload"]["text"]
    assert "بسته شما فردا می‌رسد." in reply["payload"]["text"]
    rows = {r.template: r for r in world.admin.list_deliveries("c-1")}
    for template in ("acknowledgement", "agent_response"):
        row = rows[template]
        assert (row.channel, row.recipient, row.audience, row.status) == (
            "chat",
            SLACK_THREAD,
            "customer",
            "sent",
        )
    # Exactly the email template's plain text (Slack's three markup characters escaped).
    assert reply["payload"]["text"] == rows["agent_response"].text.replace("&", "&amp;").replace(
        "<", "&lt;"
    ).replace(">", "&gt;")
    assert world.http.staff == []


def test_a_failed_post_is_retried_then_reported_like_any_http_delivery(world: World) -> None:
    world.http.errors = [HttpFailure("http://chat.test/x", 503), HttpFailure("http://chat.test/x", 400)]
    world.consume(chat_received(GENERIC_THREAD))
    [row] = world.admin.list_deliveries("c-1")
    assert (row.channel, row.status, row.attempts) == ("chat", "failed", 2)
    assert "HTTP 400" in row.last_error
    assert [r["payload"]["thread_id"] for r in world.http.replies] == ["chat-991", "chat-991"]
    assert len({r["delivery_id"] for r in world.http.replies}) == 1  # one delivery, two attempts


def test_the_recorder_keeps_the_thread_only_for_a_chat_or_social_complaint(world: World) -> None:
    world.consume(chat_received(GENERIC_THREAD, channel=complaint_pb2.CHANNEL_SOCIAL))
    with Session(world.dispatcher.engine) as session:
        contact = session.get(db.ComplaintContact, "c-1")
        assert contact is not None and contact.chat_thread == GENERIC_THREAD
    values = Recorder._contact_values(chat_received("chat:slack:bad"), None)
    assert values["chat_thread"] == ""  # not a thread key: not kept (no reply planned on chat)
    web = chat_received(GENERIC_THREAD, channel=complaint_pb2.CHANNEL_WEB)
    assert Recorder._contact_values(web, None)["chat_thread"] == ""


class _Provider(BaseHTTPRequestHandler):
    answer = b'{"ok": true}'
    seen: list[tuple[dict, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        _Provider.seen.append((dict(self.headers.items()), body))
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.answer)))
        self.end_headers()
        self.wfile.write(self.answer)

    def log_message(self, *args: object) -> None:
        pass


def test_the_http_adapter_authorises_signs_and_reads_slacks_ok_false() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/api/chat.postMessage"
    http = HttpChannels(timeout_s=3)
    payload = {"channel": "C02", "thread_ts": "1.2", "text": "hi"}
    try:
        http.chat_reply(url, payload, token="xoxb-1", secret="s3", delivery_id="ntf-1")
        headers, body = _Provider.seen[-1]
        assert json.loads(body) == payload
        assert headers["Authorization"] == "Bearer xoxb-1" and headers["Idempotency-Key"] == "ntf-1"
        assert signing.verify("s3", body, headers[signing.HEADER]) > 0
        _Provider.answer = b'{"ok": false, "error": "channel_not_found"}'
        with pytest.raises(HttpFailure, match="channel_not_found") as refused:
            http.chat_reply(url, payload, token="", secret="", delivery_id="ntf-2")
        assert not is_transient(refused.value)
        assert "Authorization" not in _Provider.seen[-1][0]
        _Provider.answer = b'{"ok": false, "error": "ratelimited"}'
        with pytest.raises(HttpFailure) as limited:
            http.chat_reply(url, payload, token="", secret="", delivery_id="ntf-3")
        assert is_transient(limited.value)
        _Provider.answer = b"ok"  # a bridge answering plain text: fine
        http.chat_reply(url, payload, token="", secret="", delivery_id="ntf-4")
    finally:
        _Provider.answer = b'{"ok": true}'
        server.shutdown()
        server.server_close()
