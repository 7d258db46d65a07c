"""Escalation's service layer: lifecycle events, agent actions and due deadlines applied to cases.

Event handlers run inside the `EventConsumer` unit of work (`handler(session, envelope)`): they
change rows and stage the events announcing the change, committed together. Agent actions and
the deadline firer own their transactions, one per case; every write is made over the version
that was read, so racing writers cannot both win."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any, cast

from sqlmodel import Session

from services.common.codec import Envelope
from services.common.handler import Batched, Handler
from services.common.outbox import stage_rows
from services.common.pb.haq.v1 import events_pb2

from ..adapters.db import (
    CaseBatch,
    facts_acknowledged_at,
    facts_received_at,
)
from ..adapters.events import from_timestamp, priority_from_pb
from ..domain import (
    POLICIES,
    Assignment,
    Case,
    Clock,
    ClockName,
    SlaPolicy,
    customer_followed_up,
    offer,
    open_case,
    policy_for,
    record_receipt,
    rerouted,
    stop_clock,
    utc,
)
from .shared import Binder, publish

log = logging.getLogger(__name__)


ACKNOWLEDGEMENT_TEMPLATE = "acknowledgement"


def _in_batch(step: Callable[[EscalationHandlers, Session, Envelope], None]) -> Handler:
    """A handler step: run inside the batch `on_events` opened, or as a batch of its own event."""

    @functools.wraps(step)
    def run(self: EscalationHandlers, session: Session, envelope: Envelope) -> None:
        if CaseBatch.current(session) is None:
            self.on_events(session, [envelope])
        else:
            step(self, session, envelope)

    return run  # type: ignore[return-value]


class EscalationHandlers:
    """The lifecycle events escalation applies. The consumer hands a run of them to `on_events`
    (`batched`): the batch's cases, clocks and facts are read in one query per table, its events
    fold in memory in stream order, and what changed is written once per table at the end, in the
    consumer's transaction. Each `on_*` step reads and saves through that batch; called alone, a
    step is a batch of one."""

    HANDLED = ("ComplaintReceived", "ComplaintRouted", "NotificationSent", "CustomerFollowedUp")

    def __init__(
        self, clock: Clock, policies: Mapping[str, SlaPolicy] = POLICIES, binder: Binder | None = None
    ):
        self.clock = clock
        self.binder = binder or Binder(policies)
        self.policies = self.binder.policies
        self.batched = Batched(self.on_events)
        self._steps: dict[str, Handler] = {
            "ComplaintReceived": self.on_received,
            "ComplaintRouted": self.on_routed,
            "NotificationSent": self.on_notification_sent,
            "CustomerFollowedUp": self.on_followed_up,
        }

    def on_events(self, session: Session, envelopes: list[Envelope]) -> None:
        batch = CaseBatch.open(session, [cid for e in envelopes if (cid := _complaint_of(e))])
        try:
            for envelope in envelopes:
                self._steps[envelope.name](session, envelope)
            batch.flush()
            stage_rows(session, batch.outbox)
        finally:
            batch.close()

    @staticmethod
    def _cases(session: Session) -> CaseBatch:
        batch = CaseBatch.current(session)
        if batch is None:
            raise RuntimeError("escalation's handler steps run inside the batch on_events opens")
        return batch

    def _load(self, session: Session, cid: str) -> Case | None:
        cases = self._cases(session)
        case = cases.get(cid)
        return self.binder(case, cases.tenant(cid)) if case is not None else None

    def _save(self, session: Session, case: Case) -> None:
        self._cases(session).save(case)

    @_in_batch
    def on_received(self, session: Session, envelope: Envelope) -> None:
        """Remember when the customer complained; re-base the clocks if the case opened first."""
        complaint = cast(events_pb2.ComplaintReceived, envelope.message).complaint
        cid = complaint.id or envelope.subject
        if not cid:
            log.warning("ComplaintReceived %s has no complaint id; ignored", envelope.id)
            return
        facts = self._cases(session).facts_for_update(cid)
        received_at = facts_received_at(facts)
        if received_at is None:
            received_at = from_timestamp(complaint.received_at) or utc(envelope.time)
            facts.received_at, facts.received_event_id = received_at, envelope.id
        if complaint.tenant and not facts.tenant:
            facts.tenant = complaint.tenant
        case = self._load(session, cid)
        if case is not None and record_receipt(case, received_at):
            self._save(session, case)
            publish(session, case, envelope.id)

    @_in_batch
    def on_routed(self, session: Session, envelope: Envelope) -> None:
        """Offer the complaint to the routed owner: a new case with its clocks, or a (re)offer on
        an existing one (the current owner stays accountable until the new one accepts)."""
        routed = cast(events_pb2.ComplaintRouted, envelope.message)
        cid = routed.complaint_id or envelope.subject
        existing = self._load(session, cid)
        if existing is not None:
            # Routing decided again (a triage correction): new priority, SLA policy and team first.
            new_policy = routed.reassignment and routed.sla_policy
            sla = policy_for(routed.sla_policy, self.policies) if new_policy else None
            moved = rerouted(
                existing,
                routed.team,
                routed.owner,
                priority_from_pb(routed.priority),
                sla,
                routed.reason,
                self.clock.now(),
                self.binder.calendars.for_team(routed.team),
            )
            changed = moved.offer and offer(
                existing,
                routed.owner,
                duty_lead=routed.owner_is_duty_lead,
                now=self.clock.now(),
                reason=routed.reason or routed.explanation,
            )
            changed = changed or moved.changed
            if changed:
                self._save(session, existing)
                publish(session, existing, envelope.id)
            return
        facts = self._cases(session).facts(cid)
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
            calendar=self.binder.calendars.for_team(routed.team),
            ladder=self.binder.directory.ladder(routed.team, facts.tenant if facts is not None else ""),
        )
        acknowledged_at = facts_acknowledged_at(facts)
        if acknowledged_at is not None:  # notifications acknowledged before routing finished
            stop_clock(case, ClockName.ACKNOWLEDGEMENT, acknowledged_at)
        self._cases(session).add(case, opened_by_event=envelope.id)
        publish(session, case, envelope.id)

    @_in_batch
    def on_notification_sent(self, session: Session, envelope: Envelope) -> None:
        """An acknowledgement reached the customer: stop the acknowledgement clock."""
        sent = cast(events_pb2.NotificationSent, envelope.message)
        if sent.template != ACKNOWLEDGEMENT_TEMPLATE:
            return
        cid = sent.complaint_id or envelope.subject
        at = from_timestamp(sent.sent_at) or utc(envelope.time)
        facts = self._cases(session).facts_for_update(cid)
        if facts.acknowledged_at is None:
            facts.acknowledged_at = at
        case = self._load(session, cid)
        if case is None:
            return  # applied when the case opens
        if stop_clock(case, ClockName.ACKNOWLEDGEMENT, at) is not None:
            self._save(session, case)
            publish(session, case, envelope.id)

    @_in_batch
    def on_followed_up(self, session: Session, envelope: Envelope) -> None:
        """The customer wrote again: paused clocks resume and the next-response clock starts."""
        follow = cast(events_pb2.CustomerFollowedUp, envelope.message)
        cid = follow.complaint_id or envelope.subject
        case = self._load(session, cid)
        if case is None:
            log.info("follow-up on complaint %s before its case opened; the opening clocks cover it", cid)
            return
        # The clock restarts when escalation hears of it: a late event must not backdate a deadline.
        if customer_followed_up(case, self.clock.now()):
            self._save(session, case)
            publish(session, case, envelope.id)


def _complaint_of(envelope: Envelope) -> str:
    """The complaint an event's step reads, so the batch reads them all at once ("" for none)."""
    msg: Any = envelope.message
    if envelope.name == "ComplaintReceived":
        return msg.complaint.id or envelope.subject
    if envelope.name == "NotificationSent" and msg.template != ACKNOWLEDGEMENT_TEMPLATE:
        return ""
    return getattr(msg, "complaint_id", "") or envelope.subject
