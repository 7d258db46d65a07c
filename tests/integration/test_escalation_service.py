"""Escalation as a real process on the real broker: cases offered, clocks started and stopped,
overdue deadlines breached exactly once (also across a restart), and SlaService over gRPC."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from kafka import KafkaProducer

from services.common import topics
from services.common.codec import Envelope, encode, new_event
from services.common.pb.haq.v1 import complaint_pb2, escalation_pb2, escalation_pb2_grpc, events_pb2
from services.common.tail import collect
from services.escalation.adapters.directory import load_calendars
from services.escalation.adapters.events import from_timestamp, timestamp

pytestmark = pytest.mark.integration


def produce(settings, *envelopes: Envelope) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    try:
        for env in envelopes:
            record = encode(env)
            producer.send(topics.LIFECYCLE_TOPIC, key=record.key, value=record.value, headers=record.headers)
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=5)


def received(cid: str, at: datetime) -> Envelope:
    complaint = complaint_pb2.Complaint(id=cid, reference="HQ-TEST-01", received_at=timestamp(at))
    return new_event(events_pb2.ComplaintReceived(complaint=complaint), source="/haq/intake", subject=cid)


def routed(cid: str, priority: int) -> Envelope:
    msg = events_pb2.ComplaintRouted(
        complaint_id=cid,
        team="billing",
        owner="agent-7",
        priority=priority,
        sla_policy="healthcare-standard",
        rule_id="test-rule",
    )
    return new_event(msg, source="/haq/routing", subject=cid)


def acknowledged(cid: str, at: datetime) -> Envelope:
    msg = events_pb2.NotificationSent(
        complaint_id=cid,
        notification_id=f"n-{cid}",
        channel="email",
        template="acknowledgement",
        sent_at=timestamp(at),
    )
    return new_event(msg, source="/haq/notifications", subject=cid)


def escalation_events(
    settings, cid: str, until: Callable[[list[Envelope]], bool], timeout: float = 60
) -> list[Envelope]:
    """Escalation's events for one complaint, read from the topic until `until` holds."""

    def mine(records) -> list[Envelope]:
        return [
            r.envelope
            for r in records
            if r.envelope and r.envelope.subject == cid and r.envelope.source == "/haq/escalation"
        ]

    return mine(collect(settings, topics.LIFECYCLE_TOPIC, lambda recs: until(mine(recs)), timeout=timeout))


def has(*names: str) -> Callable[[list[Envelope]], bool]:
    return lambda events: set(names) <= {e.name for e in events}


def sla(settings) -> escalation_pb2_grpc.SlaServiceStub:
    return escalation_pb2_grpc.SlaServiceStub(grpc.insecure_channel(settings.grpc_target("escalation")))


def clocks_of(message) -> dict[str, events_pb2.SlaClock]:
    return {c.name: c for c in message.clocks}


def test_routed_complaint_is_offered_clocked_and_acknowledged(settings, start_service):
    start_service("escalation")
    cid = str(uuid.uuid4())
    received_at = datetime.now(UTC).replace(microsecond=0)
    produce(settings, received(cid, received_at), routed(cid, complaint_pb2.PRIORITY_HIGH))

    events = escalation_events(settings, cid, has("OwnerAssigned", "SlaClocksStarted"))
    owner = next(e for e in events if e.name == "OwnerAssigned").message
    assert (owner.owner, owner.team) == ("agent-7", "billing")
    assert owner.status == complaint_pb2.COMPLAINT_STATUS_OFFERED
    started = next(e for e in events if e.name == "SlaClocksStarted").message
    clocks = clocks_of(started)
    assert set(clocks) == {"acknowledgement", "owner_acceptance", "first_response", "resolution"}
    assert from_timestamp(clocks["acknowledgement"].due_at) == received_at + timedelta(seconds=60)
    # Teams the calendar file does not name work on its default calendar (business hours).
    calendar = load_calendars().for_team("billing")
    assert from_timestamp(clocks["first_response"].due_at) == calendar.add(received_at, timedelta(hours=4))
    accept = clocks["owner_acceptance"]
    assert from_timestamp(owner.accept_by) == from_timestamp(accept.due_at)
    assert from_timestamp(accept.due_at) == calendar.add(
        from_timestamp(accept.started_at), timedelta(minutes=15)
    )
    assert {c.state for c in clocks.values()} == {"running"}

    produce(settings, acknowledged(cid, received_at + timedelta(seconds=3)))
    events = escalation_events(settings, cid, has("SlaClockStopped"))
    stopped = next(e for e in events if e.name == "SlaClockStopped").message.clock
    assert (stopped.name, stopped.state) == ("acknowledgement", "met")
    assert from_timestamp(stopped.stopped_at) == received_at + timedelta(seconds=3)

    # The event is committed with the state change, so the query already shows it.
    resp = sla(settings).GetClocks(escalation_pb2.GetClocksRequest(complaint_id=cid), timeout=5)
    assert (resp.complaint_id, resp.owner, resp.team, resp.policy) == (
        cid,
        "agent-7",
        "billing",
        "healthcare-standard",
    )
    assert resp.status == complaint_pb2.COMPLAINT_STATUS_OFFERED
    assert from_timestamp(resp.accept_by) == from_timestamp(owner.accept_by)
    states = {name: c.state for name, c in clocks_of(resp).items()}
    assert states == {
        "acknowledgement": "met",
        "owner_acceptance": "running",
        "first_response": "running",
        "resolution": "running",
    }


def test_overdue_deadline_breaches_exactly_once_even_across_a_restart(settings, start_service):
    service = start_service("escalation")
    cid = str(uuid.uuid4())
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)  # acknowledgement long overdue, nothing else
    produce(settings, received(cid, an_hour_ago), routed(cid, complaint_pb2.PRIORITY_NORMAL))

    events = escalation_events(settings, cid, has("SlaBreached"))
    breached = [e for e in events if e.name == "SlaBreached"]
    assert [e.id for e in breached] == [f"breach:{cid}:acknowledgement:0"]
    msg = breached[0].message
    assert (msg.clock.name, msg.clock.state, msg.owner, msg.team) == (
        "acknowledgement",
        "breached",
        "agent-7",
        "billing",
    )
    resp = sla(settings).GetClocks(escalation_pb2.GetClocksRequest(complaint_id=cid), timeout=5)
    assert clocks_of(resp)["acknowledgement"].state == "breached"
    assert clocks_of(resp)["first_response"].state == "running"

    # Restart: the deadline is durable and already fired; the new process must not fire it again.
    service.stop()
    service.start()
    later = str(uuid.uuid4())
    produce(
        settings,
        received(later, an_hour_ago + timedelta(seconds=1)),
        routed(later, complaint_pb2.PRIORITY_NORMAL),
    )
    # Deadlines fire earliest first, so once the later one has fired a repeat would already show.
    escalation_events(settings, later, has("SlaBreached"))
    events = escalation_events(settings, cid, lambda _events: False, timeout=2)
    assert [e.name for e in events].count("SlaBreached") == 1
    assert [e.name for e in events].count("OwnerAssigned") == 1  # redelivery applied once


def test_get_clocks_refuses_an_empty_id_and_an_unknown_complaint(settings, start_service):
    start_service("escalation")
    stub = sla(settings)
    with pytest.raises(grpc.RpcError) as empty:
        stub.GetClocks(escalation_pb2.GetClocksRequest(complaint_id="  "), timeout=5)
    assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "complaint_id" in empty.value.details()
    with pytest.raises(grpc.RpcError) as unknown:
        stub.GetClocks(escalation_pb2.GetClocksRequest(complaint_id=str(uuid.uuid4())), timeout=5)
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
