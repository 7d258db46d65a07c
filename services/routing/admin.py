"""Routing administration (the service layer behind `RoutingAdmin`): rule-set versions (validate,
apply, rollback, diff), explain and simulate. Each change and its audit entry are committed in one
transaction. Directory changes (presence, capacity, agents, teams, accounts) are in
directory_admin.py."""

from __future__ import annotations

import difflib
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

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


class RoutingAdministration:
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

    # --- rule sets ---------------------------------------------------------------------------

    def team_ids(self, session: Session) -> set[str]:
        directory, _ = db.load_directory(session, self.router.fallback_directory)
        return {t.id for t in directory.teams}

    def parse(self, session: Session, source: str, file_name: str) -> RuleSet:
        """Raises RuleSetInvalid naming file, line and field of every problem."""
        return parse_rule_set_text(source, file_name or "rules.yaml", self.team_ids(session))

    def validate(self, source: str, file_name: str) -> tuple[RuleSet | None, list[Problem]]:
        with Session(self.engine) as session:
            try:
                return self.parse(session, source, file_name), []
            except RuleSetInvalid as exc:
                return None, exc.problems

    def apply(self, source: str, file_name: str, author: str, comment: str) -> db.RoutingRuleSetRecord:
        if not author.strip():
            raise InvalidData("author", "is required: every change names who made it")
        with Session(self.engine) as session:
            try:
                rule_set = self.parse(session, source, file_name)
            except RuleSetInvalid as exc:
                # Refused, and the running version stays; the attempt is audited too.
                db.audit(
                    session,
                    author,
                    "rules.apply_refused",
                    file_name or "rules.yaml",
                    {"problems": [str(p) for p in exc.problems]},
                    comment,
                )
                session.commit()
                raise
            stored = db.get_rule_set(session, rule_set.version)
            if stored is not None and stored.checksum != checksum(source):
                raise Conflict(
                    f"version: {rule_set.version!r} was already applied with other content; give the new set a new version"
                )
            active = db.active_version(session)
            if stored is None:
                stored = db.store_rule_set(
                    session,
                    db.RoutingRuleSetRecord(
                        version=rule_set.version,
                        source=source,
                        file_name=file_name,
                        checksum=checksum(source),
                        rules=len(rule_set),
                        author=author,
                        comment=comment,
                    ),
                )
            previous = active.version if active else ""
            if previous != rule_set.version:
                db.activate(session, rule_set.version)
            changes = self._diff_summary(session, previous, rule_set)
            db.audit(
                session,
                author,
                "rules.apply",
                rule_set.version,
                {"previous": previous, "checksum": stored.checksum, "changes": changes},
                comment,
            )
            session.commit()
            session.refresh(stored)
            return stored

    def _diff_summary(self, session: Session, previous: str, new: RuleSet) -> list[str]:
        if not previous:
            return []
        return [f"{c.change} {c.rule_id}" for c in diff(self.rule_sets.get(session, previous), new)]

    def rollback(self, to_version: str, author: str, comment: str) -> db.RoutingRuleSetRecord:
        if not author.strip():
            raise InvalidData("author", "is required: every change names who made it")
        with Session(self.engine) as session:
            active = db.active_version(session)
            target = to_version.strip() or (active.previous_version if active else "")
            if not target:
                raise Conflict("to_version: there is no earlier version to roll back to")
            record = db.get_rule_set(session, target)
            if record is None:
                raise NotFound(f"rule set version {target!r} is not stored")
            rule_set = self.rule_sets.get(session, target)
            missing = sorted(rule_set.teams() - self.team_ids(session))
            if missing:  # the directory changed since: refuse rather than route to unstaffed teams
                raise Conflict(
                    f"to_version: {target} names teams no longer in the directory: {', '.join(missing)}"
                )
            previous = active.version if active else ""
            if previous == target:
                raise Conflict(f"to_version: {target} is already active")
            db.activate(session, target)
            db.audit(
                session,
                author,
                "rules.rollback",
                target,
                {"previous": previous, "changes": self._diff_summary(session, previous, rule_set)},
                comment,
            )
            session.commit()
            session.refresh(record)
            return record

    def versions(self) -> tuple[list[db.RoutingRuleSetRecord], db.RoutingActiveRuleSet | None]:
        with Session(self.engine) as session:
            return db.list_rule_sets(session), db.active_version(session)

    def get(self, version: str) -> tuple[db.RoutingRuleSetRecord, db.RoutingActiveRuleSet | None]:
        with Session(self.engine) as session:
            active = db.active_version(session)
            wanted = version.strip() or (active.version if active else "")
            record = db.get_rule_set(session, wanted)
            if record is None:
                raise NotFound(f"rule set version {wanted!r} is not stored")
            return record, active

    def diff(
        self, from_version: str, to_version: str, to_source: str, to_file: str
    ) -> tuple[str, str, list[RuleChange], str]:
        with Session(self.engine) as session:
            old_record, _ = self.get(from_version)
            old = self.rule_sets.get(session, old_record.version)
            if to_source.strip():
                new = self._candidate(session, to_source, to_file)
                new_source, new_name = to_source, to_file or "candidate"
            else:
                if not to_version.strip():
                    raise InvalidData("to_version", "give a version or a candidate source")
                new_record, _ = self.get(to_version)
                new = self.rule_sets.get(session, new_record.version)
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

    def _candidate(self, session: Session, source: str, file_name: str) -> RuleSet:
        return self.parse(session, source, file_name or "candidate.yaml")

    # --- explain and simulate ----------------------------------------------------------------

    def explain(self, complaint: str, version: str = "", source: str = "", file_name: str = "") -> Explained:
        if not complaint.strip():
            raise InvalidData("complaint", "is required (a complaint id or reference)")
        with Session(self.engine) as session:
            routed = db.find_decision(session, complaint.strip())
            if routed is None:
                raise NotFound(f"complaint {complaint!r} has not been routed")
            if source.strip():
                rule_set = self._candidate(session, source, file_name)
            elif version.strip():
                if db.get_rule_set(session, version.strip()) is None:
                    raise NotFound(f"rule set version {version!r} is not stored")
                rule_set = self.rule_sets.get(session, version.strip())
            else:
                rule_set = self.rule_sets.active(session)
            holding = db.get_holding(session, routed.complaint_id)
            data = input_from_json(routed.input_json or {"complaint_id": routed.complaint_id})
            tenant = self.router.directory_tenant(session, routed.tenant)
            directory, loads = db.load_directory(session, tenant)
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

    def simulate(self, source: str, file_name: str, last: int) -> Simulation:
        """The last N routed complaints' stored inputs (subject, body, history, and any signal a
        person corrected) routed by the candidate and by the active set; the lifecycle topic only
        when nothing is stored yet."""
        if last < 0 or last > 100_000:
            raise InvalidData("last", "must be between 1 and 100000")
        with Session(self.engine) as session:
            candidate = self._candidate(session, source, file_name)
            baseline = self.rule_sets.active(session)
            directory, _ = db.load_directory(session, self.router.fallback_directory)
            stored = db.recent_inputs(session, last or 100)
        if stored:
            complaints: Iterable[RoutingInput] = [input_from_json(data) for data in stored]
        elif self.read_recent is not None:
            complaints = self.read_recent(last or 100)
        else:
            raise Conflict("nothing is routed yet, and this process cannot read the lifecycle topic")
        # Each set scores the complaints with its own model (corrections kept): a new model or
        # threshold shows its effect.
        return simulate(baseline, candidate, directory, complaints, scored)

    def audit_log(self, limit: int, action: str) -> list[db.RoutingAudit]:
        with Session(self.engine) as session:
            return db.list_audit(session, min(max(limit, 1), 1000) if limit else 50, action.strip())


RULES_SEED_LOCK_KEY = zlib.crc32(b"haq-routing-seed-rule-set")


def seed_rule_set(engine: Engine, team_ids: set[str]) -> str:
    """Store and activate the built-in rule set when no version is active yet (a fresh database);
    otherwise leave the admins' choice alone. Returns the active version."""
    source = BUILTIN_RULES.read_text(encoding="utf-8")
    rule_set = parse_rule_set_text(source, BUILTIN_RULES.name, team_ids)
    with Session(engine) as session:
        if engine.dialect.name == "postgresql":
            # Workers starting together seed one at a time: the lock is taken before anything is
            # read, so the second finds the first's active version instead of inserting it again.
            session.exec(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=RULES_SEED_LOCK_KEY))
        active = db.active_version(session)
        if active is not None:
            return active.version
        if db.get_rule_set(session, rule_set.version) is None:
            db.store_rule_set(
                session,
                db.RoutingRuleSetRecord(
                    version=rule_set.version,
                    source=source,
                    file_name=BUILTIN_RULES.name,
                    checksum=checksum(source),
                    rules=len(rule_set),
                    author="system",
                    comment="built-in sector packs",
                ),
            )
        db.activate(session, rule_set.version)
        db.audit(session, "system", "rules.seed", rule_set.version, {"file": str(BUILTIN_RULES.name)})
        try:
            session.commit()
        except IntegrityError:  # another worker seeded first
            session.rollback()
            active = db.active_version(session)
            return active.version if active else rule_set.version
        return rule_set.version
