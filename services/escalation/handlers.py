"""Escalation's service layer: lifecycle events and due deadlines applied to cases.

Event handlers run inside the `EventConsumer` unit of work (`handler(session, envelope)`): they
change rows and stage the events announcing the change, committed together. The deadline firer
owns its transactions, one per clock.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from prometheus_client import Counter, Histogram
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.common import topics
from services.common.codec import Envelope
from services.common.outbox import OutboxRelay, stage
from services.common.pb.haq.v1 import events_pb2

from .adapters.db import (
    ComplaintFactsRow,
    StaleClock,
    add_case,
    due_clocks,
    facts_acknowledged_at,
    facts_for_update,
    facts_received_at,
    get_facts,
    load_case,
    save_case,
)
from .adapters.events import from_timestamp, priority_from_pb, to_envelope
from .domain import (
    POLICIES,
    Assignment,
    Case,
    Clock,
    ClockName,
    SlaPolicy,
    breach,
    open_case,
    record_receipt,
    stop_clock,
    utc,
)

log = logging.getLogger(__name__)

ACKNOWLEDGEMENT_TEMPLATE = "acknowledgement"

BREACHES = Counter("haq_sla_breaches_total", "SLA clocks marked breached", ["clock"])
BREACH_LATENESS = Histogram(
    "haq_sla_breach_lateness_seconds",
    "How long after its due time a deadline was marked breached",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 30, 300),
)


def _publish(session: Session, case: Case, trigger_id: str) -> None:
    for event in case.events:
        stage(session, to_envelope(event, trigger_id), topics.LIFECYCLE_TOPIC)
    case.events.clear()


class EscalationHandlers:
    def __init__(self, clock: Clock, policies: Mapping[str, SlaPolicy] = POLICIES):
        self.clock = clock
        self.policies = policies

    def on_received(self, session: Session, envelope: Envelope) -> None:
        """Remember when the customer complained; re-base the clocks if the case opened first."""
        complaint = cast(events_pb2.ComplaintReceived, envelope.message).complaint
        cid = complaint.id or envelope.subject
        if not cid:
            log.warning("ComplaintReceived %s has no complaint id; ignored", envelope.id)
            return
        facts = facts_for_update(session, cid)
        received_at = facts_received_at(facts)
        if received_at is None:
            received_at = from_timestamp(complaint.received_at) or utc(envelope.time)
            facts.received_at, facts.received_event_id = received_at, envelope.id
        case = load_case(session, cid)
        if case is not None and record_receipt(case, received_at):
            save_case(session, case)
            _publish(session, case, envelope.id)

    def on_routed(self, session: Session, envelope: Envelope) -> None:
        """Offer the complaint to the routed owner and start its clocks."""
        routed = cast(events_pb2.ComplaintRouted, envelope.message)
        cid = routed.complaint_id or envelope.subject
        if load_case(session, cid) is not None:
            log.info("complaint %s already has a case; re-routing arrives with issue #4", cid)
            return
        facts = get_facts(session, cid)
        case = open_case(
            Assignment(
                complaint_id=cid,
                team=routed.team,
                owner=routed.owner,
                priority=priority_from_pb(routed.priority),
                sla_policy=routed.sla_policy,
                owner_is_duty_lead=routed.owner_is_duty_lead,
                sector=routed.sector,
            ),
            received_at=facts_received_at(facts),
            now=self.clock.now(),
            policies=self.policies,
        )
        acknowledged_at = facts_acknowledged_at(facts)
        if acknowledged_at is not None:  # notifications acknowledged before routing finished
            stop_clock(case, ClockName.ACKNOWLEDGEMENT, acknowledged_at)
        add_case(session, case, opened_by_event=envelope.id)
        _publish(session, case, envelope.id)

    def on_notification_sent(self, session: Session, envelope: Envelope) -> None:
        """An acknowledgement reached the customer: stop the acknowledgement clock."""
        sent = cast(events_pb2.NotificationSent, envelope.message)
        if sent.template != ACKNOWLEDGEMENT_TEMPLATE:
            return
        cid = sent.complaint_id or envelope.subject
        at = from_timestamp(sent.sent_at) or utc(envelope.time)
        facts = facts_for_update(session, cid)
        if facts.acknowledged_at is None:
            facts.acknowledged_at = at
        case = load_case(session, cid)
        if case is None:
            return  # applied when the case opens
        if stop_clock(case, ClockName.ACKNOWLEDGEMENT, at) is not None:
            save_case(session, case)
            _publish(session, case, envelope.id)


class DeadlineFirer:
    """Marks due clocks breached, each in its own transaction with its SlaBreached event.

    The clock row is written only over the version that was read, and the event id is fixed per
    (complaint, clock), so with several workers, a redelivery or a restart a deadline still
    fires at most once.
    """

    def __init__(self, engine: Engine, clock: Clock, relay: OutboxRelay | None = None, batch: int = 500):
        self.engine = engine
        self.clock = clock
        self.relay = relay
        self.batch = batch

    def fire_due(self) -> int:
        now = self.clock.now()
        with Session(self.engine) as session:
            due = due_clocks(session, now, self.batch)
        fired = sum(self._fire(cid, name) for cid, name in due)
        if fired and self.relay is not None:
            self.relay.wake()
        return fired

    def _fire(self, complaint_id: str, name: ClockName) -> bool:
        with Session(self.engine) as session:
            case = load_case(session, complaint_id)
            now = self.clock.now()
            clock = breach(case, name, now) if case is not None else None
            if case is None or clock is None:
                return False  # stopped or re-based since the query
            try:
                save_case(session, case)
                _publish(session, case, trigger_id="")
                session.commit()
            except StaleClock:
                session.rollback()
                return False
        BREACHES.labels(name.value).inc()
        BREACH_LATENESS.observe(max(0.0, (now - clock.due_at).total_seconds()))
        log.warning(
            "SLA clock %s breached for complaint %s (owner %s, team %s)",
            name.value,
            complaint_id,
            case.owner,
            case.team,
        )
        return True


@dataclass(frozen=True)
class ClocksView:
    """What escalation knows of a complaint: its case, or only that it was received."""

    complaint_id: str
    case: Case | None
    facts: ComplaintFactsRow | None


def clocks_view(engine: Engine, complaint_id: str) -> ClocksView | None:
    with Session(engine) as session:
        case = load_case(session, complaint_id)
        facts = get_facts(session, complaint_id)
        if facts is not None:
            session.expunge(facts)
    if case is None and facts is None:
        return None
    return ClocksView(complaint_id, case, facts)
