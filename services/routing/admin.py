"""Routing administration (the service layer behind `RoutingAdmin`): each tenant's rule-set
versions (validate, apply or stage, promote, cancel, rollback, diff), explain, simulate, audit.
(Over ~450 lines: every rule-set use case in one place; the directory's are in directory_admin.py.) Each change and its audit entry are committed in one
transaction. Directory changes (presence, capacity, agents, teams, accounts) are in
directory_admin.py."""

from __future__ import annotations

import difflib
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, text

from services.common.outbox import OutboxRelay

from .adapters import db
from .adapters.files import BUILTIN_RULES, Problem, RuleSetInvalid, parse_rule_set_text
from .domain.assignment import assign
from .domain.changes import RuleChange, Simulation, diff, simulate
from .domain.model import InvalidData, RoutingInput
from .domain.routing import explain as explain_text
from .domain.routing import outcome
from .domain.rules import Evaluation, RuleSet
from .domain.staging import Pointer, Staging
from .service import Router, RuleSets, checksum, input_from_json, scored


class NotFound(LookupError):
    pass


class Conflict(ValueError):
    """FAILED_PRECONDITION: the request is valid but the current state forbids it."""


@dataclass(frozen=True)
class Explained:
    complaint: RoutingInput
    rule_set: RuleSet
    evaluation: Evaluation
    team: str
    priority: str
    sla_policy: str
    tags: tuple[str, ...]
    required_skills: tuple[str, ...]
    keep_informed: tuple[str, ...]
    owner: str
    owner_is_duty_lead: bool
    explanation: str
    routed: db.RoutingDecisionRecord
    holding: db.RoutingHolding | None


def _limit(last: int) -> int:
    if last < 0 or last > 100_000:
        raise InvalidData("last", "must be between 1 and 100000")
    return last or 100


class RoutingAdministration:
    """Rule sets per tenant: `tenant` is the one the request works in (already scoped by the
    servicer); the operator tenant's versions are the built-in ones routing every tenant that has
    applied none. Actors are already the token's subject (the servicer's `changed_by`)."""

    def __init__(
        self,
        engine: Engine,
        router: Router,
        rule_sets: RuleSets,
        relay: OutboxRelay | None,
        read_recent: Callable[[int], Iterable[RoutingInput]] | None = None,
    ):
        self.engine = engine
        self.router = router
        self.rule_sets = rule_sets
        self.relay = relay
        self.read_recent = read_recent  # the last N complaints from the lifecycle topic

    @property
    def operator(self) -> str:
        return self.rule_sets.operator_tenant

    def _tenant(self, tenant: str) -> str:
        return tenant.strip() or self.operator

    # --- rule sets ---------------------------------------------------------------------------

    def team_ids(self, session: Session, tenant: str) -> set[str]:
        """The teams of the directory routing the tenant (the seeded one for a tenant without)."""
        directory, _ = db.load_directory(session, self.router.directory_tenant(session, tenant))
        return {t.id for t in directory.teams}

    def parse(self, session: Session, tenant: str, source: str, file_name: str) -> RuleSet:
        """Raises RuleSetInvalid naming file, line and field of every problem."""
        return parse_rule_set_text(source, file_name or "rules.yaml", self.team_ids(session, tenant))

    def validate(self, tenant: str, source: str, file_name: str) -> tuple[RuleSet | None, list[Problem]]:
        with Session(self.engine) as session:
            try:
                return self.parse(session, self._tenant(tenant), source, file_name), []
            except RuleSetInvalid as exc:
                return None, exc.problems

    def _refused(self, tenant: str, actor: str, target: str, detail: dict, comment: str) -> None:
        with Session(self.engine) as session:
            db.audit(session, actor, "rules.apply_refused", target, detail, comment, tenant=tenant)
            session.commit()

    def _safety_check(
        self, session: Session, tenant: str, baseline: RuleSet, candidate: RuleSet, last: int
    ) -> list[str]:
        """The references of recent complaints of the tenant the candidate would route away from
        a safety override (stored inputs: what routing decided on)."""
        directory, _ = db.load_directory(session, self.router.directory_tenant(session, tenant))
        stored = db.recent_inputs(session, _limit(last), tenant)
        sim = simulate(baseline, candidate, directory, [input_from_json(d) for d in stored], scored)
        return [c.reference or c.complaint_id for c in sim.leaving_safety]

    def apply(
        self,
        tenant: str,
        source: str,
        file_name: str,
        author: str,
        comment: str,
        staging: Staging | None = None,
        confirm_safety_changes: bool = False,
        simulate_last: int = 0,
    ) -> db.RoutingRuleSetRecord:
        if not author.strip():
            raise InvalidData("author", "is required: every change names who made it")
        tenant = self._tenant(tenant)
        with Session(self.engine) as session:
            try:
                rule_set = self.parse(session, tenant, source, file_name)
            except RuleSetInvalid as exc:
                # Refused, and the running version stays; the attempt is audited too.
                session.rollback()
                self._refused(
                    tenant,
                    author,
                    file_name or "rules.yaml",
                    {"problems": [str(p) for p in exc.problems]},
                    comment,
                )
                raise
            stored = db.get_rule_set(session, tenant, rule_set.version)
            if stored is not None and stored.checksum != checksum(source):
                raise Conflict(
                    f"version: {rule_set.version!r} was already applied with other content; give the new set a new version"
                )
            pointer = db.pointer_row(session, tenant, lock=True)
            whose, previous = self.rule_sets.active_choice(session, tenant)
            baseline = self.rule_sets.get(session, whose, previous)
            if not confirm_safety_changes:
                leaving = self._safety_check(session, tenant, baseline, rule_set, simulate_last)
                if leaving:
                    session.rollback()
                    self._refused(
                        tenant,
                        author,
                        rule_set.version,
                        {"safety": leaving, "staged": staging is not None},
                        comment,
                    )
                    raise Conflict(
                        f"confirm_safety_changes: {rule_set.version} would route {len(leaving)} recent "
                        f"complaint(s) away from a safety override: {', '.join(leaving[:20])}"
                    )
            if stored is None:
                stored = db.store_rule_set(
                    session,
                    db.RoutingRuleSetRecord(
                        tenant=tenant,
                        version=rule_set.version,
                        source=source,
                        file_name=file_name,
                        checksum=checksum(source),
                        rules=len(rule_set),
                        author=author,
                        comment=comment,
                    ),
                )
            own_previous = pointer.version
            detail: dict = {
                "previous": previous,
                "previous_tenant": whose,
                "checksum": stored.checksum,
                "changes": self._diff_summary(baseline, rule_set),
                "safety_confirmed": confirm_safety_changes,
            }
            if staging is not None:
                if own_previous == rule_set.version:
                    raise Conflict(f"staging: {rule_set.version} is already active")
                db.stage(session, tenant, rule_set.version, staging, author)
                detail |= {"percent": staging.percent, "channels": list(staging.channels)}
                action = "rules.stage"
            else:
                if own_previous != rule_set.version:
                    db.activate(session, tenant, rule_set.version)
                action = "rules.apply"
            db.audit(session, author, action, rule_set.version, detail, comment, tenant=tenant)
            session.commit()
            session.refresh(stored)
            return stored

    def _diff_summary(self, old: RuleSet, new: RuleSet) -> list[str]:
        return [f"{c.change} {c.rule_id}" for c in diff(old, new)]

    def promote(
        self,
        tenant: str,
        author: str,
        comment: str,
        confirm_safety_changes: bool = False,
        simulate_last: int = 0,
    ) -> db.RoutingRuleSetRecord:
        tenant = self._tenant(tenant)
        with Session(self.engine) as session:
            pointer = db.pointer_row(session, tenant, lock=True)
            if not pointer.staged_version:
                raise Conflict("tenant: nothing is staged")
            staged = pointer.staged_version
            record = db.get_rule_set(session, tenant, staged)
            assert record is not None
            whose, previous = self.rule_sets.active_choice(session, tenant)
            baseline = self.rule_sets.get(session, whose, previous)
            candidate = self.rule_sets.get(session, tenant, staged)
            if not confirm_safety_changes:
                leaving = self._safety_check(session, tenant, baseline, candidate, simulate_last)
                if leaving:
                    session.rollback()
                    self._refused(tenant, author, staged, {"safety": leaving, "promote": True}, comment)
                    raise Conflict(
                        f"confirm_safety_changes: {staged} would route {len(leaving)} recent "
                        f"complaint(s) away from a safety override: {', '.join(leaving[:20])}"
                    )
            db.activate(session, tenant, staged)
            db.audit(
                session,
                author,
                "rules.promote",
                staged,
                {
                    "previous": previous,
                    "previous_tenant": whose,
                    "changes": self._diff_summary(baseline, candidate),
                },
                comment,
                tenant=tenant,
            )
            session.commit()
            session.refresh(record)
            return record

    def cancel_stage(self, tenant: str, author: str, comment: str) -> tuple[str, str]:
        """Drops the staged version; returns (whose, version) of the active one, which stays."""
        tenant = self._tenant(tenant)
        with Session(self.engine) as session:
            pointer = db.pointer_row(session, tenant, lock=True)
            if not pointer.staged_version:
                raise Conflict("tenant: nothing is staged")
            staged = pointer.staged_version
            db.unstage(session, tenant)
            db.audit(session, author, "rules.cancel_stage", staged, {}, comment, tenant=tenant)
            session.commit()
            return self.rule_sets.active_choice(session, tenant)

    def rollback(self, tenant: str, to_version: str, author: str, comment: str) -> db.RoutingRuleSetRecord:
        if not author.strip():
            raise InvalidData("author", "is required: every change names who made it")
        tenant = self._tenant(tenant)
        with Session(self.engine) as session:
            active = db.pointer_row(session, tenant, lock=True)
            target = to_version.strip() or active.previous_version
            if not target:
                raise Conflict("to_version: there is no earlier version to roll back to")
            record = db.get_rule_set(session, tenant, target)
            if record is None:
                raise NotFound(f"rule set version {target!r} is not stored")
            rule_set = self.rule_sets.get(session, tenant, target)
            missing = sorted(rule_set.teams() - self.team_ids(session, tenant))
            if missing:  # the directory changed since: refuse rather than route to unstaffed teams
                raise Conflict(
                    f"to_version: {target} names teams no longer in the directory: {', '.join(missing)}"
                )
            previous = active.version
            if previous == target:
                raise Conflict(f"to_version: {target} is already active")
            changes = (
                self._diff_summary(self.rule_sets.get(session, tenant, previous), rule_set)
                if previous
                else []
            )
            db.activate(session, tenant, target)
            db.audit(
                session,
                author,
                "rules.rollback",
                target,
                {"previous": previous, "changes": changes},
                comment,
                tenant=tenant,
            )
            session.commit()
            session.refresh(record)
            return record

    def versions(self, tenant: str) -> tuple[list[db.RoutingRuleSetRecord], Pointer | None, tuple[str, str]]:
        """The tenant's own versions (newest first), its pointer, and (whose, version) routing it."""
        tenant = self._tenant(tenant)
        with Session(self.engine) as session:
            return (
                db.list_rule_sets(session, tenant),
                db.pointer(session, tenant),
                self.rule_sets.active_choice(session, tenant),
            )

    def _record(self, session: Session, tenant: str, version: str) -> db.RoutingRuleSetRecord:
        """One of the tenant's own versions, or the built-in version routing it; else NOT_FOUND
        (the operator's other versions are its own business)."""
        whose, active = self.rule_sets.active_choice(session, tenant)
        wanted = version.strip() or active
        record = db.get_rule_set(session, tenant, wanted)
        if record is None and whose != tenant and wanted == active:
            record = db.get_rule_set(session, whose, wanted)
        if record is None:
            raise NotFound(f"rule set version {wanted!r} is not stored")
        return record

    def get(self, tenant: str, version: str) -> db.RoutingRuleSetRecord:
        with Session(self.engine) as session:
            return self._record(session, self._tenant(tenant), version)

    def diff(
        self, tenant: str, from_version: str, to_version: str, to_source: str, to_file: str
    ) -> tuple[str, str, list[RuleChange], str]:
        tenant = self._tenant(tenant)
        with Session(self.engine) as session:
            old_record = self._record(session, tenant, from_version)
            old = self.rule_sets.get(session, old_record.tenant, old_record.version)
            if to_source.strip():
                new = self._candidate(session, tenant, to_source, to_file)
                new_source, new_name = to_source, to_file or "candidate"
            else:
                if not to_version.strip():
                    raise InvalidData("to_version", "give a version or a candidate source")
                new_record = self._record(session, tenant, to_version)
                new = self.rule_sets.get(session, new_record.tenant, new_record.version)
                new_source, new_name = new_record.source, new_record.version
        unified = "".join(
            difflib.unified_diff(
                old_record.source.splitlines(keepends=True),
                new_source.splitlines(keepends=True),
                fromfile=old_record.version,
                tofile=new_name,
            )
        )
        return old.version, new.version, diff(old, new), unified

    def _candidate(self, session: Session, tenant: str, source: str, file_name: str) -> RuleSet:
        return self.parse(session, tenant, source, file_name or "candidate.yaml")

    # --- explain and simulate ----------------------------------------------------------------

    def find(self, complaint: str) -> db.RoutingDecisionRecord:
        if not complaint.strip():
            raise InvalidData("complaint", "is required (a complaint id or reference)")
        with Session(self.engine) as session:
            routed = db.find_decision(session, complaint.strip())
        if routed is None:
            raise NotFound(f"complaint {complaint!r} has not been routed")
        return routed

    def explain(self, complaint: str, version: str = "", source: str = "", file_name: str = "") -> Explained:
        """Under the complaint's tenant's rule sets: a candidate, one of its versions (or the
        built-in routing it), or the set that routes it now (its stage included)."""
        routed = self.find(complaint)
        tenant = routed.tenant or self.operator
        with Session(self.engine) as session:
            if source.strip():
                rule_set = self._candidate(session, tenant, source, file_name)
            elif version.strip():
                record = self._record(session, tenant, version)
                rule_set = self.rule_sets.get(session, record.tenant, record.version)
            else:
                channel = str((routed.input_json or {}).get("channel") or "")
                rule_set = self.rule_sets.for_complaint(
                    session, tenant, routed.complaint_id, channel
                ).rule_set
            holding = db.get_holding(session, routed.complaint_id)
            data = input_from_json(routed.input_json or {"complaint_id": routed.complaint_id})
            directory, loads = db.load_directory(session, self.router.directory_tenant(session, tenant))
        # The stored scores when this set's model made them (corrections included); otherwise the
        # stored subject and body scored again by its model, corrections kept.
        data = scored(data, rule_set.triage_model)
        out = outcome(rule_set, directory, data)
        choice = assign(out.team, loads, data.previous_owners, out.need, self.router.clock())
        text = explain_text(
            rule_set.version,
            out.evaluation,
            out.team.id,
            out.priority,
            out.sla_policy,
            data.sector,
            signals=data.signals,
            model=data.triage_model,
        )
        text += "\n" + "".join(n + "\n" for n in out.notes) + f"Owner now: {choice.reason}."
        return Explained(
            complaint=data,
            rule_set=rule_set,
            evaluation=out.evaluation,
            team=out.team.id,
            priority=out.priority,
            sla_policy=out.sla_policy,
            tags=out.tags,
            required_skills=out.need.required_skills,
            keep_informed=out.keep_informed,
            owner=choice.owner,
            owner_is_duty_lead=choice.owner_is_duty_lead,
            explanation=text,
            routed=routed,
            holding=holding,
        )

    def simulate(self, tenant: str, source: str, file_name: str, last: int) -> Simulation:
        """The tenant's last N routed complaints' stored inputs (subject, body, history, and any
        signal a person corrected) routed by the candidate and by the set routing the tenant now;
        the lifecycle topic only when nothing is stored yet."""
        last = _limit(last)
        tenant = self._tenant(tenant)
        with Session(self.engine) as session:
            candidate = self._candidate(session, tenant, source, file_name)
            baseline = self.rule_sets.active(session, tenant)
            directory, _ = db.load_directory(session, self.router.directory_tenant(session, tenant))
            stored = db.recent_inputs(session, last, tenant)
        if stored:
            complaints: Iterable[RoutingInput] = [input_from_json(data) for data in stored]
        elif self.read_recent is not None:
            complaints = [c for c in self.read_recent(last) if (c.tenant or self.operator) == tenant]
        else:
            raise Conflict("nothing is routed yet, and this process cannot read the lifecycle topic")
        # Each set scores the complaints with its own model (corrections kept): a new model or
        # threshold shows its effect.
        return simulate(baseline, candidate, directory, complaints, scored)

    def audit_log(self, tenant: str, limit: int, action: str) -> list[db.RoutingAudit]:
        with Session(self.engine) as session:
            return db.list_audit(
                session, self._tenant(tenant), min(max(limit, 1), 1000) if limit else 50, action.strip()
            )

    def export_audit(
        self, tenant: str, limit: int, action: str, since: datetime | None
    ) -> Iterator[db.RoutingAudit]:
        """The tenant's whole audit (or its first `limit` entries), oldest first, page by page."""
        tenant, after, sent = self._tenant(tenant), 0, 0
        while True:
            page_size = 500 if not limit else min(500, limit - sent)
            if page_size <= 0:
                return
            with Session(self.engine) as session:
                page = db.audit_page(session, tenant, after, page_size, action.strip(), since)
            yield from page
            sent += len(page)
            if len(page) < page_size:
                return
            after = page[-1].id or 0


RULES_SEED_LOCK_KEY = zlib.crc32(b"haq-routing-seed-rule-set")


def seed_rule_set(engine: Engine, team_ids: set[str], tenant: str = "default") -> str:
    """Store and activate the built-in rule set as the operator tenant's (`tenant`) first version
    when it has none active (a fresh database); otherwise leave the admins' choice alone. Returns
    the active version."""
    source = BUILTIN_RULES.read_text(encoding="utf-8")
    rule_set = parse_rule_set_text(source, BUILTIN_RULES.name, team_ids)
    with Session(engine) as session:
        if engine.dialect.name == "postgresql":
            # Workers starting together seed one at a time: the lock is taken before anything is
            # read, so the second finds the first's active version instead of inserting it again.
            session.exec(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=RULES_SEED_LOCK_KEY))
        active = db.active_version(session, tenant)
        if active is not None and active.version:
            return active.version
        if db.get_rule_set(session, tenant, rule_set.version) is None:
            db.store_rule_set(
                session,
                db.RoutingRuleSetRecord(
                    tenant=tenant,
                    version=rule_set.version,
                    source=source,
                    file_name=BUILTIN_RULES.name,
                    checksum=checksum(source),
                    rules=len(rule_set),
                    author="system",
                    comment="built-in sector packs",
                ),
            )
        db.activate(session, tenant, rule_set.version)
        db.audit(
            session,
            "system",
            "rules.seed",
            rule_set.version,
            {"file": str(BUILTIN_RULES.name)},
            tenant=tenant,
        )
        try:
            session.commit()
        except IntegrityError:  # another worker seeded first
            session.rollback()
            active = db.active_version(session, tenant)
            return active.version if active else rule_set.version
        return rule_set.version
