"""Escalation's service layer: lifecycle events, agent actions and due deadlines applied to cases.

Event handlers run inside the `EventConsumer` unit of work (`handler(session, envelope)`): they
change rows and stage the events announcing the change, committed together. Agent actions and
the deadline firer own their transactions, one per case; every write is made over the version
that was read, so racing writers cannot both win.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar, cast

from prometheus_client import Counter, Histogram
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.common import topics
from services.common.codec import Envelope
from services.common.db import ProcessedEvent
from services.common.handler import Batched, Handler
from services.common.outbox import OutboxRelay, outbox_row, stage, stage_rows
from services.common.pb.haq.v1 import events_pb2

from .adapters.db import (
    CaseBatch,
    ComplaintFactsRow,
    StaleCase,
    case_tenant,
    clock_history,
    due_cases,
    facts_acknowledged_at,
    facts_received_at,
    get_facts,
    load_case,
    save_case,
)
from .adapters.events import from_timestamp, priority_from_pb, to_envelopes
from .adapters.guard import Finding, GuardVerdict
from .domain import (
    ALWAYS_OPEN,
    POLICIES,
    Assignment,
    Calendars,
    Case,
    Clock,
    ClockBreached,
    ClockName,
    Escalated,
    Ladder,
    Roster,
    SlaClock,
    SlaPolicy,
    SlaWarning,
    customer_followed_up,
    offer,
    open_case,
    policy_for,
    record_receipt,
    rerouted,
    stop_clock,
    tick,
    utc,
)

log = logging.getLogger(__name__)

ACKNOWLEDGEMENT_TEMPLATE = "acknowledgement"
ACTIONS_CONSUMER = "escalation-actions"

BREACHES = Counter("haq_sla_breaches_total", "SLA clocks marked breached", ["clock"])
WARNINGS = Counter("haq_sla_warnings_total", "SLA warnings raised", ["clock"])
ESCALATIONS = Counter("haq_escalations_total", "Escalation ladder steps", ["level"])
FIRE_FAILURES = Counter(
    "haq_deadline_fire_failures",
    "Cases whose due work failed to apply (isolated, retried with backoff)",
)
DEADLINE_LATENESS = Histogram(
    "haq_deadline_lateness_seconds",
    "How long after its due time a deadline was applied",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 30, 300),
)


class Directory(Protocol):
    """Read from a cache only: never a call to another service (it may run inside a transaction).

    `tenant` is the complaint's tenant; "" means the operator tenant."""

    def ladder(self, team: str, tenant: str = "") -> Ladder: ...

    def roster(self, tenant: str = "") -> Roster | None: ...


class Guard(Protocol):
    """`tenant`: whose settings (guard mode, reply length) apply; "" means the guard's own."""

    def check(self, body: str, language: str = "", tenant: str = "") -> GuardVerdict: ...


class NoLadder:
    def ladder(self, team: str, tenant: str = "") -> Ladder:
        return Ladder()

    def roster(self, tenant: str = "") -> Roster | None:
        return None  # no directory: transfers are not checked against one


def stored_tenant(session: Session, complaint_id: str) -> str:
    """The tenant the complaint's ComplaintReceived named; "" (the operator tenant) when none."""
    return case_tenant(session, complaint_id, "")


class CaseNotFound(LookupError):
    pass


class GuardBlocked(RuntimeError):
    """The response guard refused the reply; findings say what to change."""

    def __init__(self, findings: tuple[Finding, ...]):
        super().__init__("; ".join(f.describe() for f in findings) or "refused by the response guard")
        self.findings = findings


def _publish(session: Session, case: Case, trigger_id: str) -> list[Envelope]:
    envelopes = to_envelopes(case.events, trigger_id)
    batch = CaseBatch.current(session)
    for envelope in envelopes:
        if batch is not None:  # inserted with the batch's other writes, in this order
            batch.outbox.append(outbox_row(envelope, topics.LIFECYCLE_TOPIC))
        else:
            stage(session, envelope, topics.LIFECYCLE_TOPIC)
    _count(case)
    case.events.clear()
    return envelopes


def _count(case: Case) -> None:
    for event in case.events:
        if isinstance(event, ClockBreached):
            BREACHES.labels(event.clock.name.value).inc()
            log.warning(
                "SLA clock %s breached for complaint %s (owner %s, team %s)",
                event.clock.name.value,
                case.complaint_id,
                event.owner,
                event.team,
            )
        elif isinstance(event, SlaWarning):
            WARNINGS.labels(event.clock.name.value).inc()
        elif isinstance(event, Escalated):
            ESCALATIONS.labels(event.level).inc()


class Binder:
    """Gives a loaded case what is not stored with it: its policy, calendar and ladder (the
    complaint's tenant's; "" reads the operator tenant's)."""

    def __init__(
        self,
        policies: Mapping[str, SlaPolicy] = POLICIES,
        calendars: Calendars = ALWAYS_OPEN,
        directory: Directory | None = None,
    ):
        self.policies = policies
        self.calendars = calendars
        self.directory: Directory = directory or NoLadder()

    def __call__(self, case: Case, tenant: str = "") -> Case:
        return case.bind(
            policy_for(case.policy, self.policies),
            self.calendars.for_team(case.team),
            self.directory.ladder(case.team, tenant),
        )


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
            _publish(session, case, envelope.id)

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
                _publish(session, existing, envelope.id)
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
        _publish(session, case, envelope.id)

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
            _publish(session, case, envelope.id)

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
            _publish(session, case, envelope.id)


def _complaint_of(envelope: Envelope) -> str:
    """The complaint an event's step reads, so the batch reads them all at once ("" for none)."""
    msg: Any = envelope.message
    if envelope.name == "ComplaintReceived":
        return msg.complaint.id or envelope.subject
    if envelope.name == "NotificationSent" and msg.template != ACKNOWLEDGEMENT_TEMPLATE:
        return ""
    return getattr(msg, "complaint_id", "") or envelope.subject


T = TypeVar("T")


@dataclass(frozen=True)
class ActionResult:
    case: Case
    event_ids: list[str]
    value: Any = None
    replayed: bool = False


class CaseActions:
    """Agent actions: each loads the case, applies the domain function, and commits the change
    with its events. A request id makes a retried call apply once; it is scoped to the case's
    tenant, the complaint and the action, so the same id on another complaint or another action
    is a new request (and its events get ids of their own)."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        binder: Binder,
        guard: Guard | None = None,
        relay: OutboxRelay | None = None,
        default_tenant: str = "default",
    ):
        self.engine = engine
        self.clock = clock
        self.binder = binder
        self.guard = guard
        self.relay = relay
        self.default_tenant = default_tenant

    def apply(
        self,
        complaint_id: str,
        request_id: str,
        action: Callable[[Case, datetime], T],
        *,
        kind: str,
    ) -> ActionResult:
        for attempt in range(3):
            with Session(self.engine) as session:
                case = load_case(session, complaint_id)
                if case is None:
                    raise CaseNotFound(f"complaint {complaint_id} has no case in escalation")
                stored = stored_tenant(session, complaint_id)
                self.binder(case, stored)
                if request_id:
                    tenant = stored or self.default_tenant
                    trigger = f"action:{tenant}:{complaint_id}:{kind}:{request_id}"
                    if session.get(ProcessedEvent, (ACTIONS_CONSUMER, trigger)) is not None:
                        return ActionResult(case, [], replayed=True)
                else:
                    trigger = f"action:{uuid.uuid4()}"
                value = action(case, self.clock.now())
                try:
                    save_case(session, case)
                    envelopes = _publish(session, case, trigger)
                    if request_id:
                        session.add(ProcessedEvent(consumer=ACTIONS_CONSUMER, event_id=trigger))
                    session.commit()
                except StaleCase:
                    session.rollback()
                    if attempt == 2:
                        raise
                    continue
            if self.relay is not None:
                self.relay.wake()
            return ActionResult(case, [e.id for e in envelopes], value)
        raise AssertionError("unreachable")

    def check_response(self, body: str, language: str = "", tenant: str = "") -> GuardVerdict:
        """Ask the guard, with the settings of `tenant` (the complaint's; "" the operator's), before
        the reply is accepted; refuse it when the guard blocks it."""
        if self.guard is None:
            return GuardVerdict(allowed=True, ran=False)
        verdict = self.guard.check(body, language, tenant)
        if not verdict.allowed:
            raise GuardBlocked(verdict.findings)
        return verdict


class DeadlineFirer:
    """Applies whatever time made due (warnings, breaches, ladder steps, transfer timeouts,
    closing), one case per transaction, found through the durable deadline index.

    The case is written only over the version that was read, and the events' ids are fixed per
    deadline (breach, warning, ladder step, with the clock's cycle) or per case version, so with
    several workers, a redelivery or a restart a deadline still fires at most once downstream.

    Each case is isolated: one that fails (anything but a concurrent change) is logged, counted
    (haq_deadline_fire_failures_total) and retried later with a growing backoff, while the rest of
    the batch fires; its deadline stays in the index, so a restart retries it too. Nothing here
    calls another service: the binder reads the directory from its cache.
    """

    RETRY_FIRST = timedelta(seconds=1)
    RETRY_MAX = timedelta(minutes=5)

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        relay: OutboxRelay | None = None,
        batch: int = 500,
        binder: Binder | None = None,
    ):
        self.engine = engine
        self.clock = clock
        self.relay = relay
        self.batch = batch
        self.binder = binder or Binder()
        # complaint id -> (failed attempts, not to be tried before)
        self._retries: dict[str, tuple[int, datetime]] = {}

    def fire_due(self) -> int:
        """Cases whose due work produced events in this call."""
        now = self.clock.now()
        waiting = [cid for cid, (_, retry_at) in self._retries.items() if retry_at > now]
        with Session(self.engine) as session:
            due = due_cases(session, now, self.batch, exclude=waiting)
        fired = 0
        for cid, due_at in due:
            try:
                fired += self._fire(cid, due_at)
            except Exception:  # one case must not stop the others: retried after a backoff
                self._failed(cid, now)
            else:
                self._retries.pop(cid, None)
        if fired and self.relay is not None:
            self.relay.wake()
        return fired

    def _failed(self, complaint_id: str, now: datetime) -> None:
        attempts = self._retries.get(complaint_id, (0, now))[0] + 1
        delay = min(self.RETRY_FIRST * 2 ** (attempts - 1), self.RETRY_MAX)
        self._retries[complaint_id] = (attempts, now + delay)
        FIRE_FAILURES.inc()
        log.exception(
            "firing the due work of complaint %s failed (attempt %d); retrying in %.0f s",
            complaint_id,
            attempts,
            delay.total_seconds(),
        )

    def _fire(self, complaint_id: str, due_at: datetime) -> bool:
        with Session(self.engine) as session:
            case = load_case(session, complaint_id)
            if case is None:
                return False
            self.binder(case, stored_tenant(session, complaint_id))
            trigger = f"tick:{complaint_id}:{case.version}"
            now = self.clock.now()
            tick(case, now)
            emitted = bool(case.events)
            try:
                save_case(session, case)  # moves the deadline index on even when nothing was due
                _publish(session, case, trigger)
                session.commit()
            except StaleCase:
                session.rollback()
                return False  # changed since the query: the next pass sees the new deadline
        DEADLINE_LATENESS.observe(max(0.0, (now - due_at).total_seconds()))
        return emitted


@dataclass(frozen=True)
class ClocksView:
    """What escalation knows of a complaint: its case and every clock cycle, or only that it was
    received."""

    complaint_id: str
    case: Case | None
    facts: ComplaintFactsRow | None
    history: tuple[SlaClock, ...] = ()


def clocks_view(engine: Engine, complaint_id: str, binder: Binder | None = None) -> ClocksView | None:
    with Session(engine) as session:
        case = load_case(session, complaint_id)
        history = tuple(clock_history(session, complaint_id)) if case is not None else ()
        facts = get_facts(session, complaint_id)
        if facts is not None:
            session.expunge(facts)
    if case is None and facts is None:
        return None
    if case is not None and binder is not None:
        binder(case, facts.tenant if facts is not None else "")
    return ClocksView(complaint_id, case, facts, history)
