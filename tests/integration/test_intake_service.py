"""Intake as a real process on the real broker: every channel, bad input, idempotency, identity,
and the outbox surviving SIGKILL."""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.error
import urllib.request
import uuid

import grpc
import pytest
from confluent_kafka import Producer

from services.common import topics
from services.common.pb.haq.v1 import complaint_pb2 as c
from services.common.pb.haq.v1 import intake_pb2, intake_pb2_grpc
from services.common.tail import collect

pytestmark = pytest.mark.integration


def stub(settings):
    return intake_pb2_grpc.IntakeServiceStub(grpc.insecure_channel(settings.grpc_target("intake")))


def submit(settings, **draft):
    draft.setdefault("channel", c.CHANNEL_WEB)
    draft.setdefault("body", "The parcel arrived broken.")
    return stub(settings).SubmitComplaint(
        intake_pb2.SubmitComplaintRequest(draft=c.ComplaintDraft(**draft)), timeout=10
    )


def received_for(settings, complaint_id, timeout=30, until_type="haq.v1.ComplaintReceived"):
    """Events of one complaint on the lifecycle topic, read until one of `until_type` is seen."""

    def found(records):
        return any(
            r.envelope and r.envelope.subject == complaint_id and r.envelope.type == until_type
            for r in records
        )

    records = collect(settings, topics.LIFECYCLE_TOPIC, found, timeout=timeout)
    return [r for r in records if r.envelope and r.envelope.subject == complaint_id]


def until_case(settings, ref, predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        case = stub(settings).GetComplaint(intake_pb2.GetComplaintRequest(complaint=ref), timeout=5)
        if predicate(case) or time.monotonic() > deadline:
            return case
        time.sleep(0.2)


def test_grpc_submission_is_recorded_and_announced_with_cloudevents_headers(settings, start_service):
    start_service("intake")
    resp = submit(
        settings,
        sector=c.SECTOR_HEALTHCARE,
        complainant_role=c.COMPLAINANT_ROLE_PATIENT,
        customer=c.CustomerIdentifiers(email="Patient@Example.com"),
        subject="داروی اشتباه",
        body="به مادرم داروی اشتباه دادند",
    )
    assert resp.reference.startswith("HQ-") and resp.language == "fa"
    [record] = received_for(settings, resp.complaint_id)
    env = record.envelope
    assert env.type == "haq.v1.ComplaintReceived"
    assert env.source == "/haq/intake"
    assert env.message.complaint.reference == resp.reference
    assert env.message.complaint.sector == c.SECTOR_HEALTHCARE
    # the case file projects the lifecycle topic back into intake
    case = until_case(settings, resp.reference, lambda k: len(k.timeline) >= 1)
    assert [t.type for t in case.timeline] == ["ComplaintReceived"]
    assert case.status == c.COMPLAINT_STATUS_RECEIVED


def test_same_idempotency_key_gives_one_complaint(settings, start_service):
    start_service("intake")
    key = f"order-{uuid.uuid4()}"
    first = submit(settings, customer=c.CustomerIdentifiers(email="a@example.com"), idempotency_key=key)
    second = submit(settings, customer=c.CustomerIdentifiers(email="a@example.com"), idempotency_key=key)
    assert second.complaint_id == first.complaint_id and second.duplicate and not first.duplicate
    listing = stub(settings).ListCustomerComplaints(
        intake_pb2.ListCustomerComplaintsRequest(customer_id=first.customer_id), timeout=5
    )
    assert [x.complaint_id for x in listing.complaints] == [first.complaint_id]


def test_customer_known_by_email_is_recognised_when_calling_by_phone(settings, start_service):
    start_service("intake")
    by_email = submit(
        settings, channel=c.CHANNEL_EMAIL, customer=c.CustomerIdentifiers(email="sara@example.com")
    )
    linking = submit(
        settings,
        channel=c.CHANNEL_CHAT,
        customer=c.CustomerIdentifiers(email="SARA@example.com", phone="0912 345 6789"),
    )
    by_phone = submit(
        settings, channel=c.CHANNEL_PHONE, customer=c.CustomerIdentifiers(phone="+989123456789")
    )
    assert by_email.customer_id == linking.customer_id == by_phone.customer_id
    listing = stub(settings).ListCustomerComplaints(
        intake_pb2.ListCustomerComplaintsRequest(identifiers=c.CustomerIdentifiers(phone="09123456789")),
        timeout=5,
    )
    assert [x.complaint_id for x in listing.complaints] == [
        by_email.complaint_id,
        linking.complaint_id,
        by_phone.complaint_id,
    ]
    assert list(listing.customer.phones) == ["+989123456789"]
    # routing sees the history: the third complaint arrives as a returning customer's
    [record] = received_for(settings, by_phone.complaint_id)
    assert record.envelope.message.history.previous_complaints == 2


@pytest.mark.parametrize(
    "draft, field",
    [
        (
            c.ComplaintDraft(channel=c.CHANNEL_WEB, customer=c.CustomerIdentifiers(email="x@example.com")),
            "draft.body",
        ),
        (c.ComplaintDraft(body="b", customer=c.CustomerIdentifiers(email="x@example.com")), "draft.channel"),
        (
            c.ComplaintDraft(channel=c.CHANNEL_WEB, body="b", customer=c.CustomerIdentifiers(phone="12")),
            "draft.customer.phone",
        ),
        (
            c.ComplaintDraft(
                channel=c.CHANNEL_WEB,
                body="b",
                customer=c.CustomerIdentifiers(email="x@example.com"),
                purchase_date="yesterday",
            ),
            "draft.purchase_date",
        ),
    ],
)
def test_bad_grpc_input_is_invalid_argument_naming_the_field(settings, start_service, draft, field):
    start_service("intake")
    with pytest.raises(grpc.RpcError) as err:
        stub(settings).SubmitComplaint(intake_pb2.SubmitComplaintRequest(draft=draft), timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details().startswith(field + ":")


def test_unknown_complaint_is_not_found(settings, start_service):
    start_service("intake")
    with pytest.raises(grpc.RpcError) as err:
        stub(settings).GetComplaint(intake_pb2.GetComplaintRequest(complaint="HQ-0000-00"), timeout=5)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_raw_topic_cloudevent_from_an_independent_client_becomes_a_complaint_and_bad_ones_are_dead_lettered(
    settings, start_service
):
    start_service("intake")
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})  # librdkafka, not our code
    run = uuid.uuid4().hex[:8]
    bad_bytes = b'{"specversion": "1.0", "id": "broken-' + run.encode() + b'"'  # truncated JSON
    bad_field = {
        "specversion": "1.0",
        "id": f"bad-{run}",
        "source": "partner/crm",
        "type": "haq.complaint.submitted.v1",
        "data": {"channel": "web", "customer": {"email": "not-an-email"}, "body": "x"},
    }
    good = {
        "specversion": "1.0",
        "id": f"good-{run}",
        "source": "partner/crm",
        "type": "haq.complaint.submitted.v1",
        "datacontenttype": "application/json",
        "data": {
            "channel": "partner",
            "sector": "b2b",
            "complainant_role": "business_contact",
            "customer": {"account_id": f"ACME-{run}"},
            "subject": "SLA missed",
            "body": "Our contract promises a 4 hour response.",
        },
    }
    for value in (
        bad_bytes,
        json.dumps(bad_field).encode(),
        json.dumps(good).encode(),
        json.dumps(good).encode(),
    ):
        producer.produce(topics.RAW_TOPIC, value=value, key=run.encode())
    producer.flush(10)

    letters = collect(
        settings,
        topics.DEAD_LETTER_TOPIC,
        lambda rs: (
            sum(1 for r in rs if r.envelope and run in r.envelope.message.original_value.decode()) >= 2
        ),
    )
    mine = [
        r.envelope.message
        for r in letters
        if r.envelope and run in r.envelope.message.original_value.decode()
    ]
    assert {m.original_value for m in mine} == {bad_bytes, json.dumps(bad_field).encode()}
    reasons = sorted(m.reason for m in mine)
    assert any(r.startswith("data.customer.email:") for r in reasons)
    assert any("not a structured-mode JSON CloudEvent" in r for r in reasons)

    # the good event, posted twice, became exactly one complaint; the consumer kept going
    deadline = time.monotonic() + 30
    while True:
        try:
            listing = stub(settings).ListCustomerComplaints(
                intake_pb2.ListCustomerComplaintsRequest(
                    identifiers=c.CustomerIdentifiers(account_id=f"ACME-{run}")
                ),
                timeout=5,
            )
            break
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND or time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    time.sleep(1.0)  # give a wrongly-duplicated second complaint the chance to show up
    listing = stub(settings).ListCustomerComplaints(
        intake_pb2.ListCustomerComplaintsRequest(customer_id=listing.customer.customer_id), timeout=5
    )
    assert len(listing.complaints) == 1
    assert listing.complaints[0].sector == c.SECTOR_B2B


def post(url, body: bytes, headers: dict[str, str]):
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_http_cloudevents_endpoint_binary_and_structured_modes(settings, start_service):
    start_service("intake")
    url = f"http://{settings.http_host}:{settings.intake_http_port}/v1/events"
    run = uuid.uuid4().hex[:8]
    status, body = post(
        url,
        json.dumps(
            {"channel": "email", "customer": {"email": f"{run}@example.com"}, "body": "Refund?"}
        ).encode(),
        {
            "content-type": "application/json",
            "ce-specversion": "1.0",
            "ce-id": f"hook-{run}",
            "ce-source": "helpdesk/webhook",
            "ce-type": "haq.complaint.submitted.v1",
        },
    )
    assert status == 202 and body["reference"].startswith("HQ-") and body["duplicate"] is False

    structured = {
        "specversion": "1.0",
        "id": f"hook-{run}",
        "source": "helpdesk/webhook",
        "type": "haq.complaint.submitted.v1",
        "data": {"channel": "email", "customer": {"email": f"{run}@example.com"}, "body": "Refund?"},
    }
    status, again = post(
        url, json.dumps(structured).encode(), {"content-type": "application/cloudevents+json"}
    )
    assert status == 202 and again["complaint_id"] == body["complaint_id"] and again["duplicate"] is True

    status, follow = post(
        url,
        json.dumps(
            {
                "specversion": "1.0",
                "id": f"fu-{run}",
                "source": "helpdesk/webhook",
                "type": "haq.complaint.followup.v1",
                "data": {"complaint": body["reference"], "body": "Any news?"},
            }
        ).encode(),
        {"content-type": "application/cloudevents+json"},
    )
    assert status == 202 and follow["complaint_id"] == body["complaint_id"]

    status, err = post(
        url,
        json.dumps(
            {**structured, "id": f"x-{run}", "data": {"channel": "email", "body": "no customer"}}
        ).encode(),
        {"content-type": "application/cloudevents+json"},
    )
    assert status == 400 and err["field"] == "data.customer"
    status, err = post(url, b"{not json", {"content-type": "application/cloudevents+json"})
    assert status == 400 and err["field"] == "event"
    status, err = post(
        url,
        json.dumps(
            {
                "specversion": "1.0",
                "id": f"fu-unknown-{run}",
                "source": "helpdesk/webhook",
                "type": "haq.complaint.followup.v1",
                "data": {"complaint": "HQ-0000-00", "body": "Any news?"},
            }
        ).encode(),
        {"content-type": "application/cloudevents+json"},
    )
    assert status == 400 and err["field"] == "data.complaint"

    events = received_for(settings, body["complaint_id"], until_type="haq.v1.CustomerFollowedUp")
    assert [r.envelope.type for r in events] == ["haq.v1.ComplaintReceived", "haq.v1.CustomerFollowedUp"]
    assert events[1].envelope.message.body == "Any news?"


def test_a_complaint_answered_before_sigkill_still_reaches_the_topic_after_restart(settings, start_service):
    # The relay is off in the first life, so the only copy of the event is the outbox row
    # committed with the complaint: nothing but the outbox can deliver it.
    first_life = start_service("intake", HAQ_OUTBOX_RELAY_ENABLED="false")
    resp = submit(settings, customer=c.CustomerIdentifiers(email="crash@example.com"))
    first_life.kill()

    db = sqlite3.connect(settings.data_dir / "intake.db")
    pending = db.execute("select event_id from outbox where published_at is null").fetchall()
    db.close()
    assert (f"received:{resp.complaint_id}",) in pending

    start_service("intake")
    records = received_for(settings, resp.complaint_id)
    assert [r.envelope.type for r in records] == ["haq.v1.ComplaintReceived"]
    assert records[0].envelope.message.complaint.reference == resp.reference


def test_hostile_input_is_refused_on_every_channel_naming_the_field(settings, start_service):
    """Recipient injection, NUL characters (PostgreSQL refuses them) and oversized fields are
    INVALID_ARGUMENT over gRPC and 400 over HTTP, naming the field: one validation for all channels."""
    start_service("intake")
    customer = c.CustomerIdentifiers(email="x@example.com")
    cases = [
        (
            c.CustomerIdentifiers(email="victim@example.com,postmaster"),
            {},
            "draft.customer.email: one address",
        ),
        (
            c.CustomerIdentifiers(email="victim@example.com\r\nBcc: a@b.co"),
            {},
            "draft.customer.email: must not",
        ),
        (customer, {"body": "It broke\x00"}, "draft.body: must not contain NUL"),
        (customer, {"metadata": {"order": "\x00"}}, "draft.metadata['order']: must not contain NUL"),
        (customer, {"product": "p" * 201}, "draft.product: at most 200 characters"),
        (customer, {"body": "b" * 20_001}, "draft.body: at most 20000 characters"),
    ]
    for ids, fields, expected in cases:
        draft = c.ComplaintDraft(channel=c.CHANNEL_WEB, body="It broke", customer=ids)
        for name, value in fields.items():
            if name == "metadata":
                draft.metadata.update(value)
            else:
                setattr(draft, name, value)
        with pytest.raises(grpc.RpcError) as err:
            stub(settings).SubmitComplaint(intake_pb2.SubmitComplaintRequest(draft=draft), timeout=10)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert err.value.details().startswith(expected), err.value.details()

    url = f"http://{settings.http_host}:{settings.intake_http_port}/v1/events"
    status, err = post(
        url,
        json.dumps(
            {
                "specversion": "1.0",
                "id": f"nul-{uuid.uuid4().hex[:8]}",
                "source": "helpdesk/webhook",
                "type": "haq.complaint.submitted.v1",
                "data": {
                    "channel": "email",
                    "customer": {"email": "x@example.com"},
                    "body": "It\u0000 broke",
                },
            }
        ).encode(),
        {"content-type": "application/cloudevents+json"},
    )
    assert status == 400 and err["field"] == "data.body", err


def test_complaints_and_follow_ups_with_the_same_cloudevent_id_are_not_duplicates_of_each_other(
    settings, start_service
):
    start_service("intake")
    url = f"http://{settings.http_host}:{settings.intake_http_port}/v1/events"
    run = uuid.uuid4().hex[:8]
    structured = {"content-type": "application/cloudevents+json"}

    def complaint(source, event_id, email):
        data = {"channel": "email", "customer": {"email": email}, "body": "Refund?"}
        event = {"specversion": "1.0", "id": event_id, "source": source, "type": "haq.complaint.submitted.v1"}
        return post(url, json.dumps({**event, "data": data}).encode(), structured)

    status, sara = complaint("helpdesk", f"c-{run}", f"sara-{run}@example.com")
    assert status == 202
    follow_up = {
        "specversion": "1.0",
        "id": f"shared-{run}",
        "source": "helpdesk",
        "type": "haq.complaint.followup.v1",
        "data": {"complaint": sara["reference"], "body": "Any news?"},
    }
    status, fu = post(url, json.dumps(follow_up).encode(), structured)
    assert status == 202 and fu["duplicate"] is False

    # Reza's complaint happens to carry the follow-up's (source, id): it is his own, new complaint.
    status, reza = complaint("helpdesk", f"shared-{run}", f"reza-{run}@example.com")
    assert status == 202 and reza["duplicate"] is False
    assert reza["reference"] != sara["reference"] and reza["customer_id"] != sara["customer_id"]

    # ("a:b", "c") and ("a", "b:c") were one key, "ce:a:b:c"
    status, one = complaint(f"a-{run}:b", "c", f"one-{run}@example.com")
    status2, two = complaint(f"a-{run}", "b:c", f"two-{run}@example.com")
    assert (status, status2) == (202, 202) and two["duplicate"] is False
    assert two["complaint_id"] != one["complaint_id"]
    status, again = complaint(f"a-{run}", "b:c", f"two-{run}@example.com")
    assert again["duplicate"] is True and again["complaint_id"] == two["complaint_id"]


def test_a_cloudevent_without_an_id_is_refused_not_given_a_new_id_on_every_retry(settings, start_service):
    start_service("intake")
    url = f"http://{settings.http_host}:{settings.intake_http_port}/v1/events"
    run = uuid.uuid4().hex[:8]
    event = {
        "specversion": "1.0",
        "source": "helpdesk/webhook",
        "type": "haq.complaint.submitted.v1",
        "data": {"channel": "email", "customer": {"email": f"{run}@example.com"}, "body": "Refund?"},
    }
    for _retry in range(2):
        status, body = post(url, json.dumps(event).encode(), {"content-type": "application/cloudevents+json"})
        assert status == 400 and "id: required" in body["error"], body
    binary = {
        "content-type": "application/json",
        "ce-specversion": "1.0",
        "ce-source": "helpdesk/webhook",
        "ce-type": "haq.complaint.submitted.v1",
    }
    status, body = post(url, json.dumps(event["data"]).encode(), binary)
    assert status == 400 and "id: required" in body["error"], body
