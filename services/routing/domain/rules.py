"""Ordered, data-driven routing rules.

A rule set has four parts, evaluated in this order:
  overrides  safety/security signals; the first match wins over every sector rule
  rules      sector rules, first match wins
  default    no conditions; where a complaint no rule matched goes
  flags      always all evaluated; they add tags and people to keep informed, never change the team
Every evaluation keeps a trace (which rules were considered, and why each did or did not match),
so a decision can always be explained.

A rule set also names its triage model (`triage: {model: ...}`): the complaint's signals are scored
by it once, before evaluation (RoutingInput.signals), and `signals` conditions read those scores,
so a new model or threshold is a new rule-set version like any other change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .model import (
    CHANNELS,
    LANGUAGES,
    PRIORITIES,
    ROLES,
    SECTORS,
    SIGNALS,
    InvalidData,
    RoutingInput,
    mapping,
    require,
    string_list,
)
from .text import Keyword, normalize, tokens

# Condition keys in the order they are checked (cheap, exact ones before text matching).
CONDITION_KEYS = (
    "sectors",
    "channels",
    "roles",
    "languages",
    "categories",
    "returning_customer",
    "previous_complaints",
    "open_complaints",
    "tiers",
    "has_contract",
    "contracted_response_hours",
    "days_since_purchase",
    "metadata",
    "signals",
    "keywords",
)
ACTION_KEYS = (
    "team",
    "priority",
    "sla_policy",
    "tags",
    "required_skills",
    "match_language",
    "keep_informed",
    "sla_from_contract",
    "inform_account_manager",
)


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
class Range:
    """Inclusive bounds on a whole number; either may be open."""

    min: int | None = None
    max: int | None = None

    def holds(self, value: int) -> bool:
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    def __str__(self) -> str:
        if self.min is not None and self.max is not None:
            return f"between {self.min} and {self.max}"
        return f"at least {self.min}" if self.min is not None else f"at most {self.max}"


def _num(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class SignalBound:
    """Inclusive bounds on one triage signal's score (0..1); either may be open."""

    signal: str
    min: float | None = None
    max: float | None = None

    def holds(self, score: float) -> bool:
        return (self.min is None or score >= self.min) and (self.max is None or score <= self.max)

    @property
    def bounds(self) -> str:
        parts = [f"≥ {_num(self.min)}"] if self.min is not None else []
        parts += [f"≤ {_num(self.max)}"] if self.max is not None else []
        return " and ".join(parts)

    @property
    def text(self) -> str:  # how diffs show it
        return f"{self.signal} {self.bounds}"

    def shown(self, score: float) -> str:
        """Two decimals, or four when two would look equal to a bound it missed (0.349 vs 0.35)."""
        short = f"{score:.2f}"
        near = [b for b in (self.min, self.max) if b is not None and f"{b:.2f}" == short and b != score]
        return f"{score:.4f}" if near else short


def _one_of(values: frozenset[str]) -> str:
    return " or ".join(sorted(values))


@dataclass(frozen=True)
class Conditions:
    """All given conditions must hold; a list condition holds when any listed value does."""

    sectors: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()  # normalised
    returning_customer: bool | None = None
    previous_complaints: Range | None = None
    open_complaints: Range | None = None
    tiers: frozenset[str] = frozenset()
    has_contract: bool | None = None
    contracted_response_hours: Range | None = None
    days_since_purchase: Range | None = None
    metadata: tuple[tuple[str, frozenset[str]], ...] = ()
    signals: tuple[SignalBound, ...] = ()  # all must hold
    keywords: tuple[Keyword, ...] = ()

    @property
    def empty(self) -> bool:
        return self == _NO_CONDITIONS

    def check(self, c: RoutingInput, text: ComplaintText) -> tuple[bool, str, str]:
        """Returns (matched, the condition that failed or "", why in words)."""
        reasons: list[str] = []

        def member(name: str, allowed: frozenset[str], value: str, label: str) -> str | None:
            if not allowed:
                return None
            shown = value or "unspecified"
            if value not in allowed:
                return f"{label} is {shown}, rule needs {_one_of(allowed)}"
            reasons.append(f"{label} is {shown}")
            return None

        for name, allowed, value, label in (
            ("sectors", self.sectors, c.sector, "sector"),
            ("channels", self.channels, c.channel, "channel"),
            ("roles", self.roles, c.complainant_role, "complainant"),
            ("languages", self.languages, c.language, "language"),
            ("categories", self.categories, normalize(c.category), "category"),
        ):
            failed = member(name, allowed, value, label)
            if failed:
                return False, name, failed

        returning = c.previous_complaints > 0 or bool(c.previous_owners)
        if self.returning_customer is not None:
            if returning != self.returning_customer:
                return False, "returning_customer", "a returning customer" if returning else "a new customer"
            reasons.append("a returning customer" if returning else "a new customer")
        for name, bounds, value, label in (
            ("previous_complaints", self.previous_complaints, c.previous_complaints, "earlier complaints"),
            ("open_complaints", self.open_complaints, c.open_complaints, "open complaints"),
        ):
            if bounds is not None:
                if not bounds.holds(value):
                    return False, name, f"{value} {label}, rule needs {bounds}"
                reasons.append(f"{value} {label}")

        account = c.account
        if self.tiers:
            tier = account.tier if account else ""
            if tier not in self.tiers:
                return (
                    False,
                    "tiers",
                    f"account tier is {tier or 'unknown'}, rule needs {_one_of(self.tiers)}",
                )
            reasons.append(f"account tier is {tier}")
        contracted = bool(account and (account.sla_policy or account.response_hours))
        if self.has_contract is not None:
            if contracted != self.has_contract:
                return False, "has_contract", "the account has a contract" if contracted else "no contract"
            reasons.append("the account has a contract" if contracted else "no contract")
        if self.contracted_response_hours is not None:
            hours = account.response_hours if account else 0
            if not hours or not self.contracted_response_hours.holds(hours):
                got = f"{hours} h" if hours else "none"
                return (
                    False,
                    "contracted_response_hours",
                    f"contracted response time is {got}, rule needs {self.contracted_response_hours} h",
                )
            reasons.append(f"contracted response time is {hours} h")
        if self.days_since_purchase is not None:
            days = c.days_since_purchase()
            if days is None or not self.days_since_purchase.holds(days):
                got = "unknown (no purchase date)" if days is None else f"{days}"
                return (
                    False,
                    "days_since_purchase",
                    f"days since purchase {got}, rule needs {self.days_since_purchase}",
                )
            reasons.append(f"bought {days} days before complaining")
        for key, allowed in self.metadata:
            value = c.meta(key)
            if value not in allowed and value.lower() not in allowed:
                return (
                    False,
                    "metadata",
                    f"metadata {key} is {value or 'absent'}, rule needs {_one_of(allowed)}",
                )
            reasons.append(f"metadata {key} is {value}")
        for bound in self.signals:
            scored = c.signal(bound.signal)
            if scored is None:
                return (
                    False,
                    "signals",
                    f"no {bound.signal} score (not scored by a triage model), rule needs {bound.bounds}",
                )
            shown = bound.shown(scored.score)
            if not bound.holds(scored.score):
                return False, "signals", f"{bound.signal} signal {shown}, rule needs {bound.bounds}"
            if scored.source == "correction":
                why = "set by a person's correction"
            else:
                why = f"words: {', '.join(scored.top_terms)}" if scored.top_terms else "no telling words"
            reasons.append(f"{bound.signal} signal {shown} {bound.bounds} ({why})")
        if self.keywords:
            hit = next((k for k in self.keywords if k.found_in(text.tokens, text.token_set)), None)
            if hit is None:
                return False, "keywords", f"mentions none of its {len(self.keywords)} keywords"
            reasons.append(f"mentions {hit.text!r}")
        return True, "", ", ".join(reasons) or "no conditions"


_NO_CONDITIONS = Conditions()


@dataclass(frozen=True)
class Action:
    team: str
    priority: str
    sla_policy: str
    tags: tuple[str, ...] = ()
    required_skills: tuple[str, ...] = ()
    keep_informed: tuple[str, ...] = ()
    match_language: bool = False  # the owner must speak the complaint's language
    sla_from_contract: bool = False  # the account's contracted SLA policy, when it has one
    inform_account_manager: bool = False


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str  # override, rule, default, flag
    when: Conditions
    then: Action | None  # None for flags
    description: str = ""
    tags: tuple[str, ...] = ()
    keep_informed: tuple[str, ...] = ()
    pack: str = ""  # the sector pack it belongs to (documentation and listings only)


@dataclass(frozen=True)
class RuleSet:
    version: str
    overrides: tuple[Rule, ...]
    rules: tuple[Rule, ...]
    default: Rule
    flags: tuple[Rule, ...] = ()
    triage_model: str = ""  # the model version that scores complaints for this set; "" for none

    def teams(self) -> set[str]:
        return {r.then.team for r in (*self.overrides, *self.rules, self.default) if r.then}

    def sections(self) -> tuple[tuple[str, tuple[Rule, ...]], ...]:
        return (
            ("overrides", self.overrides),
            ("rules", self.rules),
            ("default", (self.default,)),
            ("flags", self.flags),
        )

    def __len__(self) -> int:
        return len(self.overrides) + len(self.rules) + 1 + len(self.flags)


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


def _range(data: Mapping[str, Any], key: str, path: str) -> Range | None:
    if key not in data:
        return None
    where = f"{path}.{key}"
    raw = mapping(data[key], where)
    unknown = sorted(set(raw) - {"min", "max"})
    if unknown:
        raise InvalidData(f"{where}.{unknown[0]}", "unknown bound; use min, max")
    for bound in ("min", "max"):
        value = raw.get(bound)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise InvalidData(f"{where}.{bound}", "must be a whole number, 0 or more")
    if "min" not in raw and "max" not in raw:
        raise InvalidData(where, "needs min, max or both")
    bounds = Range(raw.get("min"), raw.get("max"))
    if bounds.min is not None and bounds.max is not None and bounds.min > bounds.max:
        raise InvalidData(f"{where}.max", f"is below min ({bounds.min})")
    return bounds


def _flag(data: Mapping[str, Any], key: str, path: str) -> bool | None:
    if key not in data:
        return None
    if not isinstance(data[key], bool):
        raise InvalidData(f"{path}.{key}", "must be true or false")
    return data[key]


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _parse_metadata(raw: Any, path: str) -> tuple[tuple[str, frozenset[str]], ...]:
    if raw is None:
        return ()
    data = mapping(raw, path)
    pairs = []
    for key, value in data.items():
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(v, str | int | bool) and str(v) != "" for v in values):
            raise InvalidData(f"{path}.{key}", "must be a value or a list of values")
        accepted: set[str] = set()
        for v in values:
            # YAML reads yes/no/on/off as booleans: accept every spelling of the one meant.
            accepted |= (_TRUE if v else _FALSE) if isinstance(v, bool) else {str(v)}
        pairs.append((str(key), frozenset(accepted)))
    return tuple(sorted(pairs, key=lambda kv: kv[0]))


def _score_bound(raw: Mapping[str, Any], bound: str, where: str) -> float | None:
    value = raw.get(bound)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise InvalidData(f"{where}.{bound}", "must be a number from 0 to 1")
    return float(value)


def _parse_signals(raw: Any, path: str) -> tuple[SignalBound, ...]:
    if raw is None:
        return ()
    data = mapping(raw, path)
    if not data:
        raise InvalidData(path, f"name at least one signal: {', '.join(SIGNALS)}")
    bounds: dict[str, SignalBound] = {}
    for name, value in data.items():
        where = f"{path}.{name}"
        if name not in SIGNALS:
            raise InvalidData(where, f"unknown signal; use {', '.join(SIGNALS)}")
        limits = mapping(value, where)
        unknown = sorted(set(limits) - {"min", "max"})
        if unknown:
            raise InvalidData(f"{where}.{unknown[0]}", "unknown bound; use min, max")
        low, high = _score_bound(limits, "min", where), _score_bound(limits, "max", where)
        if low is None and high is None:
            raise InvalidData(where, "needs min, max or both")
        if low is not None and high is not None and low > high:
            raise InvalidData(f"{where}.max", f"is below min ({_num(low)})")
        bounds[name] = SignalBound(name, low, high)
    return tuple(bounds[n] for n in SIGNALS if n in bounds)


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
        channels=frozenset(string_list(data, "channels", path, CHANNELS)),
        roles=frozenset(string_list(data, "roles", path, ROLES)),
        languages=frozenset(string_list(data, "languages", path, LANGUAGES)),
        categories=frozenset(normalize(c) for c in string_list(data, "categories", path)),
        returning_customer=_flag(data, "returning_customer", path),
        previous_complaints=_range(data, "previous_complaints", path),
        open_complaints=_range(data, "open_complaints", path),
        tiers=frozenset(string_list(data, "tiers", path)),
        has_contract=_flag(data, "has_contract", path),
        contracted_response_hours=_range(data, "contracted_response_hours", path),
        days_since_purchase=_range(data, "days_since_purchase", path),
        metadata=_parse_metadata(data.get("metadata"), f"{path}.metadata"),
        signals=_parse_signals(data.get("signals"), f"{path}.signals"),
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
        match_language=bool(_flag(data, "match_language", path)),
        sla_from_contract=bool(_flag(data, "sla_from_contract", path)),
        inform_account_manager=bool(_flag(data, "inform_account_manager", path)),
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
            pack=data.get("pack", ""),
            keep_informed=string_list(data, "keep_informed", path),
        )
    return Rule(
        id=require(data, "id", path),
        kind=kind,
        when=when,
        then=_parse_action(data.get("then"), f"{path}.then"),
        description=data.get("description", ""),
        pack=data.get("pack", ""),
    )


def newest_model(versions: Sequence[str]) -> str:
    """The newest of model versions like triage-1, triage-2, triage-10 (numbers compared as numbers)."""

    def key(version: str) -> tuple:
        return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", version))

    return max(versions, key=key) if versions else ""


def _parse_triage(data: Mapping[str, Any], models: Sequence[str] | None) -> str:
    """The rule set's triage model: `triage.model`, one of the shipped `models`; when left out,
    the newest shipped one. `models` None (pure parsing, nothing shipped to check) takes the name as given."""
    if "triage" not in data:
        return newest_model(models or ())
    triage = mapping(data["triage"], "triage")
    unknown = sorted(set(triage) - {"model"})
    if unknown:
        raise InvalidData(f"triage.{unknown[0]}", "unknown key; use model")
    model = require(triage, "model", "triage")
    if models is not None and model not in models:
        shipped = ", ".join(models) or "none"
        raise InvalidData("triage.model", f"{model!r} is not a shipped triage model (shipped: {shipped})")
    return model


def parse_rule_set(raw: Any, triage_models: Sequence[str] | None = None) -> RuleSet:
    """A rule set from plain data; raises InvalidData naming the field (e.g. `rules[3].then.priority`).
    `triage_models`: the shipped model versions `triage.model` must be one of."""
    data = mapping(raw, "rule set")
    version = require(data, "version", "")
    triage_model = _parse_triage(data, triage_models)
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
        triage_model=triage_model,
    )


def check_teams(rule_set: RuleSet, team_ids: Mapping[str, Any] | set[str]) -> list[str]:
    """Teams the rule set names that the directory does not have (empty when it is usable)."""
    return sorted(t for t in rule_set.teams() if t not in team_ids)


def unknown_team_fields(rule_set: RuleSet, team_ids: Mapping[str, Any] | set[str]) -> list[InvalidData]:
    """Each `then.team` naming a team the directory does not have, by field path."""
    problems = []
    for section, rules in rule_set.sections():
        for i, rule in enumerate(rules):
            if rule.then is not None and rule.then.team not in team_ids:
                path = f"{section}.then.team" if section == "default" else f"{section}[{i}].then.team"
                problems.append(InvalidData(path, f"team {rule.then.team!r} is not in the directory"))
    return problems
