"""What a rule-set change does: a rule-by-rule diff of two versions, and a simulation of a candidate
against complaints already routed, so nobody switches rules on without seeing the effect."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import Any

from .model import Directory, RoutingInput
from .routing import outcome
from .rules import Rule, RuleSet


@dataclass(frozen=True)
class RuleChange:
    rule_id: str
    change: str  # added, removed, changed, moved
    details: tuple[str, ...] = ()


def _show(value: Any) -> str:
    if isinstance(value, frozenset | set):
        return "[" + ", ".join(sorted(map(str, value))) + "]"
    if isinstance(value, tuple):
        return "[" + ", ".join(getattr(v, "text", None) or _show(v) for v in value) + "]"
    return str(value)


def _field_changes(prefix: str, old: Any, new: Any) -> list[str]:
    if old is None or new is None:
        return [] if old == new else [f"{prefix}: {_show(old)} -> {_show(new)}"]
    out = []
    for f in fields(old):
        a, b = getattr(old, f.name), getattr(new, f.name)
        if a != b:
            out.append(f"{prefix}.{f.name}: {_show(a)} -> {_show(b)}")
    return out


def _placed(rule_set: RuleSet) -> dict[str, tuple[str, int, Rule]]:
    return {r.id: (section, i, r) for section, rules in rule_set.sections() for i, r in enumerate(rules)}


def diff(old: RuleSet, new: RuleSet) -> list[RuleChange]:
    """Rules added, removed, changed (field by field) or moved (a new place in the evaluation
    order, which changes which rule wins), in the new set's order, then the removed ones."""
    before, after = _placed(old), _placed(new)
    changes: list[RuleChange] = []
    if old.triage_model != new.triage_model:  # re-scores every complaint: shown first
        changes.append(
            RuleChange(
                "triage",
                "changed",
                (f"triage.model: {old.triage_model or 'none'} -> {new.triage_model or 'none'}",),
            )
        )
    # Positions relative to the rules both versions have: inserting one rule does not "move" the rest.
    kept_old = [rid for rid in before if rid in after]
    kept_new = [rid for rid in after if rid in before]
    for rid, (section, i, rule) in after.items():
        if rid not in before:
            changes.append(RuleChange(rid, "added", (f"at {section}[{i}]",)))
            continue
        o_section, o_i, o_rule = before[rid]
        details: list[str] = []
        if o_section != section:
            details.append(f"section: {o_section} -> {section}")
        details += _field_changes("when", o_rule.when, rule.when)
        details += _field_changes("then", o_rule.then, rule.then)
        for name in ("description", "tags", "keep_informed", "pack"):
            if getattr(o_rule, name) != getattr(rule, name):
                details.append(f"{name}: {_show(getattr(o_rule, name))} -> {_show(getattr(rule, name))}")
        if details:
            changes.append(RuleChange(rid, "changed", tuple(details)))
        if o_section == section and kept_old.index(rid) != kept_new.index(rid):
            changes.append(RuleChange(rid, "moved", (f"{section}[{o_i}] -> {section}[{i}]",)))
    changes += [
        RuleChange(rid, "removed", (f"was {s}[{i}]",))
        for rid, (s, i, _) in before.items()
        if rid not in after
    ]
    return changes


@dataclass(frozen=True)
class SimulatedChange:
    complaint_id: str
    reference: str
    from_rule: str
    to_rule: str
    from_team: str
    to_team: str
    from_priority: str
    to_priority: str
    from_sla_policy: str
    to_sla_policy: str
    # Decided by an override (the safety/security and safeguarding section) under one set only.
    leaves_safety_override: bool = False
    enters_safety_override: bool = False


@dataclass(frozen=True)
class Simulation:
    baseline_version: str
    candidate_version: str
    complaints: int
    changes: tuple[SimulatedChange, ...]
    team_moves: dict[str, int]
    candidate_rule_hits: dict[str, int]

    @property
    def team_changed(self) -> int:
        return sum(c.from_team != c.to_team for c in self.changes)

    @property
    def priority_changed(self) -> int:
        return sum(c.from_priority != c.to_priority for c in self.changes)

    @property
    def sla_changed(self) -> int:
        return sum(c.from_sla_policy != c.to_sla_policy for c in self.changes)

    @property
    def safety_changed(self) -> int:
        return sum(c.leaves_safety_override or c.enters_safety_override for c in self.changes)

    @property
    def leaving_safety(self) -> tuple[SimulatedChange, ...]:
        """The changes that would route a complaint away from a safety override."""
        return tuple(c for c in self.changes if c.leaves_safety_override)


def simulate(
    baseline: RuleSet,
    candidate: RuleSet,
    directory: Directory,
    complaints: Iterable[RoutingInput],
    score: Callable[[RoutingInput, str], RoutingInput] | None = None,
) -> Simulation:
    """Route each complaint by both sets (team, priority, SLA policy, rule; owners depend on the
    load at the time, so they are not compared) and report the ones that would change. With
    `score` (complaint, model version -> scored complaint), each set sees the complaint scored by
    its own triage model, so a new model or threshold shows its effect."""
    changes: list[SimulatedChange] = []
    moves: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    count = 0
    for c in complaints:
        count += 1
        for_candidate = score(c, candidate.triage_model) if score else c
        same_model = baseline.triage_model == candidate.triage_model
        for_baseline = for_candidate if same_model or not score else score(c, baseline.triage_model)
        a, b = outcome(baseline, directory, for_baseline), outcome(candidate, directory, for_candidate)
        hits[b.evaluation.winner.id] += 1
        before = (a.evaluation.winner.id, a.team.id, a.priority, a.sla_policy)
        after = (b.evaluation.winner.id, b.team.id, b.priority, b.sla_policy)
        was_override = a.evaluation.winner.kind == "override"
        is_override = b.evaluation.winner.kind == "override"
        if before != after:
            changes.append(
                SimulatedChange(
                    c.complaint_id,
                    c.reference,
                    before[0],
                    after[0],
                    before[1],
                    after[1],
                    before[2],
                    after[2],
                    before[3],
                    after[3],
                    was_override and not is_override,
                    is_override and not was_override,
                )  # fmt: skip
            )
            if a.team.id != b.team.id:
                moves[f"{a.team.id} -> {b.team.id}"] += 1
    return Simulation(baseline.version, candidate.version, count, tuple(changes), dict(moves), dict(hits))
