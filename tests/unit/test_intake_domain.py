from datetime import date

import pytest

from services.intake.domain.casefile import advance_status, summarize
from services.intake.domain.draft import CustomerInput, Draft, DraftRejected, Social, validate
from services.intake.domain.identity import (
    IdentityError,
    normalize_email,
    normalize_handle,
    normalize_phone,
)
from services.intake.domain.language import detect_language
from services.intake.domain.reference import REFERENCE, looks_like_reference, new_reference

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("09123456789", "+989123456789"),
        ("0912 345 6789", "+989123456789"),
        ("+98 912-345-6789", "+989123456789"),
        ("۰۹۱۲۳۴۵۶۷۸۹", "+989123456789"),  # Persian digits, as typed on a Persian keyboard
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_phone_numbers_are_normalised_to_e164(raw, expected):
    assert normalize_phone(raw) == expected


def test_invalid_phone_is_refused_with_the_field():
    with pytest.raises(IdentityError) as err:
        normalize_phone("12")
    assert err.value.field == "phone"


def test_email_is_lowercased_and_trimmed():
    assert normalize_email("  Sara.Ahmadi@Example.COM ") == "sara.ahmadi@example.com"
    with pytest.raises(IdentityError):
        normalize_email("sara at example")


def test_social_handles_are_namespaced_by_network():
    assert normalize_handle("Instagram", "@Sara_A") == "instagram:sara_a"


@pytest.mark.parametrize(
    "text, lang",
    [
        ("داروی اشتباه به مادرم دادند و کسی جواب نمی‌دهد", "fa"),
        ("The parcel arrived broken and nobody answers", "en"),
        ("سفارش ORDER-123 هنوز نرسیده", "fa"),
        ("12345", "en"),
    ],
)
def test_language_is_detected_from_the_script(text, lang):
    assert detect_language(text) == lang


def test_references_are_short_readable_and_recognised():
    refs = {new_reference() for _ in range(200)}
    assert all(REFERENCE.match(r) for r in refs)
    assert len(refs) > 190
    assert looks_like_reference("hq-7kx2-94")
    assert not looks_like_reference("4fdefc95-2add-42c3-b2f8-e840af594fdb")


def _draft(**kw):
    base = dict(
        channel="email", customer=CustomerInput(email="a@example.com"), body="It broke after two days"
    )
    base.update(kw)
    return Draft(**base)


def test_a_valid_draft_gets_defaults_and_normalised_identities():
    valid = validate(_draft(customer=CustomerInput(email="A@Example.com", phone="09123456789")), "t1", TODAY)
    assert valid.draft.tenant == "t1"
    assert valid.draft.sector == "general"
    assert valid.draft.complainant_role == "consumer"
    assert valid.language == "en"
    assert {(k.kind, k.value) for k in valid.identities} == {
        ("email", "a@example.com"),
        ("phone", "+989123456789"),
    }


def test_every_problem_is_reported_with_its_field():
    with pytest.raises(DraftRejected) as err:
        validate(
            _draft(
                channel="pigeon",
                sector="retail",
                body="",
                purchase_date="2027-01-01",
                customer=CustomerInput(email="nope", social=[Social("", "x")]),
            ),
            "t",
            TODAY,
        )
    fields = {e.field for e in err.value.errors}
    assert fields == {
        "channel",
        "sector",
        "body",
        "purchase_date",
        "customer.email",
        "customer.social[0].network",
    }


def test_a_customer_must_be_reachable_or_identifiable():
    with pytest.raises(DraftRejected) as err:
        validate(_draft(customer=CustomerInput()), "t", TODAY)
    assert [e.field for e in err.value.errors] == ["customer"]


def test_status_never_moves_backwards_except_on_reopen():
    assert advance_status("owned", "routed") == "owned"
    assert advance_status("offered", "routed") == "offered"
    assert advance_status("received", "offered") == "offered"
    assert advance_status("resolved", "in_progress") == "in_progress"


def test_work_moves_freely_between_owned_in_progress_and_waiting():
    assert advance_status("waiting_on_customer", "in_progress") == "in_progress"
    assert advance_status("in_progress", "waiting_on_customer") == "waiting_on_customer"
    assert advance_status("in_progress", "owned") == "owned"
    assert advance_status("waiting_on_customer", "offered") == "waiting_on_customer"


def test_timeline_summaries_carry_no_contact_details():
    data = {
        "complaint": {
            "channel": "CHANNEL_PHONE",
            "sector": "SECTOR_HEALTHCARE",
            "complainant_role": "COMPLAINANT_ROLE_PATIENT",
            "customer": {"email": "secret@example.com"},
            "body": "private words",
        },
        "history": {"previous_complaints": 2},
    }
    text = summarize("ComplaintReceived", data)
    assert text == "Received via phone (healthcare, patient); returning customer with 2 earlier complaint(s)"
    assert "secret" not in text and "private" not in text


def test_case_file_projects_clocks_owner_and_notifications(tmp_path):
    """The projection of lifecycle events into intake's case file, on a real SQLite file."""
    from sqlmodel import Session

    from services.common.codec import new_event
    from services.common.db import create_tables, make_engine
    from services.common.pb.haq.v1 import events_pb2
    from services.intake.adapters.db import MODELS
    from services.intake.service import IntakeService

    engine = make_engine(f"sqlite:///{tmp_path / 'intake.db'}")
    create_tables(engine, MODELS)
    service = IntakeService(engine, "default")
    submitted = service.submit(_draft())
    cid = submitted.complaint_id

    clocks = events_pb2.SlaClocksStarted(complaint_id=cid, policy="default")
    ack = clocks.clocks.add(name="acknowledgement", state="running")
    ack.started_at.FromSeconds(1_800_000_000)
    ack.due_at.FromSeconds(1_800_000_060)
    routed = events_pb2.ComplaintRouted(complaint_id=cid, team="general-care", owner="reza", priority=3)
    sent = events_pb2.NotificationSent(
        complaint_id=cid,
        notification_id="n1",
        channel="email",
        recipient="a@example.com",
        template="acknowledgement",
    )
    sent.sent_at.FromSeconds(1_800_000_001)
    stopped = events_pb2.SlaClockStopped(complaint_id=cid)
    stopped.clock.CopyFrom(ack)
    stopped.clock.state = "met"
    stopped.clock.stopped_at.FromSeconds(1_800_000_001)
    for message in (routed, clocks, sent, stopped):
        with Session(engine) as session:
            service.apply_lifecycle_event(session, new_event(message, source="/test", subject=cid))
            session.commit()

    case = service.get_case(submitted.reference)
    assert (case.complaint.team, case.complaint.owner, case.complaint.status) == (
        "general-care",
        "reza",
        "routed",
    )
    [clock] = case.clocks
    assert (clock.clock, clock.state) == ("acknowledgement", "met")
    assert clock.due_at.timestamp() == 1_800_000_060
    [note] = case.notifications
    assert (note.status, note.recipient) == ("sent", "a@example.com")
    assert [t.type for t in case.timeline][-4:] == [
        "ComplaintRouted",
        "SlaClocksStarted",
        "NotificationSent",
        "SlaClockStopped",
    ]


def test_every_case_file_event_is_a_contract_message_with_its_own_summary():
    from services.common.pb.haq.v1 import events_pb2
    from services.intake.domain.casefile import CASE_FILE_EVENTS

    for name in CASE_FILE_EVENTS:
        assert hasattr(events_pb2, name), name
        assert summarize(name, {}) != name, f"{name} has no summary"


def test_case_file_follows_ownership_through_acceptance_transfer_resolution_and_reopen(tmp_path):
    from sqlmodel import Session

    from services.common.codec import new_event
    from services.common.db import create_tables, make_engine
    from services.common.pb.haq.v1 import complaint_pb2 as c
    from services.common.pb.haq.v1 import events_pb2 as ev
    from services.intake.adapters.db import MODELS
    from services.intake.service import IntakeService

    engine = make_engine(f"sqlite:///{tmp_path / 'intake.db'}")
    create_tables(engine, MODELS)
    service = IntakeService(engine, "default")
    cid = service.submit(_draft()).complaint_id

    def apply(message):
        with Session(engine) as session:
            service.apply_lifecycle_event(session, new_event(message, source="/test", subject=cid))
            session.commit()
        row = service.get_case(cid).complaint
        return row.status, row.owner, row.team

    assert apply(ev.ComplaintRouted(complaint_id=cid, team="care", owner="reza")) == (
        "routed",
        "reza",
        "care",
    )
    assert apply(
        ev.OwnerAssigned(complaint_id=cid, owner="reza", team="care", status=c.COMPLAINT_STATUS_OFFERED)
    ) == (
        "offered",
        "reza",
        "care",
    )
    assert apply(
        ev.OwnerAccepted(complaint_id=cid, owner="reza", team="care", status=c.COMPLAINT_STATUS_OWNED)
    ) == (
        "owned",
        "reza",
        "care",
    )
    # a reassignment proposal does not move accountability by itself
    assert apply(ev.ComplaintRouted(complaint_id=cid, team="care", owner="sara", reassignment=True)) == (
        "owned",
        "reza",
        "care",
    )
    assert apply(
        ev.TransferAccepted(
            complaint_id=cid, new_owner="nasrin", new_team="clinical", status=c.COMPLAINT_STATUS_OWNED
        )
    ) == ("owned", "nasrin", "clinical")
    assert (
        apply(ev.Resolved(complaint_id=cid, owner="nasrin", status=c.COMPLAINT_STATUS_RESOLVED))[0]
        == "resolved"
    )
    assert apply(
        ev.Reopened(complaint_id=cid, owner="nasrin", team="clinical", status=c.COMPLAINT_STATUS_IN_PROGRESS)
    ) == ("in_progress", "nasrin", "clinical")
