"""Intake's idempotency keys on a real SQLite file: complaints and follow-ups have separate
namespaces, a CloudEvent's (source, id) is an unambiguous key, and a CloudEvent that does not carry
its own id (the SDK would invent one per retry) is refused."""

from __future__ import annotations

import json
from itertools import product

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session

from services.common.db import create_tables, make_engine
from services.intake.adapters.db import MODELS, LegacyIdempotencyRecord
from services.intake.entrypoints import cloudevents_in
from services.intake.entrypoints.cloudevents_in import (
    Refused,
    event_idempotency_key,
    read_http,
    read_structured,
)
from services.intake.service import IntakeService

SOURCE = "partner/crm"


@pytest.fixture
def service(tmp_path) -> IntakeService:
    engine = make_engine(f"sqlite:///{tmp_path / 'intake.db'}")
    create_tables(engine, MODELS)
    return IntakeService(engine, "default")


def complaint_event(event_id: str, email: str, source: str = SOURCE) -> bytes:
    return json.dumps(
        {
            "specversion": "1.0",
            "id": event_id,
            "source": source,
            "type": cloudevents_in.SUBMITTED,
            "data": {"channel": "partner", "customer": {"email": email}, "body": "The parcel is late."},
        }
    ).encode()


def follow_up_event(event_id: str, complaint: str, source: str = SOURCE) -> bytes:
    return json.dumps(
        {
            "specversion": "1.0",
            "id": event_id,
            "source": source,
            "type": cloudevents_in.FOLLOW_UP,
            "data": {"complaint": complaint, "body": "Any news?"},
        }
    ).encode()


def accept(service: IntakeService, raw: bytes):
    return cloudevents_in.accept(service, read_structured(raw))


def test_a_new_complaint_with_the_event_id_of_an_earlier_follow_up_is_a_new_complaint(service):
    first = accept(service, complaint_event("c-1", "sara@example.com"))
    follow_up = accept(service, follow_up_event("shared-7", first.reference))
    assert not follow_up.duplicate

    other = accept(service, complaint_event("shared-7", "reza@example.com"))

    assert not other.duplicate  # it was `duplicate: true` with Sara's reference, and Reza's was lost
    assert (other.complaint_id, other.reference) != (first.complaint_id, first.reference)
    assert other.customer_id != first.customer_id
    again = accept(service, complaint_event("shared-7", "reza@example.com"))
    assert again.duplicate and again.complaint_id == other.complaint_id


def test_a_follow_up_with_the_event_id_of_an_earlier_complaint_is_recorded_not_answered_by_it(service):
    complaint = accept(service, complaint_event("shared-8", "sara@example.com"))
    target = accept(service, complaint_event("c-2", "reza@example.com"))

    follow_up = accept(service, follow_up_event("shared-8", target.reference))

    assert not follow_up.duplicate
    assert follow_up.complaint_id == target.complaint_id
    assert follow_up.follow_up_id not in (complaint.complaint_id, target.complaint_id)
    again = accept(service, follow_up_event("shared-8", target.reference))
    assert again.duplicate and again.follow_up_id == follow_up.follow_up_id


def test_explicit_keys_of_either_kind_never_return_the_other_kinds_result(service):
    from services.intake.domain.draft import CustomerInput, Draft

    first = service.submit(Draft(channel="web", body="b", customer=CustomerInput(email="a@example.com")))
    fu = service.add_follow_up(first.complaint_id, "more", "web", idempotency_key="k-1")
    complaint = service.submit(
        Draft(channel="web", body="b", customer=CustomerInput(email="b@example.com"), idempotency_key="k-1")
    )
    assert not fu.duplicate and not complaint.duplicate
    assert complaint.complaint_id != first.complaint_id


def test_keys_recorded_before_the_split_still_answer_for_their_own_kind_only(service):
    from services.intake.domain.draft import CustomerInput, Draft

    old = service.submit(Draft(channel="web", body="b", customer=CustomerInput(email="a@example.com")))
    with Session(service.engine) as session:  # rows as the shared namespace wrote them
        session.add(
            LegacyIdempotencyRecord(
                tenant="default",
                key="old-c",
                kind="complaint",
                result_id=old.complaint_id,
                complaint_id=old.complaint_id,
            )
        )
        session.add(
            LegacyIdempotencyRecord(
                tenant="default",
                key="old-f",
                kind="follow_up",
                result_id="fu-1",
                complaint_id=old.complaint_id,
            )
        )
        session.commit()

    retried = service.submit(
        Draft(channel="web", body="b", customer=CustomerInput(email="a@example.com"), idempotency_key="old-c")
    )
    assert retried.duplicate and retried.complaint_id == old.complaint_id
    assert service.add_follow_up(old.complaint_id, "x", "web", idempotency_key="old-f").follow_up_id == "fu-1"
    # the same keys of the other kind are new
    assert not service.add_follow_up(old.complaint_id, "x", "web", idempotency_key="old-c").duplicate
    fresh = service.submit(
        Draft(channel="web", body="b", customer=CustomerInput(email="c@example.com"), idempotency_key="old-f")
    )
    assert not fresh.duplicate and fresh.complaint_id != old.complaint_id


def test_sources_and_ids_holding_colons_are_different_keys(service):
    one = accept(service, complaint_event("b:c", "sara@example.com", source="a"))
    two = accept(service, complaint_event("c", "reza@example.com", source="a:b"))
    assert not two.duplicate and two.complaint_id != one.complaint_id  # both were "ce:a:b:c"
    assert (
        accept(service, complaint_event("b:c", "sara@example.com", source="a")).complaint_id
        == one.complaint_id
    )


def test_plain_event_keys_keep_their_old_form_and_long_or_odd_ones_are_bounded():
    assert event_idempotency_key("https://crm.example.com/x", "42") == "ce:https://crm.example.com/x:42"
    for source, event_id in [("s", "a:b"), ("s" * 500, "1"), ("s", "nul\x00"), ("s", "\ud800")]:
        key = event_idempotency_key(source, event_id)
        assert key.startswith("ce-sha256:") and len(key) == len("ce-sha256:") + 64


_parts = st.text(alphabet="a:b", max_size=6)


@given(first=st.tuples(_parts, _parts), second=st.tuples(_parts, _parts))
def test_two_different_source_id_pairs_never_share_a_key(first, second):
    if first != second:
        assert event_idempotency_key(*first) != event_idempotency_key(*second)


def test_every_pair_over_a_small_alphabet_has_its_own_key():
    words = ["", "a", ":", "a:", ":a", "a:b", "a::b", "ce", "ce-sha256"]
    keys = {event_idempotency_key(s, i) for s, i in product(words, words)}
    assert len(keys) == len(words) ** 2


@pytest.mark.parametrize("missing", ["id", "specversion"])
def test_a_structured_event_without_id_or_specversion_is_refused(missing):
    event = json.loads(complaint_event("e-1", "sara@example.com"))
    del event[missing]
    with pytest.raises(Refused) as err:
        read_structured(json.dumps(event).encode())
    assert err.value.field == missing
    with pytest.raises(Refused):
        read_http({"content-type": "application/cloudevents+json"}, json.dumps(event).encode())


@pytest.mark.parametrize("missing", ["ce-id", "ce-specversion"])
def test_a_binary_mode_http_event_without_id_or_specversion_is_refused(missing):
    headers = {
        "content-type": "application/json",
        "ce-specversion": "1.0",
        "ce-id": "hook-1",
        "ce-source": "helpdesk/webhook",
        "ce-type": cloudevents_in.SUBMITTED,
    }
    body = json.dumps(
        {"channel": "email", "customer": {"email": "a@example.com"}, "body": "Refund?"}
    ).encode()
    assert read_http(headers, body).get_id() == "hook-1"
    del headers[missing]
    with pytest.raises(Refused) as err:
        read_http(headers, body)
    assert err.value.field == missing.removeprefix("ce-")


def test_an_event_carrying_its_id_reads_as_it_was_sent():
    event = read_structured(complaint_event("e-9", "sara@example.com"))
    assert (event.get_id(), event.get_source(), event.get_specversion()) == ("e-9", SOURCE, "1.0")
