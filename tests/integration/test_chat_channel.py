"""The chat/social adapter contract on the real intake process and broker: the first message of a
thread posted to /v1/chat/messages is a ComplaintReceived (channel CHAT, the sender's social
handle), a later message of the thread from the same user a CustomerFollowedUp on that complaint,
a message in the thread from someone else or from a bot nothing; with auth on, a Slack-signed
request is taken and an unsigned one refused."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import time
import urllib.error
import urllib.request

import pytest

from services.common import topics
from services.common.pb.haq.v1 import complaint_pb2 as c
from services.common.tail import collect
from tests.unit.test_chat_inbound import generic, slack

pytestmark = pytest.mark.integration


def post(settings, payload, headers=None) -> tuple[int, dict]:
    url = f"http://{settings.http_host}:{settings.http_port('intake')}/v1/chat/messages"
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    req = urllib.request.Request(url, body, {"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def wait_http(settings, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return post(settings, {"type": "url_verification", "challenge": "ping"})
        except OSError:
            time.sleep(0.2)
    raise TimeoutError("intake's HTTP port did not answer")


def test_a_thread_is_one_complaint_and_its_later_messages_follow_ups(settings, start_service):
    start_service("intake")
    assert wait_http(settings) == (200, {"challenge": "ping"})

    code, first = post(settings, generic())
    assert code == 200 and first["kind"] == "complaint" and first["reference"].startswith("HQ-"), first
    code, again = post(settings, generic())  # the platform's retry: the same complaint, not a follow-up
    assert (code, again["kind"], again["complaint_id"], again["duplicate"]) == (
        200, "complaint", first["complaint_id"], True,
    )  # fmt: skip

    code, follow = post(settings, generic(message_id="m-2", text="Any news?"))
    assert (code, follow["kind"], follow["complaint_id"]) == (200, "follow_up", first["complaint_id"])
    code, other = post(settings, generic(message_id="m-3", user={"id": "agent_reza"}, text="On it"))
    assert (code, other["kind"]) == (200, "ignored")
    code, bad = post(settings, generic(thread_id="a b"))
    assert code == 400 and bad["field"] == "thread_id"

    records = collect(
        settings,
        topics.LIFECYCLE_TOPIC,
        lambda rs: any(r.envelope and r.envelope.type == "haq.v1.CustomerFollowedUp" for r in rs),
    )
    [received] = [
        r.envelope.message.complaint
        for r in records
        if r.envelope and r.envelope.type == "haq.v1.ComplaintReceived"
    ]
    [followed] = [
        r.envelope.message for r in records if r.envelope and r.envelope.type == "haq.v1.CustomerFollowedUp"
    ]
    assert received.channel == c.CHANNEL_CHAT and received.customer.social[0].handle == "sara_a"
    assert received.metadata["chat_thread"] == "chat:telegram:chat-991"
    assert followed.complaint_id == received.id and followed.body == "Any news?"
    with sqlite3.connect(settings.data_dir / "intake.db") as db:
        assert db.execute("SELECT count(*) FROM complaints").fetchone()[0] == 1
        assert db.execute("SELECT count(*) FROM follow_ups").fetchone()[0] == 1


def test_with_auth_on_a_slack_signed_request_is_taken_and_an_unsigned_one_refused(settings, start_service):
    from services.common.auth import mint_token

    secret = "slack-signing-secret"
    start_service(
        "intake",
        HAQ_AUTH_SECRET="auth-secret-for-the-chat-channel-test-0123456789",
        HAQ_CHAT_SLACK_SIGNING_SECRET=secret,
    )
    body = json.dumps(slack()).encode()
    deadline = time.monotonic() + 30
    while True:
        try:
            code, refused = post(settings, body)
            break
        except OSError:
            assert time.monotonic() < deadline
            time.sleep(0.2)
    assert code == 401 and refused["field"] == "authorization"
    stamp = str(int(time.time()))
    sig = "v0=" + hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    code, got = post(settings, body, {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sig})
    assert code == 200 and got["kind"] == "complaint", got
    reply = json.dumps(
        slack(ts="1700000050.000200", thread_ts="1700000000.000100", text="Still waiting")
    ).encode()
    reply_doc = json.loads(reply)
    reply_doc["event_id"] = "Ev02"
    reply = json.dumps(reply_doc).encode()
    sig = (
        "v0=" + hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + reply, hashlib.sha256).hexdigest()
    )
    code, got2 = post(settings, reply, {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sig})
    assert (code, got2["kind"], got2["complaint_id"]) == (200, "follow_up", got["complaint_id"])
    # A generic integration posts with a bearer token, as to /v1/events.
    token = mint_token("auth-secret-for-the-chat-channel-test-0123456789", "crm", "default", ["integration"])
    code, got3 = post(settings, generic(), {"Authorization": f"Bearer {token}"})
    assert code == 200 and got3["kind"] == "complaint", got3
