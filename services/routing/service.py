"""Routing's service layer, run inside the consumer's one transaction (or an admin call's):
route a received complaint by its tenant's rule set (its own active or staged version, or the
built-in one), keep who holds what (so capacity is known),
assign queued complaints when capacity frees, and find another owner on a reroute request.
Every decision is stored and announced with a `ComplaintRouted` through the outbox.
(Over ~450 lines: the consumer's handlers and the decision record share one unit of work; RuleSets is in rule_sets.py.)
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from prometheus_client import Counter
from sqlmodel import Session

from services.common import topics
from services.common.codec import Envelope, new_event
from services.common.lifecycle import CaseLifecycle, fold
from services.common.outbox import stage
from services.common.pb.haq.v1 import complaint_pb2, events_pb2
from services.common.proto_values import enum_name, enum_value

from .adapters import accounts_db, db
from .domain.assignment import Need, QueuedComplaint, assign, drain_queue
from .domain.model import Account, Decision, Directory, RoutingInput, SignalScore, with_scores
from .domain.routing import decide
from .domain.staging import Pointer
from .rule_sets import Routed, RuleSets

__all__ = ["Router", "RuleSets", "Routed", "BatchCache"]
from .triage.scorer import load_model

SVC = "routing"
SOURCE = "/haq/routing"
log = logging.getLogger(__name__)

DECISIONS = Counter(
    "haq_routing_decisions_total", "Complaints routed", ["team", "rule_id", "owner_is_duty_lead"]
)
REASSIGNMENTS = Counter(
    "haq_routing_reassignments_total", "Queued or rerouted complaints given an owner", ["cause"]
)
TRIAGE_FAILURES = Counter(
    "haq_routing_triage_failures_total",
    "Complaints routed without triage signals because the model could not score them",
    ["model"],
)


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        return None  # intake validates the format; a bad one must not stop routing


def account_of(complaint: complaint_pb2.Complaint, accounts: Mapping[str, Account]) -> Account | None:
    """The tenant's record of the customer's account (routing_accounts; the seeded tenant's come
    from accounts.yaml), with metadata filling or overriding it (an integration may send
    entitlements it owns)."""
    meta = complaint.metadata
    account_id = complaint.customer.account_id.strip()
    base = accounts.get(account_id) or (Account(id=account_id) if account_id else None)
    overrides: dict[str, Any] = {}
    for key, field in (
        ("tier", "tier"),
        ("account_tier", "tier"),
        ("contract_sla_policy", "sla_policy"),
        ("account_manager", "account_manager"),
    ):
        if meta.get(key, "").strip():
            overrides[field] = meta[key].strip()
    hours = meta.get("contracted_response_hours", "").strip()
    if hours.isdigit():
        overrides["response_hours"] = int(hours)
    if not overrides:
        return base
    return dataclasses.replace(base or Account(id=account_id or "(metadata)"), **overrides)


def routing_input(
    received: events_pb2.ComplaintReceived, tenant: str, accounts: Mapping[str, Account] | None = None
) -> RoutingInput:
    c = received.complaint
    h = received.history
    received_at = c.received_at.ToDatetime(tzinfo=UTC) if c.HasField("received_at") else None
    return RoutingInput(
        complaint_id=c.id,
        tenant=tenant,
        sector=enum_name(complaint_pb2.Sector, c.sector),
        complainant_role=enum_name(complaint_pb2.ComplainantRole, c.complainant_role),
        channel=enum_name(complaint_pb2.Channel, c.channel),
        language=c.language,
        subject=c.subject,
        body=c.body,
        category=c.category,
        previous_owners=tuple(o for o in h.previous_owners if o),
        reference=c.reference,
        previous_complaints=max(h.previous_complaints, len(h.previous_complaint_ids)),
        open_complaints=h.open_complaints,
        purchase_date=_date(c.purchase_date),
        received_at=received_at,
        metadata=tuple(sorted(c.metadata.items())),
        account=account_of(c, accounts or {}),
    )


def scored(complaint: RoutingInput, model_version: str) -> RoutingInput:
    """The complaint with its signals scored by the named triage model (models are loaded once per
    process and cached; scoring is pure computation). Signals a person corrected are kept. A model
    that fails is logged and counted, and the complaint is routed on its other conditions (the
    keyword rules still catch danger): one complaint's text must never stop routing."""
    if not model_version:
        return complaint
    try:
        return with_scores(complaint, load_model(model_version))
    except Exception as exc:  # noqa: BLE001 - see the docstring
        TRIAGE_FAILURES.labels(model_version).inc()
        # The type only: an exception's text could quote the complaint.
        log.error(
            "triage model %s could not score %s (%s); routed without signals",
            model_version,
            complaint.complaint_id,
            type(exc).__name__,
        )
        return complaint


def input_to_json(value: RoutingInput) -> dict[str, Any]:
    return json_safe(dataclasses.asdict(value))


def json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def input_from_json(data: Mapping[str, Any]) -> RoutingInput:
    fields = dict(data)
    for key in ("previous_owners",):
        fields[key] = tuple(fields.get(key) or ())
    fields["metadata"] = tuple(tuple(kv) for kv in fields.get("metadata") or ())
    fields["purchase_date"] = _date(fields.get("purchase_date") or "")
    at = fields.get("received_at")
    fields["received_at"] = datetime.fromisoformat(at) if at else None
    account = fields.get("account")
    fields["account"] = Account(**account) if account else None
    # Inputs stored before triage have no signals: they load unscored (explain scores them afresh).
    fields["signals"] = tuple(
        SignalScore(
            signal=str(s["signal"]),
            score=float(s["score"]),
            top_terms=tuple(str(t) for t in s.get("top_terms") or ()),
            source=str(s.get("source") or "model"),
        )
        for s in fields.get("signals") or ()
    )
    fields["triage_model"] = str(fields.get("triage_model") or "")
    known = {f.name for f in dataclasses.fields(RoutingInput)}
    return RoutingInput(**{k: v for k, v in fields.items() if k in known})


def priority_value(priority: str) -> int:
    return enum_value(complaint_pb2.Priority, priority, strict=True)


def routed_message(decision: Decision) -> events_pb2.ComplaintRouted:
    return events_pb2.ComplaintRouted(
        complaint_id=decision.complaint_id,
        team=decision.team,
        owner=decision.owner,
        owner_is_duty_lead=decision.owner_is_duty_lead,
        priority=priority_value(decision.priority),
        sla_policy=decision.sla_policy,
        rule_id=decision.rule_id,
        rule_set_version=decision.rule_set_version,
        explanation=decision.explanation,
        tags=list(decision.tags),
        keep_informed=list(decision.keep_informed),
        required_skills=list(decision.required_skills),
        sector=decision.sector,
    )


def checksum(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


@dataclasses.dataclass
class BatchCache:
    """What one consumer transaction reads once for all the complaints it routes."""

    directory_tenants: dict[str, str] = dataclasses.field(default_factory=dict)
    pointers: dict[str, Pointer | None] = dataclasses.field(default_factory=dict)  # per tenant
    directories: dict[str, Directory] = dataclasses.field(default_factory=dict)
    accounts: dict[str, dict[str, Account]] = dataclasses.field(default_factory=dict)  # per tenant


class Router:
    def __init__(
        self,
        rule_sets: RuleSets,
        default_tenant: str,
        fallback_directory: str,
        accounts: Mapping[str, Account] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.rule_sets = rule_sets
        self.default_tenant = default_tenant
        self.fallback_directory = fallback_directory  # the seeded tenant
        self.accounts = dict(accounts or {})  # a base under every tenant's own (tests); the worker gives none
        self.clock = clock

    def accounts_of(self, session: Session, tenant: str) -> Mapping[str, Account]:
        """The tenant's own B2B accounts (routing_accounts), read once per consumer transaction."""
        batch = session.info.setdefault("routing_batch", BatchCache())
        if tenant not in batch.accounts:
            batch.accounts[tenant] = {**self.accounts, **accounts_db.load_accounts(session, tenant)}
        return batch.accounts[tenant]

    def directory_tenant(self, session: Session, tenant: str) -> str:
        # A tenant without its own directory is served by the default one rather than left unowned.
        return tenant if db.has_directory(session, tenant) else self.fallback_directory

    def _batch_directory_tenant(self, session: Session, batch: BatchCache, tenant: str) -> str:
        if tenant not in batch.directory_tenants:
            batch.directory_tenants[tenant] = self.directory_tenant(session, tenant)
        return batch.directory_tenants[tenant]

    def decision_directory(self, session: Session, decision: db.RoutingDecisionRecord | None) -> str:
        """The directory of a stored decision whose holding is gone: the tenant's (or the seeded)."""
        return self.directory_tenant(session, decision.tenant if decision else "")

    # --- a new complaint -------------------------------------------------------------------

    def on_received(self, session: Session, envelope: Envelope) -> None:
        received = envelope.message
        assert isinstance(received, events_pb2.ComplaintReceived)
        complaint_id = received.complaint.id
        if not complaint_id:
            raise ValueError("ComplaintReceived has no complaint.id")
        if db.get_decision(session, complaint_id) is not None:
            # Routed already under another event id (e.g. re-emitted by intake): one decision per complaint.
            log.info("complaint %s already routed; %s ignored", complaint_id, envelope.id)
            return
        tenant = received.complaint.tenant or self.default_tenant
        batch = session.info.setdefault("routing_batch", BatchCache())
        unscored = routing_input(received, tenant, self.accounts_of(session, tenant))
        # The tenant's pointer (and the built-in's) is read once in this transaction: the batch
        # routes each tenant by one active version (and its staged one, for the staged share).
        routed_by = self.rule_sets.for_complaint(
            session, tenant, complaint_id, unscored.channel, batch.pointers
        )
        rule_set = routed_by.rule_set
        # The tenant's own directory first (the seeded one for a tenant without); a tenant that
        # inherits the built-in rules but whose directory has neither the rule's team nor the
        # default team (its first teams, before its own rules) is routed in the directory of the
        # rule set's owner instead, rather than left unrouted.
        candidates = [self._batch_directory_tenant(session, batch, tenant)]
        if routed_by.tenant != tenant:
            owner_directory = self._batch_directory_tenant(session, batch, routed_by.tenant)
            if owner_directory != candidates[0]:
                candidates.append(owner_directory)
        # Scored once, with the model the batch's rule set names, before any rule is evaluated.
        complaint = scored(unscored, rule_set.triage_model)
        for i, directory_tenant in enumerate(candidates):
            # The directory is read and its agents locked once per transaction (the locks hold
            # until commit, so it cannot change under the batch); loads are read fresh each time.
            if directory_tenant in batch.directories:
                directory = batch.directories[directory_tenant]
                loads = db.load_agent_loads(session, directory_tenant)
            else:
                directory, loads = db.load_directory(session, directory_tenant, lock=True)
                batch.directories[directory_tenant] = directory
            try:
                decision = decide(rule_set, directory, loads, complaint, self.clock())
                break
            except LookupError:
                if i == len(candidates) - 1:
                    raise
        if routed_by.staged:
            decision = dataclasses.replace(
                decision,
                explanation=f"{decision.explanation}\nRule set {rule_set.version} is staged "
                f"(tenant {routed_by.tenant}); this complaint is in its share of traffic.",
            )
        db.hold(
            session,
            directory_tenant,
            complaint_id,
            decision.team,
            decision.owner,
            queued=decision.queued,
            priority=decision.priority,
            required_skills=decision.required_skills,
            required_language=decision.required_language,
            previous_owners=complaint.previous_owners,
        )
        db.save_decision(
            session,
            decision,
            envelope.id,
            complaint.reference,
            input_to_json(complaint),
            rule_set_tenant=routed_by.tenant,
            rule_set_staged=routed_by.staged,
        )
        routed = new_event(
            routed_message(decision),
            source=SOURCE,
            subject=complaint_id,
            event_id=f"routed:{envelope.id}",  # a redelivered trigger can never mint a second event
        )
        stage(session, routed, topics.LIFECYCLE_TOPIC)
        DECISIONS.labels(decision.team, decision.rule_id, str(decision.owner_is_duty_lead).lower()).inc()
        log.info(
            "routed %s to %s owner=%s rule=%s version=%s/%s%s priority=%s queued=%s",
            complaint_id,
            decision.team,
            decision.owner,
            decision.rule_id,
            routed_by.tenant,
            decision.rule_set_version,
            " (staged)" if routed_by.staged else "",
            decision.priority,
            decision.queued,
        )

    # --- capacity frees --------------------------------------------------------------------

    def _agent_team(self, session: Session, tenant: str, agent_id: str) -> str:
        row = db.get_agent(session, tenant, agent_id) if agent_id else None
        return row.team if row is not None else ""

    def _released(
        self, session: Session, envelope: Envelope, complaint_id: str, owner: str, why: str
    ) -> None:
        holding = db.get_holding(session, complaint_id)
        if holding is None:
            return
        tenant, freed = holding.tenant, holding.owner
        if db.release(session, complaint_id, owner) is not None:
            team = self._agent_team(session, tenant, freed)
            if team:
                self.drain(session, tenant, team, f"{freed} was freed ({why})", envelope.id)

    def on_resolved(self, session: Session, envelope: Envelope) -> None:
        msg = envelope.message
        assert isinstance(msg, events_pb2.Resolved)
        self._released(
            session, envelope, msg.complaint_id or envelope.subject, "", "a complaint was resolved"
        )

    def on_closed(self, session: Session, envelope: Envelope) -> None:
        msg = envelope.message
        assert isinstance(msg, events_pb2.Closed)
        self._released(session, envelope, msg.complaint_id or envelope.subject, "", "a complaint was closed")

    def on_owner_declined(self, session: Session, envelope: Envelope) -> None:
        msg = envelope.message
        assert isinstance(msg, events_pb2.OwnerDeclined)
        cid = msg.complaint_id or envelope.subject
        self._released(session, envelope, cid, msg.owner, f"{msg.owner} declined a complaint")

    def _moved(self, session: Session, envelope: Envelope, previous: str, queued: bool) -> None:
        """Ownership moved elsewhere (escalation decided): the new owner and team are those of the
        lifecycle fold every reader shares; count the move, then use what the previous owner freed."""
        cid = envelope.message.complaint_id or envelope.subject
        holding = db.get_holding(session, cid)
        decision = db.get_decision(session, cid)
        tenant = holding.tenant if holding else self.decision_directory(session, decision)
        held = (
            CaseLifecycle(status="owned", team=holding.team, owner=holding.owner)
            if holding
            else CaseLifecycle()
        )
        moved = fold(held, envelope.name, envelope.message)
        known = db.get_agent(session, tenant, moved.owner) is not None
        db.hold(session, tenant, cid, moved.team, moved.owner if known else "", queued=queued and known)
        team_of_previous = self._agent_team(session, tenant, previous)
        if team_of_previous:
            self.drain(session, tenant, team_of_previous, f"{previous} handed a complaint on", envelope.id)

    def on_transfer_accepted(self, session: Session, envelope: Envelope) -> None:
        msg = envelope.message
        assert isinstance(msg, events_pb2.TransferAccepted)
        self._moved(session, envelope, msg.previous_owner, False)

    def on_transfer_declined(self, session: Session, envelope: Envelope) -> None:
        """A declined (or unanswered) transfer leaves the complaint with the owner who asked for it.
        Routing holds nobody else for an ordinary transfer, so this changes nothing then; but a
        triage correction holds routing's new owner at once (corrections.py), and a declined
        hand-off must give that capacity slot back and count the complaint against its owner."""
        msg = envelope.message
        assert isinstance(msg, events_pb2.TransferDeclined)
        cid = msg.complaint_id or envelope.subject
        holding = db.get_holding(session, cid)
        if holding is None or not holding.owner or not msg.owner or holding.owner == msg.owner:
            return
        tenant, proposed, proposed_team = holding.tenant, holding.owner, holding.team
        team = self._agent_team(session, tenant, msg.owner) or proposed_team
        db.hold(session, tenant, cid, team, msg.owner, queued=False)
        log.info("transfer of %s declined: held by %s in %s again (not %s)", cid, msg.owner, team, proposed)
        self.drain(session, tenant, proposed_team, f"a transfer to {proposed} was declined", envelope.id)

    def on_owner_replaced(self, session: Session, envelope: Envelope) -> None:
        msg = envelope.message
        assert isinstance(msg, events_pb2.OwnerReplaced)
        self._moved(session, envelope, msg.previous_owner, msg.new_owner_is_duty_lead)

    def drain(self, session: Session, tenant: str, team_id: str, cause: str, trigger_id: str) -> list[str]:
        """Assign the team's queued complaints, oldest first, while agents have capacity. Each gets
        a ComplaintRouted with reassignment=true and the duty owner as previous_owner."""
        if not db.queue(session, tenant, team_id):
            return []  # the common case, without taking any lock
        # Locks before the read that decides: the agents' rows first, then the queue read again
        # fresh, so two workers draining one team cannot both hand out the same queued complaint.
        directory, loads = db.load_directory(session, tenant, lock=True)
        queued = db.queue(session, tenant, team_id)
        team = directory.team(team_id)
        if team is None:
            return []
        items = [
            QueuedComplaint(
                h.complaint_id, Need(tuple(h.required_skills), h.required_language), tuple(h.previous_owners)
            )
            for h in queued
        ]
        holders = {h.complaint_id: h.owner for h in queued}
        assigned: list[str] = []
        for item, choice in drain_queue(team, loads, items, self.clock()):
            cid = item.complaint_id
            previous = holders[cid]
            db.hold(session, tenant, cid, team_id, choice.owner, queued=False)
            reason = f"Assigned from the {team_id} queue because capacity freed ({cause}): {choice.reason}."
            self._announce(
                session, cid, team_id, choice.owner, previous, reason, f"routed:{trigger_id}:{cid}"
            )
            REASSIGNMENTS.labels("queue").inc()
            assigned.append(cid)
        return assigned

    # --- escalation asks for another owner -------------------------------------------------

    def on_reroute_requested(self, session: Session, envelope: Envelope) -> None:
        msg = envelope.message
        assert isinstance(msg, events_pb2.RerouteRequested)
        cid = msg.complaint_id or envelope.subject
        decision = db.get_decision(session, cid)
        holding = db.get_holding(session, cid)
        tenant = holding.tenant if holding else self.decision_directory(session, decision)
        directory, loads = db.load_directory(session, tenant, lock=True)
        wanted = msg.team or (holding.team if holding else "") or (decision.team if decision else "")
        team = directory.team(wanted)
        if team is None:
            raise LookupError(f"reroute of {cid}: team {wanted!r} is not in the directory of {tenant!r}")
        need = Need(tuple(holding.required_skills), holding.required_language) if holding else Need()
        exclude = tuple(
            dict.fromkeys([*msg.exclude_owners, *([msg.current_owner] if msg.current_owner else [])])
        )
        choice = assign(team, loads, (), need, self.clock(), exclude=exclude)
        previous = msg.current_owner or (holding.owner if holding else "")
        db.hold(session, tenant, cid, team.id, choice.owner, queued=choice.owner_is_duty_lead)
        reason = f"Rerouted at escalation's request ({msg.reason or 'no reason given'}); excluded {', '.join(exclude) or 'nobody'}: {choice.reason}."
        self._announce(
            session,
            cid,
            team.id,
            choice.owner,
            previous,
            reason,
            f"routed:{envelope.id}",
            choice.owner_is_duty_lead,
        )
        REASSIGNMENTS.labels("reroute").inc()

    def _announce(
        self,
        session: Session,
        cid: str,
        team: str,
        owner: str,
        previous: str,
        reason: str,
        event_id: str,
        duty: bool = False,
    ) -> None:
        decision = db.get_decision(session, cid)
        msg = events_pb2.ComplaintRouted(
            complaint_id=cid,
            team=team,
            owner=owner,
            owner_is_duty_lead=duty,
            reassignment=True,
            previous_owner=previous,
            reason=reason,
        )
        if decision is not None:  # the rules' outcome stands; only the owner changes
            msg.priority = priority_value(decision.priority)
            msg.sla_policy, msg.rule_id = decision.sla_policy, decision.rule_id
            msg.rule_set_version, msg.sector = decision.rule_set_version, decision.sector
            msg.tags.extend(decision.tags)
            msg.keep_informed.extend(decision.keep_informed)
            msg.required_skills.extend(decision.required_skills)
            msg.explanation = f"{decision.explanation}\n{reason}"
        else:
            msg.explanation = reason
        stage(session, new_event(msg, source=SOURCE, subject=cid, event_id=event_id), topics.LIFECYCLE_TOPIC)
        log.info("reassigned %s in %s to %s (was %s)", cid, team, owner, previous)
