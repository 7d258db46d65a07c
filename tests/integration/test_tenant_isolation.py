"""Tenant and team isolation that holds (issue #10, item 15), on the real services with auth on.

- intake: a customer's profile is shown to an agent only through a complaint of their teams; with
  none visible it is NOT_FOUND exactly like an unknown customer, and a list holds only visible
  complaints (tenant-wide staff still see every complaint of their tenant);
- notifications: a tenant without a directory of its own gets routing's default directory (the
  rule routing routes by), so its staff are still found for their mails;
- escalation: the directory (who may receive a transfer, who is told when a deadline is missed)
  and the response guard (block or warn) are the complaint's tenant's, not the operator tenant's.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from services.common import topics
from services.common.auth import authorized_channel, mint_token
from services.common.codec import Envelope, decode, encode, new_event
from services.common.db import create_tables, make_engine
from services.common.pb.haq.v1 import complaint_pb2 as c
from services.common.pb.haq.v1 import (
    escalation_pb2,
    escalation_pb2_grpc,
    events_pb2,
    intake_pb2,
    intake_pb2_grpc,
)
from services.common.settings import Settings
from services.escalation.adapters.events import timestamp
from services.notifications.adapters.directory import RoutingDirectory
from services.routing.adapters import db as routing_db
from services.routing.adapters.files import load_directory

pytestmark = pytest.mark.integration

SECRET = "isolation-test-secret-0123456789-abcdefghijkl"
HOME = "default"  # HAQ_TENANT, and the tenant of routing's seeded directory
ACME = "acme"  # a tenant with a directory of its own (and a guard that blocks)
BARE = "tenant-b"  # a tenant without a directory: routing serves it from the default one
SEEDED_LEAD = "leila.ahmadi"  # general-care's lead in routing's seeded directory
SEEDED_AGENT = "reza.karimi"


def token(roles: list[str], tenant: str = HOME, subject: str = "tester", teams: tuple[str, ...] = ()) -> str:
    return mint_token(SECRET, subject, tenant, roles, teams)


def code_and_details(call: Callable[[], Any]) -> tuple[grpc.StatusCode, str]:
    try:
        call()
    except grpc.RpcError as err:
        return err.code(), err.details() or ""
    return grpc.StatusCode.OK, ""


def wait_for(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} not seen within {timeout:.0f} s"
        time.sleep(0.2)


def produce(settings: Settings, *envelopes: Envelope) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    try:
        for env in envelopes:
            record = encode(env)
            producer.send(topics.LIFECYCLE_TOPIC, key=record.key, value=record.value, headers=record.headers)
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=5)


def received(cid: str, tenant: str, received_at: datetime | None = None) -> Envelope:
    complaint = c.Complaint(id=cid, tenant=tenant, reference=f"HQ-{cid[:8]}", subject="Broken kettle")
    if received_at is not None:
        complaint.received_at.CopyFrom(timestamp(received_at))
    return new_event(events_pb2.ComplaintReceived(complaint=complaint), source="/haq/intake", subject=cid)


def escalations(settings: Settings, complaint_id: str, timeout: float = 60) -> list[Any]:
    """The Escalated events of a complaint on the lifecycle topic (read from the beginning without
    a consumer group), once at least one is there."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    try:
        partitions = [
            TopicPartition(topics.LIFECYCLE_TOPIC, p)
            for p in consumer.partitions_for_topic(topics.LIFECYCLE_TOPIC) or ()
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        found: list[Any] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=1000)
            for records in batch.values():
                for record in records:
                    event = decode(record.key, record.value, record.headers)
                    if event.subject == complaint_id and event.name == "Escalated":
                        found.append(event.message)
            if found and not batch:
                return found  # caught up with the topic
        raise AssertionError(f"no Escalated event for {complaint_id} within {timeout:.0f} s")
    finally:
        consumer.close()


def routed(cid: str, team: str, owner: str) -> Envelope:
    """What routing would announce (for intake alone, without routing running)."""
    msg = events_pb2.ComplaintRouted(
        complaint_id=cid,
        team=team,
        owner=owner,
        priority=c.PRIORITY_NORMAL,
        sla_policy="healthcare-standard",
        rule_id="isolation-test",
    )
    return new_event(msg, source="/haq/routing", subject=cid)


# --- intake: profiles ------------------------------------------------------------------------


def test_a_customer_profile_is_shown_only_through_a_complaint_the_caller_may_see(settings, start_service):
    start_service("intake", HAQ_AUTH_SECRET=SECRET)
    target = settings.grpc_target("intake")

    def intake(bearer: str) -> intake_pb2_grpc.IntakeServiceStub:
        return intake_pb2_grpc.IntakeServiceStub(authorized_channel(target, bearer))

    email = f"profile-{uuid.uuid4().hex[:8]}@example.com"
    submitter = intake(token(["integration"]))
    ids = []
    for subject in ("Broken kettle", "Late refund"):
        ids.append(
            submitter.SubmitComplaint(
                intake_pb2.SubmitComplaintRequest(
                    draft=c.ComplaintDraft(
                        channel=c.CHANNEL_EMAIL,
                        customer=c.CustomerIdentifiers(email=email, display_name="Nasrin Example"),
                        subject=subject,
                        body="It stopped working after two days and nobody answers.",
                    )
                ),
                timeout=10,
            ).complaint_id
        )
    # Routing gives the first complaint to general-care; the second is not routed yet.
    produce(settings, routed(ids[0], "general-care", SEEDED_AGENT))
    ops = intake(token(["ops"]))
    wait_for(
        lambda: (
            ops.GetComplaint(intake_pb2.GetComplaintRequest(complaint=ids[0]), timeout=5).team
            == "general-care"
        ),
        "intake learning the complaint's team",
    )

    by_email = intake_pb2.ListCustomerComplaintsRequest(identifiers=c.CustomerIdentifiers(email=email))
    unknown = intake_pb2.ListCustomerComplaintsRequest(
        identifiers=c.CustomerIdentifiers(email=f"nobody-{uuid.uuid4().hex[:8]}@example.com")
    )
    outsider = intake(token(["agent"], subject="someone", teams=("privacy-office",)))
    hidden = code_and_details(lambda: outsider.ListCustomerComplaints(by_email, timeout=10))
    missing = code_and_details(lambda: outsider.ListCustomerComplaints(unknown, timeout=10))
    assert missing[0] == grpc.StatusCode.NOT_FOUND
    assert hidden == missing  # the profile of a customer none of whose complaints they see: unknown

    # The same by customer id, and for a team lead of another team.
    profile = ops.ListCustomerComplaints(by_email, timeout=10)
    by_id = intake_pb2.ListCustomerComplaintsRequest(customer_id=profile.customer.customer_id)
    assert code_and_details(lambda: outsider.ListCustomerComplaints(by_id, timeout=10)) == missing
    other_lead = intake(token(["team_lead"], subject="lead", teams=("privacy-office",)))
    assert code_and_details(lambda: other_lead.ListCustomerComplaints(by_email, timeout=10)) == missing

    # An agent of general-care sees the profile and only the complaint of their team.
    member = intake(token(["agent"], subject=SEEDED_AGENT, teams=("general-care",)))
    mine = member.ListCustomerComplaints(by_email, timeout=10)
    assert mine.customer.emails == [email]
    assert [s.complaint_id for s in mine.complaints] == [ids[0]]

    # Tenant-wide staff see every complaint of their tenant, routed or not.
    assert [s.complaint_id for s in profile.complaints] == ids
    whole_tenant_lead = intake(token(["team_lead"], subject="head"))
    assert [
        s.complaint_id for s in whole_tenant_lead.ListCustomerComplaints(by_id, timeout=10).complaints
    ] == ids
    # Another tenant's staff: NOT_FOUND as before.
    stranger = intake(token(["admin"], tenant=ACME))
    assert code_and_details(lambda: stranger.ListCustomerComplaints(by_id, timeout=10))[0] == (
        grpc.StatusCode.NOT_FOUND
    )


# --- routing with two tenants' directories ---------------------------------------------------


def seed_acme_directory(settings: Settings, tmp_path: Path) -> None:
    """Routing's own database gets a second tenant's directory (as a second routing deployment's
    seed file would give it), written with routing's own adapter before routing starts."""
    acme = {
        "tenant": ACME,
        "teams": [
            {
                "id": "general-care",
                "name": "General care",
                "manager": "acme.manager",
                "director": "acme.director",
                "time_zone": "Asia/Tehran",
                "lead": {
                    "id": "acme.lead",
                    "name": "Acme Lead",
                    "email": "acme.lead@acme.example",
                    "capacity": 5,
                },
                "agents": [
                    {
                        "id": "acme.agent",
                        "name": "Acme Agent",
                        "email": "acme.agent@acme.example",
                        "capacity": 5,
                    }
                ],
            },
            {
                "id": "privacy-office",
                "name": "Privacy office",
                "time_zone": "Asia/Tehran",
                "lead": {
                    "id": "acme.privacy",
                    "name": "Acme Privacy",
                    "email": "privacy@acme.example",
                    "capacity": 5,
                },
            },
        ],
    }
    path = tmp_path / "acme-directory.yaml"
    path.write_text(yaml.safe_dump(acme))
    engine = make_engine(settings.database_url("routing"))
    create_tables(engine, routing_db.MODELS)
    routing_db.seed_directory(engine, load_directory(path))
    engine.dispose()


def test_notifications_finds_the_staff_of_a_tenant_without_a_directory_in_the_default_one(
    settings, start_service, tmp_path
):
    seed_acme_directory(settings, tmp_path)
    start_service("routing", HAQ_AUTH_SECRET=SECRET)
    service_token = settings.model_copy(update={"auth_secret": SECRET}).service_token()
    directory = RoutingDirectory(settings.grpc_target("routing"), token=service_token, timeout_s=5)
    try:
        home = directory.snapshot(HOME)
        bare = directory.snapshot(BARE)  # routing's ListTeams: NOT_FOUND for this tenant
        acme = directory.snapshot(ACME)
    finally:
        directory.close()
    # Routing routes tenant-b's complaints to the default directory's teams: their people are
    # the ones to tell (before the fix: an empty directory, and staff mails were dropped).
    assert bare.people and bare == home
    assert bare.people[SEEDED_LEAD].email == f"{SEEDED_LEAD}@haq.local"
    assert bare.teams["general-care"].lead == SEEDED_LEAD
    # A tenant with its own directory keeps it: no default staff in it, none of it elsewhere.
    assert set(acme.people) == {"acme.lead", "acme.agent", "acme.privacy"}
    assert acme.teams["general-care"].manager == "acme.manager"
    assert not set(acme.people) & set(home.people)


# --- escalation: directory and guard of the complaint's tenant --------------------------------


def write_tenants(tmp_path: Path) -> Path:
    config = {
        "tenants": {
            HOME: {"guard_mode": "warn"},
            ACME: {"guard_mode": "block"},
        }
    }
    path = tmp_path / "tenants.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_escalation_uses_the_complaints_tenant_for_its_directory_and_response_guard(
    settings, start_service, tmp_path
):
    seed_acme_directory(settings, tmp_path)
    start_service("routing", HAQ_AUTH_SECRET=SECRET)
    start_service(
        "notifications", HAQ_AUTH_SECRET=SECRET, HAQ_NOTIFY_CONFIG_FILE=str(write_tenants(tmp_path))
    )
    start_service("escalation", HAQ_AUTH_SECRET=SECRET)
    target = settings.grpc_target("escalation")

    def cases(tenant: str) -> escalation_pb2_grpc.CaseServiceStub:
        return escalation_pb2_grpc.CaseServiceStub(
            authorized_channel(target, token(["admin"], tenant=tenant))
        )

    def sla(tenant: str) -> escalation_pb2_grpc.SlaServiceStub:
        return escalation_pb2_grpc.SlaServiceStub(authorized_channel(target, token(["admin"], tenant=tenant)))

    # Routing routes each complaint on its tenant's directory (tenant-b's on the default one).
    ids = {tenant: str(uuid.uuid4()) for tenant in (ACME, HOME, BARE)}
    produce(settings, *(received(cid, tenant) for tenant, cid in ids.items()))

    def offered_to(tenant: str) -> str:
        try:
            clocks = sla(tenant).GetClocks(
                escalation_pb2.GetClocksRequest(complaint_id=ids[tenant]), timeout=5
            )
        except grpc.RpcError as err:
            if err.code() == grpc.StatusCode.NOT_FOUND:
                return ""
            raise
        return clocks.owner

    owners = {}
    for tenant in ids:
        owners[tenant] = wait_for(lambda tenant=tenant: offered_to(tenant), f"the {tenant} case offered", 90)
        cases(tenant).Accept(
            escalation_pb2.AcceptRequest(complaint_id=ids[tenant], agent=owners[tenant]), timeout=10
        )
    assert owners[ACME].startswith("acme.")
    assert not owners[HOME].startswith("acme.") and not owners[BARE].startswith("acme.")

    def transfer(tenant: str, to_owner: str) -> tuple[grpc.StatusCode, str]:
        request = escalation_pb2.RequestTransferRequest(
            complaint_id=ids[tenant],
            agent=owners[tenant],
            to_team="privacy-office",
            to_owner=to_owner,
            reason="a data-protection question",
        )
        return code_and_details(lambda: cases(tenant).RequestTransfer(request, timeout=10))

    # The receiver is checked against the complaint's tenant's directory (before the fix, against
    # the operator tenant's, so acme's own people were "not a member" and the default's were).
    assert transfer(HOME, "acme.privacy")[0] == grpc.StatusCode.INVALID_ARGUMENT
    assert transfer(ACME, "farhad.sadeghi")[0] == grpc.StatusCode.INVALID_ARGUMENT
    assert transfer(ACME, "acme.privacy") == (grpc.StatusCode.OK, "")
    # A tenant without a directory is served by the default one, as routing serves it.
    assert transfer(BARE, "farhad.sadeghi") == (grpc.StatusCode.OK, "")

    deflecting = "Sorry, it's not our department, please ask the shop."

    def respond(tenant: str) -> Any:
        request = escalation_pb2.RespondRequest(
            complaint_id=ids[tenant], agent=owners[tenant], body=deflecting, language="en"
        )
        return cases(tenant).Respond(request, timeout=10)

    # acme's guard blocks (before the fix the operator tenant's guard only warned).
    code, details = code_and_details(lambda: respond(ACME))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert "response guard refused" in details and "deflection" in details
    # The operator tenant's guard warns: the reply goes out with the finding.
    reply = respond(HOME)
    assert reply.guard_ran and [w.rule for w in reply.warnings] == ["deflection"]
    # Another tenant's case: NOT_FOUND before the guard is asked (its verdict would tell the
    # caller which tenant's settings apply, i.e. that the case exists).
    stranger = escalation_pb2_grpc.CaseServiceStub(authorized_channel(target, token(["admin"], tenant=HOME)))
    hidden = code_and_details(
        lambda: stranger.Respond(
            escalation_pb2.RespondRequest(complaint_id=ids[ACME], agent="acme.agent", body=deflecting),
            timeout=10,
        )
    )
    assert hidden[0] == grpc.StatusCode.NOT_FOUND

    # A missed deadline tells the complaint's tenant's ladder (before the fix, the operator
    # tenant's: general-care's seeded lead heard of acme's complaints). Received three minutes
    # ago, its acknowledgement (60 s) is overdue as soon as its case opens.
    late = str(uuid.uuid4())
    produce(settings, received(late, ACME, datetime.now(UTC) - timedelta(minutes=3)))
    told = escalations(settings, late, timeout=90)
    assert all(e.team == "general-care" for e in told)
    first = next(e for e in told if e.step == 1)  # step 1 tells the owner and the team's lead
    assert list(first.notify) == list(dict.fromkeys([first.owner, "acme.lead"])), first
    notified = {person for e in told for person in e.notify}
    assert notified <= {"acme.lead", "acme.agent", "acme.manager", "acme.director"}, notified
