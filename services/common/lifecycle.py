"""Who owns a complaint now, where it stands, and how it was routed: one pure fold over lifecycle events.

Every reader of the lifecycle topic (intake's case file, notifications' audience, the console's live
views, routing's capacity holds) folds events through `fold`, so they agree after a reroute, a
replacement or a transfer. The rules, in the words of docs/SLA.md:

- a first ComplaintRouted names the proposed owner; a *reassignment* ComplaintRouted (a queue drain
  or reroute) is only a proposal while someone owns the complaint: the current owner stays
  accountable until escalation moves ownership (OwnerAccepted, OwnerReplaced, TransferAccepted);
- OwnerAssigned (an offer) names the owner only while nobody has accepted the complaint yet;
- status only moves forward through the early stages, moves freely between the working ones, and a
  reopen brings a resolved or closed complaint back to work.

SLA clocks are not folded here: escalation's clocks are the only clock truth, and readers copy the
clock states that escalation publishes.

Pure Python over protobuf messages (read by field name): no Kafka, gRPC or database imports.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from services.common import proto_values

OPEN_STATUSES = ("received", "routed", "offered", "owned", "in_progress", "waiting_on_customer")
STATUSES = (*OPEN_STATUSES, "resolved", "closed")
STATUS_ORDER = {s: i for i, s in enumerate(STATUSES)}
WORKING = ("owned", "in_progress", "waiting_on_customer")
NOT_YET_ACCEPTED = ("", "received", "routed", "offered")

# The events that change ownership, status or routing facts; every other event leaves them alone.
FOLDED_EVENTS = frozenset(
    {
        "ComplaintReceived",
        "ComplaintRouted",
        "OwnerAssigned",
        "OwnerAccepted",
        "OwnerDeclined",
        "OwnerReplaced",
        "TransferAccepted",
        "AgentResponded",
        "InfoRequested",
        "Resolved",
        "Reopened",
        "Closed",
        "SlaClocksStarted",
        "SlaClocksResumed",
    }
)


@dataclass(frozen=True, slots=True)
class CaseLifecycle:
    """The part of a complaint's state that lifecycle events decide, as every reader sees it."""

    status: str = ""
    team: str = ""
    owner: str = ""
    owner_is_duty_lead: bool = False
    priority: str = ""
    sla_policy: str = ""
    routing_rule: str = ""
    routing_explanation: str = ""

    @property
    def accepted(self) -> bool:
        """Somebody has accepted the complaint (or owns it as duty lead) and is accountable."""
        return self.status not in NOT_YET_ACCEPTED and bool(self.owner)


def advance_status(current: str, proposed: str) -> str:
    """Early stages only move forward (events relayed by different services may arrive slightly
    out of causal order); once owned, work moves freely between owned, in progress and waiting on
    the customer; a reopen moves a resolved or closed complaint back to work."""
    if proposed not in STATUS_ORDER:
        return current
    if current in WORKING and proposed in WORKING:
        return proposed
    if current in ("resolved", "closed") and proposed in OPEN_STATUSES and proposed != "received":
        return proposed
    return proposed if STATUS_ORDER[proposed] >= STATUS_ORDER.get(current, 0) else current


def enum_name(msg: Any, field: str) -> str:
    """The short lowercase name of an enum field: COMPLAINT_STATUS_IN_PROGRESS -> "in_progress";
    "" for unspecified, for an unknown number and for a message without that field."""
    descriptor = msg.DESCRIPTOR.fields_by_name.get(field)
    if descriptor is None or descriptor.enum_type is None:
        return ""
    return proto_values.enum_name(descriptor.enum_type, getattr(msg, field))


def fold(state: CaseLifecycle, name: str, msg: Any) -> CaseLifecycle:
    """`state` after the lifecycle event `name` (its protobuf message `msg`)."""
    if name not in FOLDED_EVENTS:
        return state
    changes: dict[str, Any] = {}
    if name == "ComplaintReceived":
        changes["status"] = advance_status(state.status, "received")
    elif name == "ComplaintRouted":
        changes.update(
            priority=enum_name(msg, "priority") or state.priority,
            sla_policy=msg.sla_policy or state.sla_policy,
            routing_rule=msg.rule_id or state.routing_rule,
            routing_explanation=msg.explanation or state.routing_explanation,
            status=advance_status(state.status, "routed"),
        )
        if not msg.reassignment or not state.owner:
            changes.update(team=msg.team, owner=msg.owner, owner_is_duty_lead=msg.owner_is_duty_lead)
    elif name == "OwnerAssigned":
        if not state.accepted:
            changes.update(owner=msg.owner or state.owner, team=msg.team or state.team)
        changes["status"] = advance_status(state.status, enum_name(msg, "status") or "offered")
    elif name == "OwnerAccepted":
        changes.update(owner=msg.owner or state.owner, team=msg.team or state.team, owner_is_duty_lead=False)
    elif name == "Reopened":
        changes.update(owner=msg.owner or state.owner, team=msg.team or state.team)
    elif name == "OwnerReplaced":
        changes.update(
            owner=msg.new_owner or state.owner,
            team=msg.team or state.team,
            owner_is_duty_lead=msg.new_owner_is_duty_lead,
        )
    elif name == "TransferAccepted":
        changes.update(
            owner=msg.new_owner or state.owner, team=msg.new_team or state.team, owner_is_duty_lead=False
        )
    elif name == "SlaClocksStarted" and msg.policy:
        changes["sla_policy"] = msg.policy
    if name != "OwnerAssigned":
        status = enum_name(msg, "status")
        if status:
            changes["status"] = advance_status(changes.get("status", state.status), status)
    return replace(state, **changes) if changes else state
