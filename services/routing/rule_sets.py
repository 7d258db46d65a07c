"""Which rule set routes a complaint: the parsed versions of every tenant (each parsed once per
process) and the per-tenant pointers (read once per tenant per consumer batch), resolved by the
pure `domain.staging.choose`."""

from __future__ import annotations

import dataclasses
import logging
import threading

from sqlmodel import Session

from .adapters import db
from .adapters.files import parse_rule_set_text
from .domain.rules import RuleSet
from .domain.staging import Pointer, choose
from .triage.scorer import load_model

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Routed:
    """The rule set routing one complaint, and whose it is."""

    rule_set: RuleSet
    tenant: str  # the complaint's tenant's own, or the operator tenant's (built-in)
    staged: bool


class RuleSets:
    """Parsed rule sets by (tenant, version). A stored version never changes, so each is parsed
    once per process; which one routes a tenant is read from the database for every decision
    (once per tenant per consumer batch). `operator_tenant` (HAQ_TENANT) owns the built-in ones."""

    def __init__(self, operator_tenant: str = "default") -> None:
        self.operator_tenant = operator_tenant
        self._parsed: dict[tuple[str, str], RuleSet] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, tenant: str, version: str) -> RuleSet:
        rule_set = self._parsed.get((tenant, version))
        if rule_set is None:
            record = db.get_rule_set(session, tenant, version)
            if record is None:
                raise LookupError(f"rule set {version!r} of tenant {tenant!r} is not stored")
            rule_set = parse_rule_set_text(record.source, record.file_name or f"{version}.yaml")
            if rule_set.triage_model:
                try:  # read the model's file now, not inside a complaint's scoring
                    load_model(rule_set.triage_model)
                except ValueError as exc:  # routed without signals, counted per complaint (scored)
                    log.error("triage model %s of rule set %s: %s", rule_set.triage_model, version, exc)
            with self._lock:
                self._parsed[(tenant, version)] = rule_set
        return rule_set

    def pointers(
        self, session: Session, tenant: str, cache: dict[str, Pointer | None] | None = None
    ) -> tuple[Pointer | None, Pointer]:
        """The tenant's own pointer (None for the operator tenant: its pointer is the built-in)
        and the built-in one; each read once per `cache` (a consumer batch)."""
        cache = {} if cache is None else cache
        for name in {tenant, self.operator_tenant}:
            if name not in cache:
                cache[name] = db.pointer(session, name)
        built_in = cache[self.operator_tenant] or Pointer(self.operator_tenant)
        return (cache[tenant] if tenant != self.operator_tenant else None), built_in

    def for_complaint(
        self,
        session: Session,
        tenant: str,
        complaint_id: str,
        channel: str,
        cache: dict[str, Pointer | None] | None = None,
    ) -> Routed:
        own, built_in = self.pointers(session, tenant, cache)
        choice = choose(own, built_in, complaint_id, channel)
        return Routed(self.get(session, choice.tenant, choice.version), choice.tenant, choice.staged)

    def active_choice(self, session: Session, tenant: str) -> tuple[str, str]:
        """(whose, version) of the set routing the tenant's unstaged traffic."""
        own, built_in = self.pointers(session, tenant)
        for p in (own, built_in):
            if p is not None and p.active:
                return p.tenant, p.active
        raise LookupError("no rule set is active")

    def active(self, session: Session, tenant: str = "") -> RuleSet:
        """The set routing the tenant's unstaged traffic (its own, or the built-in)."""
        whose, version = self.active_choice(session, tenant or self.operator_tenant)
        return self.get(session, whose, version)
