"""The portal against the real broker, a real intake and a real escalation process (each with its
own database): a follow link is issued only for the contact on record and opens one session; a
rating leaves the portal's outbox as ComplaintRated and becomes escalation's CSAT rows."""

from __future__ import annotations

import time
from pathlib import Path

import grpc
import pytest

from services.common import topics
from services.common.outbox import OutboxRelay
from services.common.pb.haq.v1 import complaint_pb2 as c
from services.common.pb.haq.v1 import escalation_pb2, escalation_pb2_grpc, intake_pb2, intake_pb2_grpc
from services.common.tail import collect
from services.portal.adapters import db
from services.portal.adapters.intake import IntakeClient
from services.portal.service import Portal, Refused
from services.portal.settings import PortalSettings

pytestmark = pytest.mark.integration


@pytest.fixture
def portal(settings, tmp_path: Path):
    own = PortalSettings(read_replies=False, link_requests_per_reference=3)
    engine = db.make_engine(f"sqlite:///{tmp_path / 'portal.db'}")
    relay = OutboxRelay(engine, settings, "portal")
    relay.start()
    intake = IntakeClient(settings, own)
    yield Portal(engine, intake, own, tenant=settings.tenant, public_url="http://portal.test", relay=relay)
    relay.stop()
    intake.close()


def events(settings, name: str, count: int, timeout: float = 30):
    seen = collect(
        settings, topics.LIFECYCLE_TOPIC,
        lambda rs: sum(1 for r in rs if r.envelope and r.envelope.name == name) >= count, timeout=timeout,
    )  # fmt: skip
    return [r.envelope for r in seen if r.envelope and r.envelope.name == name]


def test_a_follow_link_goes_only_to_the_contact_on_record_and_opens_once(settings, start_service, portal):
    start_service("intake")
    stub = intake_pb2_grpc.IntakeServiceStub(grpc.insecure_channel(settings.grpc_target("intake")))
    made = stub.SubmitComplaint(
        intake_pb2.SubmitComplaintRequest(
            draft=c.ComplaintDraft(
                channel=c.CHANNEL_WEB, sector=c.SECTOR_HEALTHCARE, complainant_role=c.COMPLAINANT_ROLE_PATIENT,
                customer=c.CustomerIdentifiers(email="sara@example.com", phone="09121234567"),
                subject="Lost results", body="My results were never sent.",
            )
        ),
        timeout=10,
    )  # fmt: skip
    # Wrong contact, unknown reference: the same answer, and no link.
    assert portal.request_link(made.reference, "other@example.com", "10.0.0.1") == "sent"
    assert portal.request_link("HQ-ZZZZ-99", "sara@example.com", "10.0.0.1") == "sent"
    assert portal.request_link(made.reference, "0912 123 4567", "10.0.0.1") == "sent"  # the phone on record
    (link,) = events(settings, "PortalLinkRequested", 1)
    assert link.subject == made.complaint_id and link.message.url.startswith("http://portal.test/link/")
    token = link.message.url.rsplit("/", 1)[1]
    with portal.engine.connect() as conn:  # only the hash is stored
        assert token not in str(conn.exec_driver_sql("SELECT * FROM portal_links").fetchall())

    session = portal.open_link(token)
    assert session and portal.open_link(token) is None  # single use
    who = portal.signed_in(session)
    assert who is not None and [x.reference for x in who.complaints] == [made.reference]
    assert portal.case_for(who, made.reference).complaint.id == made.complaint_id
    assert portal.case_for(who, "HQ-ZZZZ-99") is None
    assert portal.reply(who, made.reference, "It was the central lab.", "k1")
    with pytest.raises(Refused):
        portal.reply(who, made.reference, "x" * 10_001, "k2")
    # Three requests per reference in the window (HAQ_PORTAL_LINK_REQUESTS_PER_REFERENCE), whoever asks.
    assert portal.request_link(made.reference, "sara@example.com", "10.0.0.2") == "sent"
    assert portal.request_link(made.reference, "sara@example.com", "10.0.0.3") == "limited"
    assert portal.signed_in("not-a-session") is None


def test_a_rating_becomes_csat_rows_in_compliance(settings, start_service, portal):
    start_service("escalation")
    case = c.Complaint(
        id="c-rated-1", reference="HQ-RATE-11", channel=c.CHANNEL_EMAIL, sector=c.SECTOR_HEALTHCARE
    )
    resolved = intake_pb2.CaseFile(
        complaint=case, status=c.COMPLAINT_STATUS_RESOLVED, team="patient-relations"
    )
    with pytest.raises(Refused):  # not resolved: nothing to rate yet
        portal.rate(intake_pb2.CaseFile(complaint=case, status=c.COMPLAINT_STATUS_OWNED), 5, "")
    portal.rate(resolved, 2, "slow")
    portal.rate(resolved, 4, "")  # changed their mind: the later rating counts
    rated = events(settings, "ComplaintRated", 2)
    assert [e.message.rating for e in rated] == [2, 4] and rated[0].message.team == "patient-relations"

    sla = escalation_pb2_grpc.SlaServiceStub(grpc.insecure_channel(settings.grpc_target("escalation")))
    deadline = time.monotonic() + 30
    while True:
        csat = list(sla.GetCompliance(escalation_pb2.GetComplianceRequest(), timeout=10).csat)
        if csat and csat[0].mean == 4.0:
            break
        assert time.monotonic() < deadline, f"CSAT rows: {csat}"
        time.sleep(0.3)
    assert [(r.team, r.sector, r.channel, r.ratings, r.mean, r.satisfied_share) for r in csat] == [
        ("patient-relations", "healthcare", "email", 1, 4.0, 1.0)
    ]
