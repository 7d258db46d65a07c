"""Escalation's batched consumer on a real PostgreSQL: a batch leaves what the same events one at a
time leave, and the cases a batch read stay locked until it commits, so a writer that read them
before (the deadline firer, an agent action) cannot overwrite the batch's change."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.common.db import create_tables, make_engine
from services.common.runtime import EventConsumer
from services.escalation.adapters.db import MODELS, CaseBatch, StaleCase, load_case, save_case
from services.escalation.bootstrap import lifecycle_handlers
from services.escalation.domain import ClockName, ManualClock, stop_clock
from services.escalation.service_layer.handlers import EscalationHandlers
from tests.pg import isolated_schema
from tests.unit.test_escalation_batch import CONSUMER, in_one_batch, one_at_a_time, scenario, stored
from tests.unit.test_escalation_handlers import T0, received, routed

pytestmark = pytest.mark.integration

ACK = ClockName.ACKNOWLEDGEMENT


@pytest.fixture
def engines(postgres_url: str) -> Iterator[tuple[Engine, Engine]]:
    with isolated_schema(postgres_url) as first, isolated_schema(postgres_url) as second:
        made = (make_engine(first), make_engine(second))
        for engine in made:
            assert engine.dialect.name == "postgresql"
            create_tables(engine, MODELS)
        yield made
        for engine in made:
            engine.dispose()


def test_a_batch_on_postgres_leaves_what_the_same_events_one_at_a_time_leave(engines) -> None:
    batched, single = engines
    scenario(batched, in_one_batch)
    scenario(single, one_at_a_time)
    got = stored(batched)
    assert got == stored(single)
    assert len(got["escalation_cases"]) == 6 and len(got["outbox"]) > 20


def test_the_cases_a_batch_read_stay_locked_until_it_commits(engines) -> None:
    engine, _ = engines
    handlers = lifecycle_handlers(EscalationHandlers(ManualClock(T0)))
    consumer = EventConsumer(CONSUMER, "escalation", engine, relay=None)
    in_one_batch(consumer, handlers, [received("c-1", T0), routed("c-1")])

    with Session(engine) as racer_session:
        racer = load_case(racer_session, "c-1")  # read before the batch, as the firer would
        racer_session.commit()
        assert racer is not None
        outcome: list[str] = []
        with Session(engine) as session:
            batch = CaseBatch.open(session, ["c-1"])  # SELECT ... FOR UPDATE
            case = batch.get("c-1")
            assert case is not None

            def race() -> None:
                stop_clock(racer, ACK, T0 + timedelta(seconds=9))
                try:
                    save_case(racer_session, racer)  # blocks on the batch's row lock
                    racer_session.commit()
                    outcome.append("saved")
                except StaleCase:
                    racer_session.rollback()
                    outcome.append("stale")

            thread = threading.Thread(target=race)
            thread.start()
            thread.join(1.0)
            assert thread.is_alive() and outcome == []  # waiting for the batch's lock
            stop_clock(case, ACK, T0 + timedelta(seconds=3))
            batch.save(case)
            batch.flush()
            batch.close()
            session.commit()
            thread.join(30)
        assert outcome == ["stale"]  # the version it read is gone: it reloads and decides again

    with Session(engine) as session:
        final = load_case(session, "c-1")
        assert final is not None and final.version == 1
        assert final.clock(ACK).stopped_at == T0 + timedelta(seconds=3)
