"""The routing service as a real process on the real broker: ComplaintReceived in, exactly one
ComplaintRouted out per complaint, and RoutingAdmin over real gRPC; and routing's unit of work on a
real PostgreSQL."""

from __future__ import annotations

import uuid

import grpc
import pytest
from kafka import KafkaProducer
from kafka.partitioner.default import murmur2
from sqlmodel import Session

from services.common import topics
from services.common.codec import Envelope, encode, new_event
from services.common.db import create_tables, make_engine
from services.common.pb.haq.v1 import complaint_pb2, events_pb2, routing_pb2, routing_pb2_grpc
from services.common.runtime import EventConsumer
from services.common.settings import Settings
from services.common.tail import TailedRecord, collect
from services.routing.adapters import db
from services.routing.adapters.files import load_directory
from services.routing.admin import seed_rule_set
from services.routing.service import Router, RuleSets

pytestmark = pytest.mark.integration


def partition_of(key: str, partitions: int) -> int:
    """The partition kafka-python's default partitioner (used by the outbox relay) picks for a key."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def complaint_id_on(partition: int, partitions: int) -> str:
    while True:
        cid = str(uuid.uuid4())
        if partition_of(cid, partitions) == partition:
            return cid


def received(
    cid: str, sector: int, role: int, body: str, event_id: str, previous: list[str] = ()
) -> Envelope:
    msg = events_pb2.ComplaintReceived(
        complaint=complaint_pb2.Complaint(
            id=cid,
            reference="HQ-TEST-01",
            tenant="default",
            channel=complaint_pb2.CHANNEL_WEB,
            sector=sector,
            complainant_role=role,
            subject="complaint",
            body=body,
        ),
        history=complaint_pb2.CustomerHistory(previous_owners=list(previous)),
    )
    return new_event(msg, source="/haq/intake", subject=cid, event_id=event_id)


def produce(settings: Settings, envelopes: list[Envelope]) -> None:
    producer = KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", max_in_flight_requests_per_connection=1
    )
    try:
        for env in envelopes:
            record = encode(env)
            producer.send(
                topics.LIFECYCLE_TOPIC, key=record.key, value=record.value, headers=record.headers
            ).get(30)
    finally:
        producer.close()


def routed(records: list[TailedRecord], cid: str | None = None) -> list[TailedRecord]:
    return [
        r
        for r in records
        if r.envelope is not None
        and r.envelope.type == "haq.v1.ComplaintRouted"
        and (cid is None or r.envelope.subject == cid)
    ]


def test_routes_each_complaint_once_and_explains_it_over_grpc(settings: Settings, start_service) -> None:
    start_service("routing")
    n = settings.lifecycle_partitions
    clinical = str(uuid.uuid4())
    # The marker shares the clinical complaint's partition both ways (in and routed out), so once
    # its ComplaintRouted is read, anything the duplicates could have produced was read before it.
    marker = complaint_id_on(partition_of(clinical, n), n)
    first = received(clinical, complaint_pb2.SECTOR_HEALTHCARE, complaint_pb2.COMPLAINANT_ROLE_PATIENT,
                     "They gave me the wrong medication", event_id=f"evt-{clinical}")  # fmt: skip
    again_new_id = received(clinical, complaint_pb2.SECTOR_HEALTHCARE, complaint_pb2.COMPLAINANT_ROLE_PATIENT,
                            "They gave me the wrong medication", event_id=f"evt-{clinical}-resent")  # fmt: skip
    # Persian, typed on an Arabic keyboard (ي ك) with a ZWNJ: the safety override must still win.
    # (Sector general: within education a child at risk goes to the safeguarding lead, builtin-2.)
    persian_safety = received(marker, complaint_pb2.SECTOR_GENERAL, complaint_pb2.COMPLAINANT_ROLE_PARENT,
                              "پسرم را در مدرسه با چاقو تهديد كردند و مي\u200cترسد", event_id=f"evt-{marker}")  # fmt: skip
    produce(settings, [first, first, again_new_id, persian_safety])

    records = collect(settings, topics.LIFECYCLE_TOPIC, until=lambda rs: bool(routed(rs, marker)), timeout=60)

    assert len(routed(records, marker)) == 1, "the Persian safety complaint was not routed"
    clinical_routed = routed(records, clinical)
    assert len(clinical_routed) == 1  # one event however often the trigger arrives
    env = clinical_routed[0].envelope
    assert env is not None
    assert (env.id, env.source, env.subject) == (f"routed:evt-{clinical}", "/haq/routing", clinical)
    msg = env.message
    assert isinstance(msg, events_pb2.ComplaintRouted)
    assert (msg.complaint_id, msg.sector, msg.team) == (clinical, "healthcare", "clinical-governance")
    assert (msg.priority, msg.sla_policy, msg.rule_id) == (
        complaint_pb2.PRIORITY_CRITICAL,
        "healthcare-clinical",
        "healthcare-clinical",
    )
    assert msg.owner and not msg.owner_is_duty_lead
    assert msg.rule_set_version == "builtin-2" and list(msg.required_skills) == ["clinical-review"]
    assert "healthcare-clinical: matched" in msg.explanation

    safety = routed(records, marker)[0].envelope.message  # type: ignore[union-attr]
    assert (safety.team, safety.priority, safety.rule_id) == (
        "safety-security",
        complaint_pb2.PRIORITY_CRITICAL,
        "safety-security",
    )
    assert "safety-override" in safety.tags and "beats every sector rule" in safety.explanation

    with grpc.insecure_channel(settings.grpc_target("routing")) as channel:
        stub = routing_pb2_grpc.RoutingAdminStub(channel)
        decision = stub.GetDecision(routing_pb2.GetDecisionRequest(complaint_id=clinical), timeout=10)
        assert (decision.team, decision.owner, decision.rule_id) == (msg.team, msg.owner, msg.rule_id)
        assert decision.priority == complaint_pb2.PRIORITY_CRITICAL
        assert decision.explanation == msg.explanation and decision.decided_at.seconds > 0

        teams = {t.id: t for t in stub.ListTeams(routing_pb2.ListTeamsRequest(), timeout=10).teams}
        assert {"clinical-governance", "safety-security", "trust-and-safety"} <= set(teams)
        cg = teams["clinical-governance"]
        assert cg.duty_owner and cg.agents[0].id == cg.duty_owner and cg.agents[0].is_lead
        open_counts = {a.id: a.open_assignments for t in teams.values() for a in t.agents}
        assert open_counts[msg.owner] == 1  # counted once despite three deliveries
        assert open_counts[safety.owner] == 1
        assert sum(open_counts.values()) == 2

        with pytest.raises(grpc.RpcError) as missing:
            stub.GetDecision(routing_pb2.GetDecisionRequest(complaint_id="no-such-complaint"), timeout=10)
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.RpcError) as empty:
            stub.GetDecision(routing_pb2.GetDecisionRequest(complaint_id=""), timeout=10)
        assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "complaint_id" in (empty.value.details() or "")


def test_returning_customer_goes_back_to_their_previous_owner(settings: Settings, start_service) -> None:
    start_service("routing")
    cid = str(uuid.uuid4())
    # james.cole is offline, so he cannot take it; zahra.moradi is online with capacity.
    produce(
        settings,
        [
            received(
                cid,
                complaint_pb2.SECTOR_HEALTHCARE,
                complaint_pb2.COMPLAINANT_ROLE_PATIENT,
                "The reception staff were rude again",
                event_id=f"evt-{cid}",
                previous=["james.cole", "zahra.moradi"],
            )  # fmt: skip
        ],
    )
    records = collect(settings, topics.LIFECYCLE_TOPIC, until=lambda rs: bool(routed(rs, cid)), timeout=60)
    msg = routed(records, cid)[0].envelope.message  # type: ignore[union-attr]
    assert (msg.team, msg.owner, msg.owner_is_duty_lead) == ("patient-experience", "zahra.moradi", False)
    assert "handled this customer before" in msg.explanation


def test_routing_tables_and_counts_on_postgres(postgres_db_url: str) -> None:
    """The same unit of work on PostgreSQL: JSON columns, row locks, counts and the queue."""
    engine = make_engine(postgres_db_url)
    assert engine.dialect.name == "postgresql"
    try:
        create_tables(engine, db.MODELS)
        directory = load_directory(Settings().directory_file)
        db.seed_directory(engine, directory)
        db.seed_directory(engine, directory)
        seed_rule_set(engine, {t.id for t in directory.teams})
        consumer = EventConsumer("routing-lifecycle", "routing", engine, relay=None)
        router = Router(RuleSets(), default_tenant="default", fallback_directory="default")
        team = directory.team("contracts")
        assert team is not None
        slots = sum(m.capacity for m in team.members if not m.is_lead)
        for i in range(slots + 1):
            env = received(f"pg-{i}", complaint_pb2.SECTOR_B2B, complaint_pb2.COMPLAINANT_ROLE_BUSINESS_CONTACT,
                           "قرارداد ما نقض شد", event_id=f"evt-pg-{i}")  # fmt: skip
            assert consumer.apply(env, router.on_received)
            assert not consumer.apply(env, router.on_received)
        with Session(engine) as session:
            view = next(v for v in db.list_teams(session, "default") if v.team.id == "contracts")
            last = db.get_decision(session, f"pg-{slots}")
        assert last is not None and (last.owner, last.owner_is_duty_lead) == (team.duty_owner, True)
        # The rule's tag first; triage-1 also flags "contract breached" (نقض, as in a security
        # breach) for the safety lead's review, a false alarm of the review tier (README: Triage).
        assert last.tags[0] == "contract" and set(last.tags) <= {"contract", "safety-review"}
        assert last.required_skills == ["contracts"]
        assert view.queued == 1
        assert [a.open_assignments for a in view.agents] == [1] + [a.capacity for a in team.members[1:]]
    finally:
        engine.dispose()
