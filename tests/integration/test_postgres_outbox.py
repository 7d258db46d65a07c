"""The shared outbox and processed-event tables on a real PostgreSQL, relayed to the real broker."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from services.common.codec import new_event
from services.common.db import OutboxMessage, ProcessedEvent, as_utc, create_tables, make_engine
from services.common.outbox import OutboxRelay, make_producer, stage
from services.common.pb.haq.v1 import events_pb2
from services.common.settings import Settings
from services.common.tail import collect
from services.common.topics import LIFECYCLE_TOPIC

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(postgres_db_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_db_url)
    assert engine.dialect.name == "postgresql"
    create_tables(engine, [])
    yield engine
    engine.dispose()


def test_outbox_row_committed_on_postgres_is_relayed_and_marked(engine: Engine, settings: Settings) -> None:
    complaint_id = str(uuid.uuid4())
    routed = events_pb2.ComplaintRouted(
        complaint_id=complaint_id,
        team="billing",
        owner="agent-17",
        sla_policy="standard",
        rule_id="billing-default",
        explanation="sector=telecom, topic=billing",
    )
    envelope = new_event(routed, source="haq/test", subject=complaint_id)

    with Session(engine) as session:
        stage(session, envelope, LIFECYCLE_TOPIC)
        session.commit()

    relay = OutboxRelay(engine, settings, "test")
    relay._producer = make_producer(settings, "t")
    try:
        assert relay.relay_once() == 1
        assert relay.relay_once() == 0  # published rows are not sent again
    finally:
        relay.stop()  # never started: only closes the producer

    def ours(records) -> bool:
        return any(r.envelope is not None and r.envelope.id == envelope.id for r in records)

    records = collect(settings, LIFECYCLE_TOPIC, until=ours, timeout=30)
    received = [r.envelope for r in records if r.envelope is not None and r.envelope.id == envelope.id]
    assert len(received) == 1, f"event {envelope.id} not read back from {LIFECYCLE_TOPIC}"
    event = received[0]
    assert event.type == "haq.v1.ComplaintRouted"
    assert event.subject == complaint_id
    assert event.source == "haq/test"
    assert event.message == routed

    with Session(engine) as session:
        row = session.exec(select(OutboxMessage).where(col(OutboxMessage.event_id) == envelope.id)).one()
        assert row.published_at is not None
        assert as_utc(row.published_at) >= as_utc(row.created_at)


def test_processed_event_duplicate_is_rejected_by_postgres(engine: Engine) -> None:
    event_id = str(uuid.uuid4())
    with Session(engine) as session:
        session.add(ProcessedEvent(consumer="routing-lifecycle", event_id=event_id))
        session.commit()

    with Session(engine) as session:
        session.add(ProcessedEvent(consumer="routing-lifecycle", event_id=event_id))
        with pytest.raises(IntegrityError) as excinfo:
            session.commit()
    assert getattr(excinfo.value.orig, "pgcode", None) == "23505"  # unique_violation

    # The key is (consumer, event_id): another consumer may record the same event.
    with Session(engine) as session:
        session.add(ProcessedEvent(consumer="notifications-lifecycle", event_id=event_id))
        session.commit()
        count = len(
            session.exec(select(ProcessedEvent).where(col(ProcessedEvent.event_id) == event_id)).all()
        )
    assert count == 2
