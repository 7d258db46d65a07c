"""Human correction of triage: an agent or lead marks a signal (e.g. safety) on a complaint, or
clears it, and routing decides again at once with the correction in force.

The stored input of the complaint's decision is loaded, every stored correction plus the new one is
applied as a signal with source "correction" (score 1.0 marked, 0.0 cleared; the latest correction
of a signal wins), and the active rule set decides through the ordinary code path (`decide`). When
the team changed, an owner is chosen in the new team; the correction, the updated decision, the
holding, `TriageCorrected` and a `ComplaintRouted` reassignment (new team, priority, SLA policy,
rule, and an explanation naming the correction and who made it) are written in one transaction
with the outbox. A retry with the same request id corrects once.

The pure parts (validation, applying corrections to signals, the explanation line, the corpus
record) are functions at the top, unit tested directly."""

from __future__ import annotations

import dataclasses
import logging
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from services.common import topics
from services.common.codec import new_event
from services.common.outbox import OutboxRelay, stage
from services.common.pb.haq.v1 import events_pb2

from .adapters import corrections_db, db
from .domain.model import SIGNALS, Decision, InvalidData, RoutingInput, with_correction
from .domain.routing import decide
from .service import SOURCE, Router, input_from_json, input_to_json, priority_value, scored

log = logging.getLogger(__name__)

CORRECTIONS = Counter(
    "haq_routing_triage_corrections_total", "Triage corrections by people", ["signal", "present", "changed"]
)

# Limits (the request's fields; see routing.proto CorrectTriageRequest).
MAX_COMPLAINT = 64
MAX_REASON = 1000
MAX_REQUEST_ID = 128
MAX_LIST = 5000
DEFAULT_LIST = 500
CORRECTION_SOURCE = "correction"


@dataclass(frozen=True)
class Correction:
    """One person's correction of one signal."""

    signal: str
    present: bool
    corrected_by: str
    reason: str = ""
    corrected_at: datetime | None = None


def _clean(value: str, field: str, limit: int) -> str:
    value = value.strip()
    if len(value) > limit:
        raise InvalidData(field, f"is {len(value)} characters; at most {limit}")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in value):
        raise InvalidData(field, "must not contain control characters")
    return value


def check_request(
    complaint: str, signal: str, present: bool, reason: str, request_id: str
) -> tuple[str, str, str, str]:
    """The request's fields, trimmed; InvalidData naming the first bad field."""
    complaint = _clean(complaint, "complaint", MAX_COMPLAINT)
    if not complaint:
        raise InvalidData("complaint", "is required (a complaint id or reference)")
    signal = _clean(signal, "signal", 40).lower()
    if signal not in SIGNALS:
        raise InvalidData("signal", f"{signal[:40]!r} is not one of {', '.join(SIGNALS)}")
    reason = _clean(reason, "reason", MAX_REASON)
    if present and not reason:
        raise InvalidData(
            "reason", "is required when marking a signal (it goes into the corpus and the audit)"
        )
    request_id = _clean(request_id, "request_id", MAX_REQUEST_ID)
    if any(ch.isspace() for ch in request_id):
        raise InvalidData("request_id", "must not contain spaces")
    return complaint, signal, reason, request_id


def apply_corrections(complaint: RoutingInput, corrections: Iterable[Correction]) -> RoutingInput:
    """The complaint with the corrections in force, oldest first: a corrected signal scores 1.0
    (marked) or 0.0 (cleared), source "correction", whatever the model said, so the latest
    correction of a signal wins. Signals nobody corrected keep the model's score."""
    for c in corrections:
        complaint = with_correction(complaint, c.signal, c.present)
    return complaint


def model_score(complaint: RoutingInput, signal: str, earlier: Iterable[Any] = ()) -> float:
    """What the model said of `signal` before anyone corrected it: the first correction of it
    recorded that; else the complaint's own model score (0 when the model did not score it)."""
    for row in earlier:
        if row.signal == signal:
            return float(row.model_score)
    s = complaint.signal(signal)
    return s.score if s is not None and s.source != CORRECTION_SOURCE else 0.0


def correction_note(c: Correction, previous_team: str, decision: Decision, changed: bool) -> str:
    """The explanation line naming the correction and who made it."""
    what = "marked present" if c.present else "cleared"
    why = f" ({c.reason})" if c.reason else ""
    head = f"Triage corrected by {c.corrected_by}: {c.signal} {what}{why}."
    if not changed:
        return f"{head} The decision stands: {decision.team} at priority {decision.priority} with SLA policy {decision.sla_policy}."
    moved = (
        f"from {previous_team} to {decision.team}"
        if previous_team != decision.team
        else f"in {decision.team}"
    )
    return (
        f"{head} Re-routed {moved} at priority {decision.priority} with SLA policy "
        f"{decision.sla_policy} by rule {decision.rule_id}."
    )


CORPUS_ROLES = {"consumer": "customer", "staff": "employee", "business_contact": "business"}


def corpus_records(corrections: Sequence[Any]) -> list[dict[str, Any]]:
    """Corpus lines (services/routing/triage/data/corpus.jsonl's format) from TriageCorrection
    messages: one per complaint, its labels as people set them (the latest correction of a signal
    wins; a signal nobody corrected is 0 and the note says it was not reviewed), split "train".
    Role and channel are not recorded with a correction: "other" and "" (the note says so)."""
    by_complaint: dict[str, list[Any]] = {}
    for c in sorted(corrections, key=lambda c: (c.corrected_at.seconds, c.corrected_at.nanos)):
        by_complaint.setdefault(c.complaint_id, []).append(c)
    records = []
    for cid, items in by_complaint.items():
        labels = {name: 0 for name in SIGNALS}
        reviewed: dict[str, str] = {}
        for c in items:
            if c.signal in labels:
                labels[c.signal] = 1 if c.present else 0
                reviewed[c.signal] = c.corrected_by
        subject, _, body = items[-1].text.partition("\n")
        people = ", ".join(sorted(set(reviewed.values())))
        unreviewed = [s for s in SIGNALS if s not in reviewed]
        note = f"triage correction by {people}: {', '.join(reviewed)} set by a person"
        if unreviewed:
            note += f"; {', '.join(unreviewed)} not reviewed (0)"
        note += "; role and channel not recorded"
        records.append(
            {
                "id": f"corr-{cid}",
                "group": f"corr-{cid}",
                "language": items[-1].language,
                "sector": items[-1].sector or "general",
                "role": "other",
                "channel": "",
                "subject": subject,
                "body": body,
                "labels": labels,
                "split": "train",
                "note": note,
            }
        )
    return records


def routed_text(complaint: RoutingInput) -> str:
    """Subject and body as routed, one line of subject first (for the corpus)."""
    return f"{' '.join(complaint.subject.split())}\n{complaint.body}"


# --- the use case ----------------------------------------------------------------------------


class NotFound(LookupError):
    pass


@dataclass(frozen=True)
class Corrected:
    complaint_id: str
    decision: db.RoutingDecisionRecord
    changed: bool
    previous_team: str
    repeated: bool = False  # the request id had been applied already


class TriageCorrections:
    def __init__(self, engine: Engine, router: Router, relay: OutboxRelay | None = None):
        self.engine = engine
        self.router = router
        self.relay = relay

    def find(self, complaint: str) -> db.RoutingDecisionRecord:
        with Session(self.engine) as session:
            row = db.find_decision(session, complaint)
        if row is None:
            raise NotFound(f"complaint {complaint!r} has not been routed")
        return row

    def team_for_check(self, row: db.RoutingDecisionRecord, request_id: str, corrected_by: str) -> str:
        """The team whose people may make this correction: the complaint's team now, or, for a
        retry of a correction the same person already made, the team it had then (the
        correction may have moved it out of their sight)."""
        with Session(self.engine) as session:
            done = corrections_db.find_request(session, row.complaint_id, request_id) if request_id else None
            if done is not None and done.corrected_by == corrected_by:
                return done.previous_team
            holding = db.get_holding(session, row.complaint_id)
        return holding.team if holding is not None else row.team

    def correct(
        self,
        complaint: str,
        signal: str,
        present: bool,
        reason: str,
        corrected_by: str,
        request_id: str = "",
    ) -> Corrected:
        complaint, signal, reason, request_id = check_request(complaint, signal, present, reason, request_id)
        corrected_by = corrected_by.strip() or "unknown"
        request_id = request_id or str(uuid.uuid4())
        try:
            # The decision is read after the commit to answer with it.
            with Session(self.engine, expire_on_commit=False) as session:
                result = self._correct(
                    session, complaint, Correction(signal, present, corrected_by, reason), request_id
                )
                session.commit()
        except IntegrityError:
            # The same request id committed by a concurrent call: answer what it did.
            with Session(self.engine) as session:
                row = db.find_decision(session, complaint)
                assert row is not None
                done = corrections_db.find_request(session, row.complaint_id, request_id)
                if done is None:
                    raise
                return Corrected(row.complaint_id, row, done.changed, done.previous_team, repeated=True)
        if self.relay is not None and not result.repeated:
            self.relay.wake()
        return result

    def _correct(self, session: Session, complaint: str, c: Correction, request_id: str) -> Corrected:
        row = db.find_decision(session, complaint)
        if row is None:
            raise NotFound(f"complaint {complaint!r} has not been routed")
        cid = row.complaint_id
        done = corrections_db.find_request(session, cid, request_id)
        if done is not None:
            return Corrected(cid, row, done.changed, done.previous_team, repeated=True)
        now = self.router.clock()
        c = dataclasses.replace(c, corrected_at=now)
        holding = db.get_holding(session, cid)
        tenant = holding.tenant if holding else self.router.directory_tenant(session, row.tenant)
        # Locks before the read that decides (as routing's consumer does): the agents' rows; then
        # the decision and the holding read again, as a concurrent correction or reroute left them.
        directory, loads = db.load_directory(session, tenant, lock=True)
        session.refresh(row)
        if holding is not None:
            session.refresh(holding)
        rule_set = self.router.rule_sets.active(session, row.tenant)  # the tenant's own or the built-in
        stored = input_from_json(row.input_json or {"complaint_id": cid})
        earlier = corrections_db.for_complaint(session, cid)
        # Scored by the active set's model (the stored scores when that model made them), then
        # every correction, this one last, through the ordinary decision path.
        complaint_input = scored(stored, rule_set.triage_model)
        said = model_score(complaint_input, c.signal, earlier)
        earlier_corrections = [Correction(r.signal, r.present, r.corrected_by, r.reason) for r in earlier]
        complaint_input = apply_corrections(complaint_input, [*earlier_corrections, c])
        decision = decide(rule_set, directory, loads, complaint_input, now)

        previous_team = holding.team if holding else row.team
        previous_owner = holding.owner if holding else ""
        open_complaint = holding is not None and bool(holding.owner)
        team_changed = decision.team != previous_team
        changed = team_changed or (decision.priority, decision.sla_policy) != (row.priority, row.sla_policy)
        if open_complaint and not team_changed:
            # Same team: the owner stays; only priority, SLA policy and the rule change.
            decision = dataclasses.replace(
                decision, owner=previous_owner, owner_is_duty_lead=holding.queued if holding else False
            )
        note = correction_note(c, previous_team, decision, changed)
        explanation = f"{decision.explanation}\n{note}"

        corrections_db.add(
            session,
            corrections_db.RoutingTriageCorrection(
                complaint_id=cid,
                request_id=request_id,
                tenant=row.tenant,
                signal=c.signal,
                present=c.present,
                corrected_by=c.corrected_by,
                reason=c.reason,
                corrected_at=now,
                model_score=said,
                previous_team=previous_team,
                team=decision.team,
                priority=decision.priority,
                sla_policy=decision.sla_policy,
                rule_id=decision.rule_id,
                owner=decision.owner if open_complaint else "",
                changed=changed,
            ),
        )
        if open_complaint and team_changed:
            held = db.hold(
                session,
                tenant,
                cid,
                decision.team,
                decision.owner,
                queued=decision.owner_is_duty_lead,
            )
            held.priority, held.required_skills = decision.priority, list(decision.required_skills)
            held.required_language = decision.required_language
            session.add(held)
        elif open_complaint and holding is not None:
            holding.priority = decision.priority
            session.add(holding)
        self._record_decision(row, decision, explanation, team_changed and open_complaint)
        # The stored input carries the corrections, so explain and later re-scoring keep them.
        row.input_json = input_to_json(complaint_input)
        session.add(row)
        db.audit(
            session,
            c.corrected_by,
            "triage.correct",
            cid,
            {
                "signal": c.signal,
                "present": c.present,
                "previous_team": previous_team,
                "team": decision.team,
                "priority": decision.priority,
                "sla_policy": decision.sla_policy,
                "rule_id": decision.rule_id,
                "changed": changed,
                "request_id": request_id,
            },
            c.reason,
            tenant=row.tenant,
        )

        corrected = events_pb2.TriageCorrected(
            complaint_id=cid,
            signal=c.signal,
            present=c.present,
            corrected_by=c.corrected_by,
            reason=c.reason,
            model_score=said,
            previous_team=previous_team,
            team=decision.team,
        )
        corrected.corrected_at.FromDatetime(now.astimezone(UTC))
        event_key = f"{cid}:{request_id}"
        stage(
            session,
            new_event(corrected, source=SOURCE, subject=cid, event_id=f"corrected:{event_key}", time=now),
            topics.LIFECYCLE_TOPIC,
        )
        if open_complaint and changed:
            routed = _reassignment(decision, previous_owner, note, explanation)
            stage(
                session,
                new_event(
                    routed, source=SOURCE, subject=cid, event_id=f"routed:corrected:{event_key}", time=now
                ),
                topics.LIFECYCLE_TOPIC,
            )
        if open_complaint and team_changed and previous_owner:
            # What the previous holder freed goes to their team's queue, as after any reassignment.
            self.router.drain(
                session,
                tenant,
                previous_team,
                f"{previous_owner} handed a complaint on",
                f"corrected:{event_key}",
            )
        CORRECTIONS.labels(c.signal, str(c.present).lower(), str(changed).lower()).inc()
        log.info(
            "triage of %s corrected (%s %s): %s -> %s priority=%s policy=%s",
            cid,
            c.signal,
            "marked" if c.present else "cleared",
            previous_team,
            decision.team,
            decision.priority,
            decision.sla_policy,
        )
        return Corrected(cid, row, changed, previous_team)

    @staticmethod
    def _record_decision(
        row: db.RoutingDecisionRecord, decision: Decision, explanation: str, owner_changed: bool
    ) -> None:
        """The stored decision follows the correction, so later reassignments (a queue drain, a
        reroute) announce the corrected priority and SLA policy; its input stays as first routed."""
        row.team, row.priority, row.sla_policy = decision.team, decision.priority, decision.sla_policy
        row.rule_id, row.rule_set_version = decision.rule_id, decision.rule_set_version
        row.explanation = explanation
        row.tags, row.required_skills = list(decision.tags), list(decision.required_skills)
        row.keep_informed = list(decision.keep_informed)
        if owner_changed:
            row.owner, row.owner_is_duty_lead = decision.owner, decision.owner_is_duty_lead

    def list(self, tenants: Sequence[str] | None, limit: int) -> list[tuple[Any, RoutingInput | None]]:
        if limit < 0 or limit > MAX_LIST:
            raise InvalidData("limit", f"must be between 0 and {MAX_LIST} (0: {DEFAULT_LIST})")
        with Session(self.engine) as session:
            rows = corrections_db.recent(session, tenants, limit or DEFAULT_LIST)
            inputs: dict[str, RoutingInput | None] = {}
            for r in rows:
                if r.complaint_id not in inputs:
                    decision = db.get_decision(session, r.complaint_id)
                    inputs[r.complaint_id] = (
                        input_from_json(decision.input_json) if decision and decision.input_json else None
                    )
        return [(r, inputs[r.complaint_id]) for r in rows]


def _reassignment(
    decision: Decision, previous_owner: str, reason: str, explanation: str
) -> events_pb2.ComplaintRouted:
    return events_pb2.ComplaintRouted(
        complaint_id=decision.complaint_id,
        team=decision.team,
        owner=decision.owner,
        owner_is_duty_lead=decision.owner_is_duty_lead,
        priority=priority_value(decision.priority),
        sla_policy=decision.sla_policy,
        rule_id=decision.rule_id,
        rule_set_version=decision.rule_set_version,
        explanation=explanation,
        tags=list(decision.tags),
        keep_informed=list(decision.keep_informed),
        required_skills=list(decision.required_skills),
        sector=decision.sector,
        reassignment=True,
        previous_owner=previous_owner,
        reason=reason,
    )
