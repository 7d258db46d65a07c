"""One routing decision: rules pick the team, priority and SLA policy; assignment picks the owner;
the explanation says why, in words an ops person can read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from .assignment import Need, assign
from .model import AgentLoad, Decision, Directory, RoutingInput, SignalScore, Team
from .rules import Action, Evaluation, RuleSet, Trace, evaluate


@dataclass(frozen=True)
class Outcome:
    """What the rules decide, before an owner is chosen."""

    evaluation: Evaluation
    team: Team
    priority: str
    sla_policy: str
    tags: tuple[str, ...]
    keep_informed: tuple[str, ...]
    need: Need
    notes: tuple[str, ...]


def outcome(rule_set: RuleSet, directory: Directory, complaint: RoutingInput) -> Outcome:
    evaluation = evaluate(rule_set, complaint)
    action = evaluation.winner.then
    assert action is not None  # only flags have no action, and flags never win
    notes: list[str] = []
    team = directory.team(action.team)
    if team is None:
        # A rule naming a team the directory lost must not strand the complaint.
        fallback = rule_set.default.then
        assert fallback is not None
        team = directory.team(fallback.team)
        if team is None:
            raise LookupError(
                f"neither {action.team!r} nor the default team {fallback.team!r} is in the directory"
            )
        notes.append(f"Team {action.team} is not in the directory, so the default team {team.id} holds it.")
    sla_policy = _sla_policy(action, complaint, notes)
    informed = [*action.keep_informed, *evaluation.flag_keep_informed]
    account = complaint.account
    if action.inform_account_manager:
        if account and account.account_manager:
            informed.append(account.account_manager)
            notes.append(f"The account manager {account.account_manager} is kept informed.")
        else:
            notes.append("No account manager is on record for this customer, so none is kept informed.")
    language = complaint.language if action.match_language else ""
    return Outcome(
        evaluation=evaluation,
        team=team,
        priority=action.priority,
        sla_policy=sla_policy,
        tags=tuple(dict.fromkeys((*action.tags, *evaluation.flag_tags))),
        keep_informed=tuple(dict.fromkeys(informed)),
        need=Need(action.required_skills, language),
        notes=tuple(notes),
    )


def _sla_policy(action: Action, complaint: RoutingInput, notes: list[str]) -> str:
    if not action.sla_from_contract:
        return action.sla_policy
    account = complaint.account
    if account and account.sla_policy:
        hours = f", first response within {account.response_hours} h" if account.response_hours else ""
        notes.append(f"The contract of account {account.id} sets SLA policy {account.sla_policy}{hours}.")
        return account.sla_policy
    notes.append(
        f"No contract is on record for this customer, so the rule's SLA policy {action.sla_policy} applies."
    )
    return action.sla_policy


def decide(
    rule_set: RuleSet,
    directory: Directory,
    loads: Mapping[str, AgentLoad],
    complaint: RoutingInput,
    now: datetime | None = None,
) -> Decision:
    out = outcome(rule_set, directory, complaint)
    assignment = assign(out.team, loads, complaint.previous_owners, out.need, now)
    winner = out.evaluation.winner
    explanation = explain(
        rule_set.version,
        out.evaluation,
        out.team.id,
        out.priority,
        out.sla_policy,
        complaint.sector,
        signals=complaint.signals,
        model=complaint.triage_model,
    )
    explanation += "\n" + "".join(n + "\n" for n in out.notes) + f"Owner: {assignment.reason}."
    return Decision(
        complaint_id=complaint.complaint_id,
        tenant=complaint.tenant,
        sector=complaint.sector or "general",
        team=out.team.id,
        owner=assignment.owner,
        owner_is_duty_lead=assignment.owner_is_duty_lead,
        priority=out.priority,
        sla_policy=out.sla_policy,
        rule_id=winner.id,
        rule_set_version=rule_set.version,
        explanation=explanation,
        tags=out.tags,
        required_skills=out.need.required_skills,
        keep_informed=out.keep_informed,
        required_language=out.need.language,
        strategy=assignment.strategy,
        queued=assignment.owner_is_duty_lead,
    )


def _trace_line(t: Trace) -> str:
    label = " (override)" if t.kind == "override" else ""
    return f"{t.rule_id}{label}: {'matched' if t.matched else 'no'} ({t.reason})"


def signals_line(signals: tuple[SignalScore, ...], model: str) -> str:
    """`Triage signals (model triage-1): safety 0.91, privacy 0.03, urgent 1.00 (corrected)`."""
    if not signals:
        return ""
    shown = [
        f"{s.signal} {s.score:.2f}" + (" (corrected)" if s.source == "correction" else "") for s in signals
    ]
    return f"Triage signals (model {model or 'unknown'}): {', '.join(shown)}."


def explain(
    version: str,
    ev: Evaluation,
    team: str,
    priority: str,
    sla_policy: str,
    sector: str,
    signals: tuple[SignalScore, ...] = (),
    model: str = "",
) -> str:
    winner = ev.winner
    lines = [
        f"Routed to {team} at priority {priority} with SLA policy {sla_policy} by rule {winner.id} "
        f"(rule set {version}): {ev.considered[-1].reason}."
    ]
    if winner.kind == "override":
        lines.append("Safety/security override: it is evaluated first and beats every sector rule.")
    deciding = [b.signal for b in winner.when.signals]
    if deciding:
        lines.append(f"Decided by the {' and '.join(deciding)} signal of triage model {model or 'unknown'}.")
    elif winner.kind == "default":
        lines.append("No rule matched, so the default rule applies.")
    # Rules written for another sector are listed by name only: their reason is always the same.
    other_sector = [t.rule_id for t in ev.considered if t.failed_on == "sectors"]
    shown = [_trace_line(t) for t in ev.considered if t.failed_on != "sectors"]
    lines.append("Rules considered, in order: " + "; ".join(shown) + ".")
    if other_sector:
        lines.append(f"Not applicable to sector {sector or 'unspecified'}: {', '.join(other_sector)}.")
    hits = [t for t in ev.flags if t.matched]
    if hits:
        lines.append(
            "Flags: "
            + "; ".join(_trace_line(t) for t in hits)
            + f" -> tags {', '.join(ev.flag_tags)}; the complaint is still owned and its SLA runs."
        )
    if signals:
        lines.append(signals_line(signals, model))
    return "\n".join(lines)
