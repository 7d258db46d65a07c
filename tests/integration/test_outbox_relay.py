"""The outbox relay on the real broker, SQLite and PostgreSQL: a row larger than the broker accepts
is dead-lettered and passed (it used to wedge the relay forever), and several relays on one
PostgreSQL database publish every row exactly once, in order."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from services.common.codec import new_event
from services.common.db import OutboxMessage, create_tables, make_engine
from services.common.outbox import OutboxRelay, make_producer, stage
from services.common.pb.haq.v1 import events_pb2
from services.common.settings import Settings
from services.common.tail import collect
from services.common.topics import DEAD_LETTER_TOPIC, LIFECYCLE_TOPIC

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'outbox.db'}"
    else:
        url = request.getfixturevalue("postgres_db_url")
    engine = make_engine(url)
    create_tables(engine, [])
    yield engine
    engine.dispose()


def stage_routed(engine: Engine, complaint_id: str, explanation: str = "ok") -> str:
    msg = events_pb2.ComplaintRouted(complaint_id=complaint_id, team="t", explanation=explanation)
    envelope = new_event(msg, source="/test", subject=complaint_id)
    with Session(engine) as session:
        stage(session, envelope, LIFECYCLE_TOPIC)
        session.commit()
    return envelope.id


def relay_for(engine: Engine, settings: Settings) -> OutboxRelay:
    relay = OutboxRelay(engine, settings, "test", batch_size=50)
    relay._producer = make_producer(settings, f"t-{uuid.uuid4().hex[:6]}")
    return relay


def unpublished(engine: Engine) -> int:
    with Session(engine) as s:
        return len(s.exec(select(OutboxMessage).where(col(OutboxMessage.published_at).is_(None))).all())


def test_a_record_larger_than_the_broker_takes_is_dead_lettered_and_the_next_is_relayed(
    engine: Engine, settings: Settings
) -> None:
    big = stage_routed(engine, "c-big", explanation="x" * (2 * 1024 * 1024))
    small = stage_routed(engine, "c-small")
    relay = relay_for(engine, settings)
    try:
        assert relay.relay_once() == 2
        assert unpublished(engine) == 0  # nothing left behind to wedge the next pass
    finally:
        relay.stop()

    lifecycle = collect(
        settings, LIFECYCLE_TOPIC, until=lambda rs: any(r.envelope and r.envelope.id == small for r in rs)
    )
    assert [r.envelope.id for r in lifecycle if r.envelope] == [small]
    letters = collect(settings, DEAD_LETTER_TOPIC, until=lambda rs: len(rs) >= 1)
    letter = letters[0].envelope.message
    assert big in letter.reason and "MessageSizeTooLarge" in letter.reason
    assert len(letter.original_value) == 64 * 1024  # a bounded quote, not the whole record


def test_several_relays_on_one_database_publish_each_row_once_in_order(
    engine: Engine, settings: Settings
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("several workers share a database on PostgreSQL; SQLite serves one process")
    ids = [stage_routed(engine, "c-1", explanation=str(i)) for i in range(300)]
    relays = [relay_for(engine, settings) for _ in range(3)]
    errors: list[BaseException] = []

    def run(relay: OutboxRelay) -> None:
        try:
            while unpublished(engine):
                relay.relay_once()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(r,)) for r in relays]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for r in relays:
        r.stop()
    assert not errors
    records = collect(settings, LIFECYCLE_TOPIC, until=lambda rs: len(rs) >= len(ids), timeout=30)
    collect_more = collect(settings, LIFECYCLE_TOPIC, until=lambda rs: len(rs) > len(ids), timeout=3)
    assert len(collect_more) == len(ids)  # nothing relayed twice
    assert [r.envelope.id for r in records] == ids  # one key, one partition: the staging order
