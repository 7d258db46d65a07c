"""Ordered, data-driven routing rules.

A rule set has four parts, evaluated in this order:
  overrides  safety/security signals; the first match wins over every sector rule
  rules      sector rules, first match wins
  default    no conditions; where a complaint no rule matched goes
  flags      always all evaluated; they add tags and people to keep informed, never change the team
Every evaluation keeps a trace (which rules were considered, and why each did or did not match),
so a decision can always be explained.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .model import PRIORITIES, ROLES, SECTORS, InvalidData, RoutingInput, mapping, require, string_list
from .text import Keyword, tokens

CONDITION_KEYS = ("sectors", "roles", "keywords")
ACTION_KEYS = ("team", "priority", "sla_policy", "tags", "required_skills", "keep_informed")


@dataclass(frozen=True)
class ComplaintText:
    """A complaint's words, normalised once and matched by every rule."""

    tokens: tuple[str, ...]
    token_set: frozenset[str]

    @classmethod
    def of(cls, complaint: RoutingInput) -> ComplaintText:
        words = tokens(" \n ".join((complaint.subject, complaint.body, complaint.category)))
        return cls(words, frozenset(words))


@dataclass(frozen=True)
class Conditions:
    sectors: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()
    keywords: tuple[Keyword, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.sectors or self.roles or self.keywords)

    def check(self, complaint: RoutingInput, text: ComplaintText) -> tuple[bool, str, str]:
        """All given conditions must hold (any listed value of each).
        Returns (matched, the condition that failed or "", why in words)."""
        reasons: list[str] = []
        if self.sectors:
            sector = complaint.sector or "unspecified"
            if complaint.sector not in self.sectors:
                return False, "sectors", f"sector is {sector}, rule needs {' or '.join(sorted(self.sectors))}"
            reasons.append(f"sector is {sector}")
        if self.roles:
            role = complaint.complainant_role or "unspecified"
            if complaint.complainant_role not in self.roles:
                return False, "roles", f"complainant is {role}, rule needs {' or '.join(sorted(self.roles))}"
            reasons.append(f"complainant is {role}")
        if self.keywords:
            hit = next((k for k in self.keywords if k.found_in(text.tokens, text.token_set)), None)
            if hit is None:
                return False, "keywords", f"mentions none of its {len(self.keywords)} keywords"
            reasons.append(f"mentions {hit.text!r}")
        return True, "", ", ".join(reasons) or "no conditions"


@dataclass(frozen=True)
class Action:
    team: str
    priority: str
    sla_policy: str
    tags: tuple[str, ...] = ()
    required_skills: tuple[str, ...] = ()
    keep_informed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str  # override, rule, default, flag
    when: Conditions
    then: Action | None  # None for flags
    description: str = ""
    tags: tuple[str, ...] = ()
    keep_informed: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleSet:
    version: str
    overrides: tuple[Rule, ...]
    rules: tuple[Rule, ...]
    default: Rule
    flags: tuple[Rule, ...] = ()

    def teams(self) -> set[str]:
        return {r.then.team for r in (*self.overrides, *self.rules, self.default) if r.then}


@dataclass(frozen=True)
class Trace:
    rule_id: str
    kind: str
    matched: bool
    reason: str
    failed_on: str = ""  # sectors, roles or keywords when it did not match


@dataclass(frozen=True)
class Evaluation:
    winner: Rule
    considered: tuple[Trace, ...]  # in evaluation order, ending with the winner
    flags: tuple[Trace, ...]  # every flag, matched or not
    flag_tags: tuple[str, ...]
    flag_keep_informed: tuple[str, ...]


def evaluate(rule_set: RuleSet, complaint: RoutingInput) -> Evaluation:
    text = ComplaintText.of(complaint)
    considered: list[Trace] = []
    winner = rule_set.default
    for rule in (*rule_set.overrides, *rule_set.rules):
        matched, failed_on, reason = rule.when.check(complaint, text)
        considered.append(Trace(rule.id, rule.kind, matched, reason, failed_on))
        if matched:
            winner = rule
            break
    else:
        considered.append(Trace(winner.id, winner.kind, True, "no earlier rule matched"))
    flags: list[Trace] = []
    tags: list[str] = []
    informed: list[str] = []
    for flag in rule_set.flags:
        matched, failed_on, reason = flag.when.check(complaint, text)
        flags.append(Trace(flag.id, flag.kind, matched, reason, failed_on))
        if matched:
            tags.extend(flag.tags)
            informed.extend(flag.keep_informed)
    return Evaluation(winner, tuple(considered), tuple(flags), _unique(tags), _unique(informed))


def _unique(values: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


# --- parsing ---------------------------------------------------------------------------------


def _parse_conditions(raw: Any, path: str) -> Conditions:
    if raw is None:
        return Conditions()
    data = mapping(raw, path)
    unknown = sorted(set(data) - set(CONDITION_KEYS))
    if unknown:
        raise InvalidData(f"{path}.{unknown[0]}", f"unknown condition; use {', '.join(CONDITION_KEYS)}")
    keywords: list[Keyword] = []
    for i, text in enumerate(string_list(data, "keywords", path)):
        try:
            keywords.append(Keyword.parse(text))
        except ValueError as exc:
            raise InvalidData(f"{path}.keywords[{i}]", str(exc)) from exc
    return Conditions(
        sectors=frozenset(string_list(data, "sectors", path, SECTORS)),
        roles=frozenset(string_list(data, "roles", path, ROLES)),
        keywords=tuple(keywords),
    )


def _parse_action(raw: Any, path: str) -> Action:
    data = mapping(raw, path)
    unknown = sorted(set(data) - set(ACTION_KEYS))
    if unknown:
        raise InvalidData(f"{path}.{unknown[0]}", f"unknown action; use {', '.join(ACTION_KEYS)}")
    priority = require(data, "priority", path)
    if priority not in PRIORITIES:
        raise InvalidData(f"{path}.priority", f"{priority!r} is not one of {', '.join(PRIORITIES)}")
    return Action(
        team=require(data, "team", path),
        priority=priority,
        sla_policy=require(data, "sla_policy", path),
        tags=string_list(data, "tags", path),
        required_skills=string_list(data, "required_skills", path),
        keep_informed=string_list(data, "keep_informed", path),
    )


def _parse_rule(raw: Any, path: str, kind: str) -> Rule:
    data = mapping(raw, path)
    when = _parse_conditions(data.get("when"), f"{path}.when")
    if kind == "default" and not when.empty:
        raise InvalidData(f"{path}.when", "the default rule takes no conditions")
    if kind != "default" and when.empty:
        raise InvalidData(f"{path}.when", "needs at least one condition (only the default rule has none)")
    if kind == "flag":
        tags = string_list(data, "tags", path)
        if not tags:
            raise InvalidData(f"{path}.tags", "a flag must add at least one tag")
        return Rule(
            id=require(data, "id", path),
            kind=kind,
            when=when,
            then=None,
            description=data.get("description", ""),
            tags=tags,
            keep_informed=string_list(data, "keep_informed", path),
        )
    return Rule(
        id=require(data, "id", path),
        kind=kind,
        when=when,
        then=_parse_action(data.get("then"), f"{path}.then"),
        description=data.get("description", ""),
    )


def parse_rule_set(raw: Any) -> RuleSet:
    """A rule set from plain data; raises InvalidData naming the field (e.g. `rules[3].then.priority`)."""
    data = mapping(raw, "rule set")
    version = require(data, "version", "")
    parts: dict[str, list[Rule]] = {}
    for key, kind in (("overrides", "override"), ("rules", "rule"), ("flags", "flag")):
        items = data.get(key) or []
        if not isinstance(items, list):
            raise InvalidData(key, "must be a list")
        parts[key] = [_parse_rule(item, f"{key}[{i}]", kind) for i, item in enumerate(items)]
    if "default" not in data:
        raise InvalidData("default", "is required: complaints no rule matches still need a team")
    default = _parse_rule(data["default"], "default", "default")
    seen: set[str] = set()
    for key, items in (*parts.items(), ("default", [default])):
        for i, rule in enumerate(items):
            if rule.id in seen:
                raise InvalidData(
                    f"{key}[{i}].id" if key != "default" else "default.id", f"{rule.id!r} is used twice"
                )
            seen.add(rule.id)
    return RuleSet(
        version=version,
        overrides=tuple(parts["overrides"]),
        rules=tuple(parts["rules"]),
        default=default,
        flags=tuple(parts["flags"]),
    )


def check_teams(rule_set: RuleSet, team_ids: Mapping[str, Any] | set[str]) -> list[str]:
    """Teams the rule set names that the directory does not have (empty when it is usable)."""
    return sorted(t for t in rule_set.teams() if t not in team_ids)
