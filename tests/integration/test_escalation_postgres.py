"""Escalation's tables and service layer on a real PostgreSQL (as in production), simulated time:
aware timestamps round-trip, the due-deadline query, breach once, and the concurrent-change guard."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.common.db import create_tables, make_engine
from services.common.runtime import EventConsumer
from services.escalation.adapters.db import MODELS, StaleClock, due_cases, due_clocks, load_case, save_case
from services.escalation.domain import ClockName, ClockState, ManualClock, stop_clock
from services.escalation.service_layer.deadlines import DeadlineFirer
from services.escalation.service_layer.handlers import EscalationHandlers
from tests.unit.test_escalation_handlers import T0, acknowledged, outbox, received, routed

pytestmark = pytest.mark.integration

ACK = ClockName.ACKNOWLEDGEMENT


@pytest.fixture
def engine(postgres_db_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_db_url)
    assert engine.dialect.name == "postgresql"
    create_tables(engine, MODELS)
    yield engine
    engine.dispose()


def test_cases_and_deadlines_on_postgres(engine: Engine) -> None:
    clock = ManualClock(T0)
    handlers = EscalationHandlers(clock)
    consumer = EventConsumer("escalation-lifecycle", "escalation", engine, relay=None)
    consumer.apply(received("c-1", T0), handlers.on_received)
    consumer.apply(routed("c-1"), handlers.on_routed)
    consumer.apply(received("c-2", T0), handlers.on_received)
    consumer.apply(routed("c-2"), handlers.on_routed)
    consumer.apply(acknowledged("c-2", T0 + timedelta(seconds=5)), handlers.on_notification_sent)

    with Session(engine) as session:
        case = load_case(session, "c-1")
        assert case is not None
        assert case.clock(ACK).due_at == T0 + timedelta(seconds=60)  # aware UTC in, aware UTC out
        assert case.received_at == T0
        assert due_clocks(session, T0 + timedelta(seconds=59)) == []
        assert due_cases(session, T0 + timedelta(seconds=44)) == []  # the warning at 75% is next
        assert [c for c, _ in due_cases(session, T0 + timedelta(seconds=45))] == ["c-1"]
        assert due_clocks(session, T0 + timedelta(seconds=60)) == [("c-1", ACK)]

    clock.advance(61)
    firer = DeadlineFirer(engine, clock)
    assert firer.fire_due() == 1
    assert firer.fire_due() == 0
    assert [e.id for e in outbox(engine) if e.name == "SlaBreached"] == ["breach:c-1:acknowledgement:0"]

    with Session(engine) as first, Session(engine) as second:
        a, b = load_case(first, "c-1"), load_case(second, "c-1")
        assert a is not None and b is not None
        assert a.clock(ACK).state is ClockState.BREACHED
        stop_clock(a, ACK, clock.now())
        save_case(first, a)
        first.commit()
        stop_clock(b, ACK, clock.now() + timedelta(seconds=1))
        with pytest.raises(StaleClock):
            save_case(second, b)
