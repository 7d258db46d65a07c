"""Escalation's service layer on SQLite with simulated time: events in, rows and outbox out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from services.common.codec import Envelope, decode, new_event
from services.common.db import OutboxMessage, create_tables, make_engine
from services.common.pb.haq.v1 import complaint_pb2, events_pb2
from services.common.runtime import EventConsumer
from services.escalation.adapters.db import MODELS, StaleClock, load_case, save_case
from services.escalation.adapters.events import from_timestamp, timestamp
from services.escalation.adapters.guard import GuardVerdict
from services.escalation.domain import (
    CaseError,
    ClockName,
    ClockState,
    Ladder,
    ManualClock,
    Roster,
    accept,
    request_info,
    stop_clock,
)
from services.escalation.service_layer.actions import CaseActions
from services.escalation.service_layer.deadlines import DeadlineFirer
from services.escalation.service_layer.handlers import EscalationHandlers
from services.escalation.service_layer.shared import Binder, GuardBlocked
from services.escalation.service_layer.views import clocks_view

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
ACK = ClockName.ACKNOWLEDGEMENT


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'escalation.db'}")
    create_tables(engine, MODELS)
    return engine


@pytest.fixture
def clock():
    return ManualClock(T0)


@pytest.fixture
def world(engine, clock):
    handlers = EscalationHandlers(clock)
    consumer = EventConsumer("escalation-lifecycle", "escalation", engine, relay=None)
    routes = {
        "ComplaintReceived": handlers.on_received,
        "ComplaintRouted": handlers.on_routed,
        "NotificationSent": handlers.on_notification_sent,
    }

    def apply(envelope: Envelope) -> bool:
        return consumer.apply(envelope, routes[envelope.name])

    return apply


def received(cid: str, at: datetime, tenant: str = "") -> Envelope:
    complaint = complaint_pb2.Complaint(id=cid, received_at=timestamp(at), tenant=tenant)
    msg = events_pb2.ComplaintReceived(complaint=complaint)
    return new_event(msg, source="/haq/intake", subject=cid, event_id=f"rcv-{cid}")


def routed(cid: str, priority=complaint_pb2.PRIORITY_HIGH) -> Envelope:
    msg = events_pb2.ComplaintRouted(
        complaint_id=cid, team="billing", owner="agent-7", priority=priority, sla_policy="healthcare-standard"
    )
    return new_event(msg, source="/haq/routing", subject=cid, event_id=f"rtd-{cid}")


def acknowledged(cid: str, at: datetime, template="acknowledgement") -> Envelope:
    msg = events_pb2.NotificationSent(
        complaint_id=cid,
        notification_id=f"n-{cid}",
        channel="email",
        template=template,
        sent_at=timestamp(at),
    )
    return new_event(msg, source="/haq/notifications", subject=cid, event_id=f"ntf-{cid}-{template}")


def outbox(engine) -> list[Envelope]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.seq))).all()
        return [
            decode(r.key, r.value, [(k, v.encode()) for k, v in json.loads(r.headers_json)]) for r in rows
        ]


def test_routed_complaint_is_offered_with_clocks_and_announced(engine, clock, world):
    assert world(received("c-1", T0 - timedelta(seconds=3)))
    assert outbox(engine) == []  # receipt alone is remembered, not announced
    assert world(routed("c-1"))
    assert not world(routed("c-1"))  # redelivery is applied once

    owner, started = outbox(engine)
    assert owner.type == "haq.v1.OwnerAssigned" and owner.id == "rtd-c-1:owner-assigned"
    assert (owner.source, owner.subject) == ("/haq/escalation", "c-1")
    assert owner.message.status == complaint_pb2.COMPLAINT_STATUS_OFFERED
    assert from_timestamp(owner.message.accept_by) == T0 + timedelta(minutes=15)
    assert started.type == "haq.v1.SlaClocksStarted"
    clocks = {c.name: c for c in started.message.clocks}
    assert set(clocks) == {"acknowledgement", "owner_acceptance", "first_response", "resolution"}
    assert from_timestamp(clocks["acknowledgement"].due_at) == T0 + timedelta(seconds=57)
    assert from_timestamp(clocks["first_response"].due_at) == T0 - timedelta(seconds=3) + timedelta(hours=4)

    view = clocks_view(engine, "c-1")
    assert view is not None and view.case is not None and view.case.owner == "agent-7"


def test_acknowledgement_stops_its_clock_and_the_deadline_then_never_fires(engine, clock, world):
    world(received("c-1", T0))
    world(routed("c-1"))
    world(acknowledged("c-1", T0 + timedelta(seconds=4)))
    world(acknowledged("c-1", T0 + timedelta(seconds=9), template="status_update"))  # not an ack

    stopped = outbox(engine)[-1]
    assert stopped.type == "haq.v1.SlaClockStopped"
    assert stopped.id == "ntf-c-1-acknowledgement:sla-clock-stopped:acknowledgement"
    assert (stopped.message.clock.name, stopped.message.clock.state) == ("acknowledgement", "met")

    clock.advance(120)
    assert DeadlineFirer(engine, clock).fire_due() == 0


def test_due_deadline_fires_once_across_ticks_and_firers(engine, clock, world):
    world(received("c-1", T0))
    world(routed("c-1"))
    clock.advance(61)

    firer = DeadlineFirer(engine, clock)
    assert firer.fire_due() == 1
    assert firer.fire_due() == 0
    assert DeadlineFirer(engine, clock).fire_due() == 0  # a restarted or second worker

    breached = [e for e in outbox(engine) if e.type == "haq.v1.SlaBreached"]
    assert [e.id for e in breached] == ["breach:c-1:acknowledgement:0"]
    assert (breached[0].message.owner, breached[0].message.team) == ("agent-7", "billing")
    with Session(engine) as session:
        case = load_case(session, "c-1")
        assert case is not None and case.clock(ACK).state is ClockState.BREACHED

    clock.advance(timedelta(minutes=15))  # the offer was never accepted either
    assert firer.fire_due() == 1
    assert [e.id for e in outbox(engine) if e.type == "haq.v1.SlaBreached"][-1] == (
        "breach:c-1:owner_acceptance:0"
    )


def test_routed_before_received_and_acknowledged_before_routed_are_both_handled(engine, clock, world):
    # Routed first: the case opens with provisional receipt clocks, re-based when the receipt arrives.
    world(routed("c-2"))
    clock.advance(1)
    world(received("c-2", T0 - timedelta(seconds=10)))
    restarted = outbox(engine)[-1]
    assert restarted.type == "haq.v1.SlaClocksStarted" and restarted.id == "rcv-c-2:sla-clocks-started"
    ack = next(c for c in restarted.message.clocks if c.name == "acknowledgement")
    assert from_timestamp(ack.due_at) == T0 + timedelta(seconds=50)

    # Acknowledged before routing finished: the clock stops as soon as the case opens.
    world(received("c-3", T0))
    world(acknowledged("c-3", T0 + timedelta(seconds=2)))
    world(routed("c-3"))
    types = [e.type for e in outbox(engine) if e.subject == "c-3"]
    assert types == ["haq.v1.OwnerAssigned", "haq.v1.SlaClocksStarted", "haq.v1.SlaClockStopped"]
    with Session(engine) as session:
        case = load_case(session, "c-3")
        assert case is not None and case.clock(ACK).state is ClockState.MET


def test_a_clock_changed_by_another_transaction_is_not_overwritten(engine, clock, world):
    world(received("c-1", T0))
    world(routed("c-1"))
    with Session(engine) as first, Session(engine) as second:
        a, b = load_case(first, "c-1"), load_case(second, "c-1")
        assert a is not None and b is not None
        stop_clock(a, ACK, T0 + timedelta(seconds=5))
        save_case(first, a)
        first.commit()
        stop_clock(b, ACK, T0 + timedelta(seconds=6))
        with pytest.raises(StaleClock):
            save_case(second, b)


def test_unknown_and_received_only_complaints_in_the_view(engine, world):
    assert clocks_view(engine, "nope") is None
    world(received("c-9", T0))
    view = clocks_view(engine, "c-9")
    assert view is not None and view.case is None and view.facts is not None


class TenantDirectory:
    """A directory stand-in with one ladder per tenant ("" is the operator tenant's) that records
    every (team, tenant) it is asked for."""

    def __init__(self):
        self.asked: list[tuple[str, str]] = []

    def ladder(self, team: str, tenant: str = "") -> Ladder:
        self.asked.append((team, tenant))
        name = tenant or "operator"
        return Ladder(f"{name}-lead", f"{name}-manager", f"{name}-director")

    def roster(self, tenant: str = "") -> Roster | None:
        return None


def escalated(engine, cid: str) -> list[list[str]]:
    return [
        list(e.message.notify) for e in outbox(engine) if e.type == "haq.v1.Escalated" and e.subject == cid
    ]


@pytest.fixture
def tenants(engine, clock):
    """Two complaints routed to billing: c-acme of tenant acme, c-op naming no tenant (the
    operator's), handled with a per-tenant directory."""
    directory = TenantDirectory()
    handlers = EscalationHandlers(clock, binder=Binder(directory=directory))
    consumer = EventConsumer("escalation-lifecycle", "escalation", engine, relay=None)
    for cid, tenant in (("c-acme", "acme"), ("c-op", "")):
        consumer.apply(received(cid, T0, tenant), handlers.on_received)
        consumer.apply(routed(cid), handlers.on_routed)
    return directory, handlers, consumer


def test_a_late_acknowledgement_escalates_to_the_complaints_tenants_ladder(engine, clock, tenants):
    directory, handlers, consumer = tenants
    assert ("billing", "acme") in directory.asked  # the case opened on acme's ladder
    clock.advance(61)  # past the acknowledgement's deadline; no deadline pass has run yet
    for cid in ("c-acme", "c-op"):
        consumer.apply(acknowledged(cid, T0 + timedelta(seconds=61)), handlers.on_notification_sent)
    assert escalated(engine, "c-acme") == [["agent-7", "acme-lead"]]
    assert escalated(engine, "c-op") == [["agent-7", "operator-lead"]]


def test_the_deadline_firer_escalates_to_the_complaints_tenants_ladder(engine, clock, tenants):
    directory, _, _ = tenants
    clock.advance(61)
    assert DeadlineFirer(engine, clock, binder=Binder(directory=directory)).fire_due() == 2
    assert escalated(engine, "c-acme") == [["agent-7", "acme-lead"]]
    assert escalated(engine, "c-op") == [["agent-7", "operator-lead"]]
    view = clocks_view(engine, "c-acme", Binder(directory=directory))
    assert view is not None and view.case is not None and view.case.ladder.lead == "acme-lead"


class TenantGuard:
    """A response guard stand-in that blocks every reply of tenant acme and records the tenant."""

    def __init__(self):
        self.asked: list[str] = []

    def check(self, body: str, language: str = "", tenant: str = "") -> GuardVerdict:
        self.asked.append(tenant)
        return GuardVerdict(allowed=tenant != "acme")


def test_an_agent_action_reads_the_complaints_tenants_ladder_and_guard(engine, clock, tenants):
    directory, _, _ = tenants
    guard = TenantGuard()
    actions = CaseActions(engine, clock, Binder(directory=directory), guard)
    for cid in ("c-acme", "c-op"):
        actions.apply(cid, "", lambda c, now: accept(c, "agent-7", now), kind="accept")

    def ask(agent: str):
        return lambda c, now: request_info(c, agent, "Which invoice?", now, request_id=f"q-{agent}")

    # acme's lead is on the acme complaint's ladder and may step in; the operator's lead is not.
    with pytest.raises(CaseError, match="nor on its escalation ladder"):
        actions.apply("c-acme", "", ask("operator-lead"), kind="request_info")
    actions.apply("c-acme", "", ask("acme-lead"), kind="request_info")
    actions.apply("c-op", "", ask("operator-lead"), kind="request_info")

    with pytest.raises(GuardBlocked):
        actions.check_response("We will look into it.", "en", "acme")
    assert actions.check_response("We will look into it.", "en").allowed
    assert guard.asked == ["acme", ""]
