"""The delivery log's planning and compare-and-set updates on a real PostgreSQL (production's database)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from services.common.db import OutboxMessage, create_tables, make_engine
from services.notifications.adapters import db
from services.notifications.domain.model import DeliveryKey
from tests.unit.test_notifications_delivery import T0, FakeSmtp, make_world, received

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(postgres_db_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_db_url)
    assert engine.dialect.name == "postgresql"
    create_tables(engine, db.TABLES)
    yield engine
    engine.dispose()


def test_delivery_is_planned_sent_and_settled_once_on_postgres(engine: Engine, tmp_path: Path) -> None:
    world = make_world(tmp_path, smtp=FakeSmtp())
    world.engine = engine
    world.dispatcher.engine = world.admin.engine = world.consumer.engine = engine
    assert world.consume(received()) is True
    assert world.consume(received()) is False
    [job] = db.due_jobs(engine, T0)
    world.dispatcher.plan(job, T0)
    world.dispatcher.plan(job, T0)  # planned twice: claimed once
    key = DeliveryKey.email("evt-1", "sara@example.com")
    assert db.start_attempt(engine, key.notification_id, expected_attempts=0, now=T0)
    assert not db.start_attempt(engine, key.notification_id, expected_attempts=0, now=T0)
    assert db.reschedule(engine, key.notification_id, attempts=1, error="451", at=T0, now=T0)
    world.dispatcher.drain()
    assert len(world.smtp.sent) == 1
    [row] = world.admin.list_deliveries("c-1")
    assert (row.status, row.attempts) == ("sent", 2)
    with Session(engine) as session:
        assert len(session.exec(select(OutboxMessage)).all()) == 1
