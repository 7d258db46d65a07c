"""The consumer's unit of work over a batch (SQLite on disk, no broker): one transaction for the
batch, the ce_type filter before decoding, a poison event isolated and dead-lettered while the rest
of its batch is applied, a transient database failure retried (never dead-lettered), redeliveries
applied once, and no credentials on the dead-letter topic."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import Field, Session, SQLModel, select

from services.common.codec import encode, new_event
from services.common.consumer import EventConsumer, safe_headers
from services.common.db import OutboxMessage, ProcessedEvent, create_tables, make_engine
from services.common.pb.haq.v1 import events_pb2


class Seen(SQLModel, table=True):
    __tablename__ = "test_seen"
    event_id: str = Field(primary_key=True)
    complaint_id: str


@dataclass
class Message:  # the part of a Kafka record's metadata a dead letter quotes
    topic: str = "haq.complaints.lifecycle.v1"
    partition: int = 0
    offset: int = 0


@dataclass
class Record:  # what faust hands an agent: key, value, headers and the message metadata
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]
    message: Message = field(default_factory=Message)


def record(message, complaint: str, event_id: str, offset: int = 0) -> Record:
    r = encode(new_event(message, source="/test", subject=complaint, event_id=event_id))
    return Record(r.key, r.value, r.headers, Message(offset=offset))


def routed(complaint: str, event_id: str, offset: int = 0) -> Record:
    return record(events_pb2.ComplaintRouted(complaint_id=complaint, team="t"), complaint, event_id, offset)


@pytest.fixture
def consumer(tmp_path: Path) -> EventConsumer:
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    create_tables(engine, [Seen])
    c = EventConsumer("test-lifecycle", "test", engine, relay=None)
    c.sleep = lambda _s: None
    return c


def seen(consumer: EventConsumer) -> list[str]:
    with Session(consumer.engine) as s:
        return sorted(r.complaint_id for r in s.exec(select(Seen)))


def dead_letters(consumer: EventConsumer) -> list[events_pb2.DeadLetter]:
    with Session(consumer.engine) as s:
        rows = s.exec(select(OutboxMessage).where(OutboxMessage.topic == "haq.deadletter.v1")).all()
        return [events_pb2.DeadLetter.FromString(r.value) for r in rows]


def record_it(session: Session, envelope) -> None:
    session.add(Seen(event_id=envelope.id, complaint_id=envelope.subject))


def test_a_batch_is_applied_in_one_transaction_and_redelivery_changes_nothing(consumer):
    batch = [routed(f"c-{i}", f"e-{i}", i) for i in range(50)]
    consumer.process_records(batch, {"ComplaintRouted": record_it})
    consumer.process_records(batch[:10], {"ComplaintRouted": record_it})  # redelivered
    assert seen(consumer) == sorted(f"c-{i}" for i in range(50))
    with Session(consumer.engine) as s:
        assert len(s.exec(select(ProcessedEvent)).all()) == 50


def test_the_same_event_twice_in_one_batch_is_applied_once(consumer):
    consumer.process_records([routed("c-1", "e-1"), routed("c-1", "e-1", 1)], {"ComplaintRouted": record_it})
    assert seen(consumer) == ["c-1"]


def test_types_the_service_does_not_handle_are_never_decoded(consumer):
    garbage = Record(b"c-9", b"\xff not protobuf", [("ce_type", b"haq.v1.SlaWarning"), ("ce_id", b"x")])
    consumer.process_records([garbage, routed("c-1", "e-1")], {"ComplaintRouted": record_it})
    assert seen(consumer) == ["c-1"]
    assert dead_letters(consumer) == []  # skipped by its header, not refused


def test_a_poison_event_is_dead_lettered_and_the_rest_of_its_batch_applied(consumer):
    def fussy(session: Session, envelope) -> None:
        if envelope.subject == "c-3":
            raise ValueError("cannot route c-3")
        record_it(session, envelope)

    consumer.process_records([routed(f"c-{i}", f"e-{i}", i) for i in range(6)], {"ComplaintRouted": fussy})
    assert seen(consumer) == ["c-0", "c-1", "c-2", "c-4", "c-5"]
    [letter] = dead_letters(consumer)
    assert "cannot route c-3" in letter.reason and letter.offset == 3


def test_a_database_outage_pauses_and_retries_and_never_dead_letters(consumer):
    failures = {"left": 7}

    def flaky(session: Session, envelope) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("INSERT ...", {}, Exception("database is locked"))
        record_it(session, envelope)

    consumer.process_records([routed("c-1", "e-1"), routed("c-2", "e-2", 1)], {"ComplaintRouted": flaky})
    assert seen(consumer) == ["c-1", "c-2"]
    assert dead_letters(consumer) == []


def test_an_undecodable_record_is_dead_lettered_with_the_reason(consumer):
    bad = Record(b"c-1", b"\x08\x96", [("ce_type", b"haq.v1.ComplaintRouted")])
    consumer.process_records([bad, routed("c-2", "e-2", 1)], {"ComplaintRouted": record_it})
    assert seen(consumer) == ["c-2"]
    [letter] = dead_letters(consumer)
    assert "ce_id" in letter.reason


def test_dead_letters_never_carry_credentials_or_unbounded_headers():
    headers = {"Authorization": "Bearer secret-token", "cookie": "s=1", "x-long": "y" * 50_000, "ce-id": "1"}
    safe = safe_headers(headers)
    assert "Authorization" not in safe and "cookie" not in safe
    assert len(safe["x-long"]) == 1000 and safe["ce-id"] == "1"


def test_markers_older_than_the_retention_are_pruned_and_recent_ones_kept(consumer):
    from datetime import timedelta

    from services.common.consumer import prune_processed
    from services.common.db import utcnow

    consumer.process_records([routed("c-1", "e-1"), routed("c-2", "e-2", 1)], {"ComplaintRouted": record_it})
    with Session(consumer.engine) as s:
        old = s.get(ProcessedEvent, ("test-lifecycle", "e-1"))
        old.processed_at = utcnow() - timedelta(days=30)
        s.add(old)
        s.commit()
    assert prune_processed(consumer.engine, utcnow() - timedelta(days=14)) == 1
    with Session(consumer.engine) as s:
        assert [m.event_id for m in s.exec(select(ProcessedEvent))] == ["e-2"]


def test_a_batched_handler_gets_each_run_of_new_events_in_one_call(consumer):
    from services.common.handler import Batched

    calls: list[list[str]] = []

    def many(session: Session, envelopes) -> None:
        calls.append([e.id for e in envelopes])
        for envelope in envelopes:
            record_it(session, envelope)

    batched = Batched(many)
    other = record(events_pb2.OwnerAccepted(complaint_id="x", owner="a"), "x", "other-1", 3)
    batch = [
        routed("c-0", "e-0", 0),
        routed("c-1", "e-1", 1),
        routed("c-2", "e-2", 2),
        other,
        routed("c-4", "e-4", 4),
    ]
    consumer.process_records(batch, {"ComplaintRouted": batched, "OwnerAccepted": record_it})
    # the plain handler in between splits the runs; order is kept
    assert calls == [["e-0", "e-1", "e-2"], ["e-4"]]
    consumer.process_records(batch[:3] + [routed("c-5", "e-5", 5)], {"ComplaintRouted": batched})
    assert calls[-1] == ["e-5"]  # redeliveries are never handed to the handler again
    assert seen(consumer) == ["c-0", "c-1", "c-2", "c-4", "c-5", "x"]


def test_a_failing_batched_run_falls_back_to_one_event_at_a_time(consumer):
    from services.common.handler import Batched

    def many(session: Session, envelopes) -> None:
        for envelope in envelopes:
            if envelope.subject == "poison":
                raise ValueError("cannot apply this one")
            record_it(session, envelope)

    batch = [routed("c-0", "e-0", 0), routed("poison", "e-1", 1), routed("c-2", "e-2", 2)]
    consumer.process_records(batch, {"ComplaintRouted": Batched(many)})
    assert seen(consumer) == ["c-0", "c-2"]
    assert [d.reason for d in dead_letters(consumer)][0].endswith("ValueError: cannot apply this one")


def test_dead_letter_headers_are_valid_text_whatever_the_client_sent():
    """aiohttp hands undecodable header bytes over as lone surrogates; protobuf refuses those, so a
    refused webhook once answered 500 instead of being dead-lettered (found by the fuzz test)."""
    headers = safe_headers(
        {"ce-id": "a\udcffb", "x-odd": "\ud800", "ce-source": b"\xff\xfe", "Authorization": "Bearer x"}
    )
    letter = events_pb2.DeadLetter(original_headers=headers)
    assert events_pb2.DeadLetter.FromString(letter.SerializeToString()).original_headers == headers
    assert headers["ce-id"] == "a\ufffdb" and headers["ce-source"] == "\ufffd\ufffd"
    assert "Authorization" not in headers
