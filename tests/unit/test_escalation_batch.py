"""Escalation's batched consumer (SQLite on disk, simulated time): a batch of lifecycle events
leaves exactly the cases, clock cycles, deadlines, facts and outbox rows that the same events
applied one at a time leave; a poison event does not lose its neighbours; the reads and writes
do not grow with the batch; a case changed under a batch is never overwritten."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.common.codec import Envelope, decode, encode, new_event
from services.common.db import OutboxMessage, ProcessedEvent, create_tables, make_engine
from services.common.pb.haq.v1 import complaint_pb2, events_pb2
from services.common.runtime import EventConsumer
from services.escalation.adapters.db import (
    MODELS,
    CaseBatch,
    CaseRow,
    ClockRow,
    ComplaintFactsRow,
    StaleCase,
    load_case,
)
from services.escalation.adapters.events import timestamp
from services.escalation.bootstrap import lifecycle_handlers
from services.escalation.domain import Ladder, ManualClock, Roster, accept, request_info, stop_clock
from services.escalation.service_layer.actions import CaseActions
from services.escalation.service_layer.deadlines import DeadlineFirer
from services.escalation.service_layer.handlers import EscalationHandlers
from services.escalation.service_layer.shared import Binder
from tests.unit.test_consumer_batches import Message, Record
from tests.unit.test_escalation_handlers import T0, acknowledged, received, routed

CONSUMER = "escalation-lifecycle"


def new_engine(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    create_tables(engine, MODELS)
    return engine


def rerouted(cid: str, owner: str, event_id: str) -> Envelope:
    msg = events_pb2.ComplaintRouted(
        complaint_id=cid, team="billing", owner=owner, sla_policy="healthcare-standard", reason="rerouted"
    )
    return new_event(msg, source="/haq/routing", subject=cid, event_id=event_id)


def reassigned(cid: str, owner: str, team: str, policy: str, event_id: str) -> Envelope:
    """Routing decided again (a triage correction): new team, owner, priority and SLA policy."""
    msg = events_pb2.ComplaintRouted(
        complaint_id=cid,
        team=team,
        owner=owner,
        priority=complaint_pb2.PRIORITY_CRITICAL,
        sla_policy=policy,
        reassignment=True,
        previous_owner="agent-7",
        reason="triage corrected",
    )
    return new_event(msg, source="/haq/routing", subject=cid, event_id=event_id)


def followed_up(cid: str, n: int, at: datetime) -> Envelope:
    msg = events_pb2.CustomerFollowedUp(
        complaint_id=cid, follow_up_id=f"f-{cid}-{n}", body="any news?", received_at=timestamp(at)
    )
    return new_event(msg, source="/haq/intake", subject=cid, event_id=f"fup-{cid}-{n}")


def as_consumed(envelope: Envelope) -> Envelope:
    """The envelope as the consumer gets it: encoded to a Kafka record and decoded again."""
    record = encode(envelope)
    return decode(record.key, record.value, record.headers)


def first_batch() -> list[Envelope]:
    return [
        received("c-1", T0),
        routed("c-1"),
        acknowledged("c-1", T0 + timedelta(seconds=4)),
        routed("c-2"),  # routed before its receipt: provisional clocks, re-based next
        received("c-2", T0 - timedelta(seconds=10), tenant="acme"),
        received("c-3", T0),
        acknowledged("c-3", T0 + timedelta(seconds=2)),  # acknowledged before routing finished
        routed("c-3"),
        received("c-4", T0),
        routed("c-4"),
        acknowledged("c-4", T0 + timedelta(seconds=5), template="status_update"),  # not an ack
        received("c-5", T0),
        routed("c-5"),
        followed_up("c-5", 1, T0 + timedelta(seconds=20)),
        rerouted("c-5", "agent-8", "rtd-c-5-again"),  # a re-offer of an existing case
        received("c-6", T0, tenant="acme"),
        received("c-1", T0),  # the same event twice in one batch: applied once
    ]


def second_batch() -> list[Envelope]:
    later = T0 + timedelta(minutes=3)
    return [
        followed_up("c-1", 1, later),  # waiting on the customer: the paused clocks resume
        followed_up("c-1", 2, later + timedelta(seconds=1)),
        acknowledged("c-4", later),  # after the firer breached the clock: a late stop
        routed("c-6"),
        followed_up("c-2", 1, later),
        acknowledged("c-5", later),
        rerouted("c-5", "agent-9", "rtd-c-5-third"),
        reassigned("c-3", "agent-4", "privacy-office", "healthcare-privacy", "rtd-c-3-corrected"),
        reassigned("c-1", "agent-5", "safety", "safety-critical", "rtd-c-1-corrected"),  # owned: a transfer
        acknowledged("c-3", later + timedelta(seconds=5)),
        followed_up("c-7", 1, later),  # no case yet
    ]


def in_one_batch(consumer: EventConsumer, handlers: dict[str, Any], envelopes: list[Envelope]) -> None:
    # apply_batch raises on any failure (no one-by-one fallback): the batch really was one.
    consumer.apply_batch([(as_consumed(e), handlers[e.name]) for e in envelopes])


def one_at_a_time(consumer: EventConsumer, handlers: dict[str, Any], envelopes: list[Envelope]) -> None:
    for envelope in envelopes:
        consumer.apply_batch([(as_consumed(envelope), handlers[envelope.name])])


def scenario(engine: Engine, apply: Callable[..., None]) -> None:
    """Two batches of events with agent actions and due deadlines between them."""
    clock = ManualClock(T0)
    handlers = EscalationHandlers(clock)
    consumer = EventConsumer(CONSUMER, "escalation", engine, relay=None)
    routes = lifecycle_handlers(handlers)
    apply(consumer, routes, first_batch())
    clock.advance(61)  # c-4's acknowledgement clock breaches
    assert DeadlineFirer(engine, clock).fire_due() >= 1
    actions = CaseActions(engine, clock, Binder())
    actions.apply("c-1", "acc-1", lambda case, now: accept(case, "agent-7", now), kind="accept")
    actions.apply(
        "c-1",
        "ask-1",
        lambda case, now: request_info(case, "agent-7", "Which order?", now, request_id="ask-1"),
        kind="request_info",
    )
    clock.advance(120)
    apply(consumer, routes, second_batch())


def _plain(value: Any) -> Any:
    return value.replace(tzinfo=None) if isinstance(value, datetime) else value


def stored(engine: Engine) -> dict[str, Any]:
    """Every row escalation keeps (but the write time), the outbox and the markers."""
    out: dict[str, Any] = {}
    with engine.connect() as conn:
        for model in (CaseRow, ClockRow, ComplaintFactsRow):
            table = model.__table__
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).mappings()
            out[table.name] = [{k: _plain(v) for k, v in r.items() if k != "updated_at"} for r in rows]
        outbox = conn.execute(
            select(OutboxMessage.__table__).order_by(OutboxMessage.__table__.c.seq)
        ).mappings()
        out["outbox"] = [
            (
                r["event_id"],
                r["topic"],
                r["key"],
                r["value"],
                sorted(
                    (k, v) for k, v in json.loads(r["headers_json"]) if k not in ("ce_time", "traceparent")
                ),
            )
            for r in outbox
        ]
        markers = conn.execute(
            select(ProcessedEvent.__table__.c.event_id).where(ProcessedEvent.__table__.c.consumer == CONSUMER)
        )
        out["markers"] = sorted(markers.scalars())
    return out


def test_a_batch_leaves_exactly_what_the_same_events_one_at_a_time_leave(tmp_path: Path) -> None:
    batched, single = new_engine(tmp_path / "batched.db"), new_engine(tmp_path / "single.db")
    scenario(batched, in_one_batch)
    scenario(single, one_at_a_time)
    got, want = stored(batched), stored(single)
    assert got == want
    # The scenario did what it says: re-offers, resumed and late-stopped clocks, new cycles.
    assert {r["complaint_id"] for r in got["escalation_cases"]} == {f"c-{i}" for i in range(1, 7)}
    assert [r["offered_to"] for r in got["escalation_cases"] if r["complaint_id"] == "c-5"] == ["agent-9"]
    assert any(r["name"] == "next_response" for r in got["escalation_clocks"])
    assert any(e[0] == "breach:c-4:acknowledgement:0" for e in got["outbox"])
    assert len(got["outbox"]) > 20
    assert max(r["version"] for r in got["escalation_cases"]) >= 3
    assert [r["team"] for r in got["escalation_cases"] if r["complaint_id"] == "c-3"] == ["privacy-office"]
    assert "rtd-c-1-corrected:transfer-requested" in [e[0] for e in got["outbox"]]
    assert "fup-c-7-1" in got["markers"] and len(got["markers"]) == 26


class BrokenTeamDirectory:
    """A directory whose lookup fails for one team: a poison ComplaintRouted for it."""

    def ladder(self, team: str, tenant: str = "") -> Ladder:
        if team == "broken":
            raise RuntimeError("no ladder for team broken")
        return Ladder()

    def roster(self, tenant: str = "") -> Roster | None:
        return None


def records(envelopes: list[Envelope]) -> list[Record]:
    out = []
    for offset, envelope in enumerate(envelopes):
        r = encode(envelope)
        out.append(Record(r.key, r.value, r.headers, Message(offset=offset)))
    return out


def test_a_poison_event_in_a_batch_is_dead_lettered_and_its_neighbours_applied(tmp_path: Path) -> None:
    poison = new_event(
        events_pb2.ComplaintRouted(complaint_id="c-bad", team="broken", owner="agent-1"),
        source="/haq/routing",
        subject="c-bad",
        event_id="rtd-c-bad",
    )
    neighbours = [received("c-1", T0), routed("c-1"), received("c-2", T0), routed("c-2")]
    results = {}
    for name, events in (("poisoned", [*neighbours[:2], poison, *neighbours[2:]]), ("clean", neighbours)):
        engine = new_engine(tmp_path / f"{name}.db")
        handlers = EscalationHandlers(ManualClock(T0), binder=Binder(directory=BrokenTeamDirectory()))
        consumer = EventConsumer(CONSUMER, "escalation", engine, relay=None)
        consumer.sleep = lambda _s: None
        consumer.process_records(records(events), lifecycle_handlers(handlers))
        results[name] = stored(engine)
    poisoned, clean = results["poisoned"], results["clean"]
    letters = [e for e in poisoned["outbox"] if e[1] == "haq.deadletter.v1"]
    assert len(letters) == 1
    reason = events_pb2.DeadLetter.FromString(letters[0][3]).reason
    assert "rtd-c-bad" in reason and "no ladder for team broken" in reason
    assert [r["complaint_id"] for r in poisoned["escalation_cases"]] == ["c-1", "c-2"]
    for table in ("escalation_cases", "escalation_clocks", "escalation_complaint_facts"):
        assert poisoned[table] == clean[table]
    assert [e for e in poisoned["outbox"] if e[1] != "haq.deadletter.v1"] == clean["outbox"]


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement.split()[0].upper())

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_batch_reads_and_writes_each_table_once_whatever_its_size(tmp_path: Path) -> None:
    counts = []
    for n in (5, 40):
        engine = new_engine(tmp_path / f"n{n}.db")
        handlers = lifecycle_handlers(EscalationHandlers(ManualClock(T0)))
        consumer = EventConsumer(CONSUMER, "escalation", engine, relay=None)
        cids = [f"c-{n}-{i}" for i in range(n)]
        in_one_batch(consumer, handlers, [received(c, T0) for c in cids])
        with statements(engine) as seen:
            in_one_batch(
                consumer,
                handlers,
                [e for c in cids for e in (routed(c), acknowledged(c, T0 + timedelta(seconds=3)))],
            )
        counts.append(seen)
        with Session(engine) as session:
            assert all(load_case(session, c) is not None for c in cids)
    small, large = counts
    assert small == large  # the same statements for 10 events as for 80
    # markers, cases, clocks, facts; then case, clock and outbox inserts, the facts update, markers
    assert small.count("SELECT") == 4
    assert small.count("INSERT") == 4 and small.count("UPDATE") == 1


def test_a_case_changed_under_a_batch_is_not_overwritten(tmp_path: Path) -> None:
    engine = new_engine(tmp_path / "esc.db")
    clock = ManualClock(T0)
    handlers = lifecycle_handlers(EscalationHandlers(clock))
    consumer = EventConsumer(CONSUMER, "escalation", engine, relay=None)
    in_one_batch(consumer, handlers, [received("c-1", T0), routed("c-1")])
    with Session(engine) as session:
        batch = CaseBatch.open(session, ["c-1"])
        case = batch.get("c-1")
        assert case is not None
        with Session(engine) as other:  # an agent action or the firer, committed meanwhile
            other.execute(update(CaseRow).values(version=CaseRow.version + 1))
            other.commit()
        stop_clock(case, case.clocks[next(iter(case.clocks))].name, T0 + timedelta(seconds=3))
        batch.save(case)
        with pytest.raises(StaleCase):
            batch.flush()
        batch.close()
    with Session(engine) as session:
        stored_case = load_case(session, "c-1")
        assert stored_case is not None and stored_case.version == 1
        assert all(c.stopped_at is None for c in stored_case.clocks.values())
