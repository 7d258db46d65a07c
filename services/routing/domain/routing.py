"""One routing decision: rules pick the team, priority and SLA policy; assignment picks the owner;
the explanation says why, in words an ops person can read."""

from __future__ import annotations

from collections.abc import Mapping

from .assignment import assign
from .model import AgentLoad, Decision, Directory, RoutingInput
from .rules import Evaluation, RuleSet, Trace, evaluate


def decide(
    rule_set: RuleSet, directory: Directory, loads: Mapping[str, AgentLoad], complaint: RoutingInput
) -> Decision:
    evaluation = evaluate(rule_set, complaint)
    winner = evaluation.winner
    action = winner.then
    assert action is not None  # only flags have no action, and flags never win
    team = directory.team(action.team)
    notes: list[str] = []
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
    assignment = assign(team, loads, complaint.previous_owners)

    tags = tuple(dict.fromkeys((*action.tags, *evaluation.flag_tags)))
    informed = tuple(dict.fromkeys((*action.keep_informed, *evaluation.flag_keep_informed)))
    explanation = explain(
        rule_set.version, evaluation, team.id, action.priority, action.sla_policy, complaint.sector
    )
    explanation += "\n" + "".join(n + "\n" for n in notes) + f"Owner: {assignment.reason}."
    return Decision(
        complaint_id=complaint.complaint_id,
        tenant=complaint.tenant,
        sector=complaint.sector or "general",
        team=team.id,
        owner=assignment.owner,
        owner_is_duty_lead=assignment.owner_is_duty_lead,
        priority=action.priority,
        sla_policy=action.sla_policy,
        rule_id=winner.id,
        rule_set_version=rule_set.version,
        explanation=explanation,
        tags=tags,
        required_skills=action.required_skills,
        keep_informed=informed,
    )


def _trace_line(t: Trace) -> str:
    label = " (override)" if t.kind == "override" else ""
    return f"{t.rule_id}{label}: {'matched' if t.matched else 'no'} ({t.reason})"


def explain(version: str, ev: Evaluation, team: str, priority: str, sla_policy: str, sector: str) -> str:
    winner = ev.winner
    lines = [
        f"Routed to {team} at priority {priority} with SLA policy {sla_policy} by rule {winner.id} "
        f"(rule set {version}): {ev.considered[-1].reason}."
    ]
    if winner.kind == "override":
        lines.append("Safety/security override: it is evaluated first and beats every sector rule.")
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
    return "\n".join(lines)
