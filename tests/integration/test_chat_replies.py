"""Replies go back on the customer's chat thread, on the real intake and notifications processes
and the broker, with a local HTTP server standing in for the chat provider: a Slack message posted
to intake becomes a complaint whose acknowledgement is posted on the same thread (Slack's
chat.postMessage shape, the bot token), an AgentResponded for it arrives on the same thread too;
a generic-network thread gets the generic shape, signed like webhooks. No email is sent."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest
import yaml

from services.common.codec import new_event
from services.common.pb.haq.v1 import events_pb2
from services.common.settings import Settings
from services.notifications.domain import signing
from tests.integration import test_notifications_channels as channels
from tests.integration.test_chat_channel import post, wait_http
from tests.integration.test_notifications_channels import Receiver, service_env
from tests.integration.test_notifications_service import list_deliveries, produce, wait_for
from tests.unit.test_chat_inbound import generic, slack

pytestmark = pytest.mark.integration

# The channels tests' fixtures: a real SMTP server, a Kafka producer, local HTTP receivers.
mailbox_factory = channels.mailbox_factory
producer = channels.producer
receiver_factory = channels.receiver_factory

TOKEN = "xoxb-test-token"
SECRET = "chat-reply-secret-0123456789"


def write_config(tmp_path: Path, receiver: Receiver) -> Path:
    config = {
        "tenants": {
            "default": {
                "chat": {
                    "webhook_url": receiver.url("/staff"),
                    "reply_url": receiver.url("/api/chat.postMessage"),
                    "reply_token": TOKEN,
                    "reply_secret": SECRET,
                }
            }
        }
    }
    path = tmp_path / "tenants.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def replies(receiver: Receiver) -> list[dict]:
    return [json.loads(r.body) for r in receiver.at("/api/chat.postMessage")]


def test_the_acknowledgement_and_an_agents_reply_arrive_on_the_customers_thread(
    settings: Settings,
    start_service,
    mailbox_factory,
    producer,
    receiver_factory,
    tmp_path: Path,
):
    mailbox = mailbox_factory()
    receiver = receiver_factory()
    start_service("notifications", **service_env(write_config(tmp_path, receiver)))
    start_service("intake")
    wait_http(settings)

    code, made = post(settings, slack(text="My refund never came."))
    assert code == 200 and made["kind"] == "complaint", made
    on_thread = lambda: [p for p in replies(receiver) if p.get("thread_ts") == "1700000000.000100"]  # noqa: E731
    [ack] = wait_for(on_thread, "the acknowledgement on the Slack thread")
    assert (ack["channel"], ack["thread_ts"], ack["mrkdwn"]) == ("C024BE91L", "1700000000.000100", False)
    assert made["reference"] in ack["text"]
    [request] = receiver.at("/api/chat.postMessage")
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert signing.verify(SECRET, request.body, request.headers[signing.HEADER]) > 0

    # The customer writes again in the thread (a follow-up, not a new complaint); the agent answers.
    later = slack(ts="1700000100.000200", thread_ts="1700000000.000100", text="Any news?")
    later["event_id"] = "Ev02"
    code, follow = post(settings, later)
    assert (code, follow["kind"], follow["complaint_id"]) == (200, "follow_up", made["complaint_id"])
    answer = events_pb2.AgentResponded(
        complaint_id=made["complaint_id"], agent="reza", body="Your refund was sent today.", channel=""
    )
    produce(producer, new_event(answer, source="/haq/test", subject=made["complaint_id"]))
    _, reply = wait_for(lambda: (lambda got: got if len(got) >= 2 else None)(on_thread()), "the reply")
    assert (reply["channel"], reply["thread_ts"]) == ("C024BE91L", "1700000000.000100")
    assert "Your refund was sent today." in reply["text"]

    deliveries = {d.template: d for d in list_deliveries(settings, made["complaint_id"])}
    for template in ("acknowledgement", "agent_response"):
        d = deliveries[template]
        assert (d.channel, d.audience, d.status) == ("chat", "customer", "sent"), d
        assert d.recipient == "chat:slack:T111:C024BE91L:1700000000.000100"
    with sqlite3.connect(settings.data_dir / "notifications.db") as db:
        [(text,)] = db.execute(
            "SELECT text FROM deliveries WHERE complaint_id = ? AND template = 'agent_response'",
            (made["complaint_id"],),
        ).fetchall()
    assert reply["text"] == text  # the email template's plain text, as is (no &, < or > in it)

    # A generic network: its shape, on its thread.
    code, other = post(
        settings,
        generic(thread_id="tg-42", message_id="tg-m1", user={"id": "ali", "email": "ali@example.com"}),
    )
    assert code == 200 and other["kind"] == "complaint", other
    [generic_ack] = wait_for(
        lambda: [p for p in replies(receiver) if p.get("thread_id") == "tg-42"], "generic"
    )
    assert generic_ack["network"] == "telegram" and other["reference"] == generic_ack["reference"]
    assert other["reference"] in generic_ack["text"]

    time.sleep(1.0)  # nothing more arrives: one message per event, on the thread, no email
    assert len(on_thread()) == 2
    assert receiver.at("/staff") == []
    assert mailbox.messages == []  # the customer with an email is answered on the thread only
