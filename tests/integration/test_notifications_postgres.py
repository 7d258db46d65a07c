"""The delivery log's claim and compare-and-set updates on a real PostgreSQL (production's database)."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from services.common.db import OutboxMessage, create_tables, make_engine, utcnow
from services.common.pb.haq.v1 import complaint_pb2
from services.notifications.adapters import db
from services.notifications.domain.model import DeliveryKey
from services.notifications.domain.templates import TemplateRenderer
from services.notifications.service import Notifier

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(postgres_db_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_db_url)
    assert engine.dialect.name == "postgresql"
    create_tables(engine, [db.ComplaintContact, db.DeliveryRow])
    yield engine
    engine.dispose()


def test_delivery_is_claimed_sent_and_settled_once_on_postgres(engine: Engine) -> None:
    sent: list[EmailMessage] = []
    notifier = Notifier(engine, sent.append, TemplateRenderer(), sender_address="care@haq.local")
    complaint = complaint_pb2.Complaint(
        id="c-pg",
        reference="HQ-7KX2-94",
        language="fa",
        customer=complaint_pb2.CustomerIdentifiers(email="a@example.com"),
    )
    assert notifier.acknowledge(complaint, complaint_id="c-pg", trigger_event_id="evt-pg") == "sent"
    assert notifier.acknowledge(complaint, complaint_id="c-pg", trigger_event_id="evt-pg") is None
    assert len(sent) == 1
    [row] = notifier.list_deliveries("c-pg")
    assert (row.status, row.attempts) == ("sent", 1)
    with Session(engine) as session:
        assert len(session.exec(select(OutboxMessage)).all()) == 1


def test_claim_conflict_and_attempt_compare_and_set_on_postgres(engine: Engine) -> None:
    key = DeliveryKey.email("evt-1", "b@example.com")
    args = {"complaint_id": "c-1", "template": "acknowledgement", "language": "en", "now": utcnow()}
    assert db.claim(engine, key, **args).new
    again = db.claim(engine, key, **args)
    assert (again.new, again.status, again.attempts) == (False, "pending", 0)
    assert db.start_attempt(engine, key.notification_id, expected_attempts=0, now=utcnow())
    assert not db.start_attempt(engine, key.notification_id, expected_attempts=0, now=utcnow())
    # Interrupted mid-send: a redelivery records the failure instead of sending again.
    notifier = Notifier(
        engine, lambda _m: pytest.fail("must not send"), TemplateRenderer(), sender_address="x@y"
    )
    complaint = complaint_pb2.Complaint(
        id="c-1", reference="HQ-AAAA-00", customer=complaint_pb2.CustomerIdentifiers(email="b@example.com")
    )
    assert notifier.acknowledge(complaint, complaint_id="c-1", trigger_event_id="evt-1") == "failed"
