"""How lifecycle events read in a complaint's case file: its status and a one-line summary each.

Pure functions over event data as plain dicts, so the case file's wording is tested directly.
"""

from __future__ import annotations

from typing import Any

# Status and ownership are decided by the one lifecycle fold every reader shares (re-exported here).
from services.common.lifecycle import OPEN_STATUSES, advance_status

__all__ = ["CASE_FILE_EVENTS", "OPEN_STATUSES", "advance_status", "summarize"]

# Every lifecycle event the case file shows (its timeline lists each, with a summary).
CASE_FILE_EVENTS = (
    "ComplaintReceived",
    "CustomerFollowedUp",
    "ComplaintRouted",
    "OwnerAssigned",
    "OwnerAccepted",
    "OwnerDeclined",
    "OwnerReplaced",
    "RerouteRequested",
    "AgentResponded",
    "InternalNoteAdded",
    "InfoRequested",
    "TransferRequested",
    "TransferAccepted",
    "TransferDeclined",
    "Resolved",
    "Reopened",
    "Closed",
    "SlaClocksStarted",
    "SlaClockStopped",
    "SlaClocksPaused",
    "SlaClocksResumed",
    "SlaWarning",
    "SlaBreached",
    "Escalated",
    "NotificationSent",
    "NotificationFailed",
    "ComplaintRated",
    "TriageCorrected",
)


def summarize(event_name: str, data: dict[str, Any]) -> str:
    """A short, staff- and customer-readable line; no contact details or free text."""
    if event_name == "ComplaintReceived":
        c = data.get("complaint", {})
        history = data.get("history", {})
        returning = int(history.get("previous_complaints", 0) or 0)
        text = f"Received via {_label(c.get('channel'))} ({_label(c.get('sector'))}, {_label(c.get('complainant_role'))})"
        return text + (f"; returning customer with {returning} earlier complaint(s)" if returning else "")
    if event_name == "CustomerFollowedUp":
        return f"Customer followed up via {_label(data.get('channel'))}"
    if event_name == "ComplaintRouted":
        who = f"duty owner {data.get('owner')}" if data.get("owner_is_duty_lead") else data.get("owner")
        return (
            f"Routed to {data.get('team')} ({who}), priority {_label(data.get('priority'))}, "
            f"rule {data.get('rule_id')}"
        )
    if event_name == "OwnerAssigned":
        return (
            f"Offered to {data.get('owner')} of {data.get('team')}, to accept by {data.get('accept_by', '?')}"
        )
    if event_name == "SlaClocksStarted":
        names = ", ".join(c.get("name", "?") for c in data.get("clocks", []))
        return f"SLA clocks started ({data.get('policy')}): {names}"
    if event_name == "SlaClockStopped":
        clock = data.get("clock", {})
        return f"SLA clock {clock.get('name')} {clock.get('state', 'stopped')}"
    if event_name == "SlaBreached":
        return f"SLA breached: {data.get('clock', {}).get('name')} (owner {data.get('owner')})"
    if event_name == "NotificationSent":
        return f"{_label(data.get('template'))} sent by {data.get('channel')}"
    if event_name == "OwnerAccepted":
        return f"Accepted by {data.get('owner')} ({data.get('team')})"
    if event_name == "OwnerDeclined":
        return f"Declined by {data.get('owner')}: {data.get('reason', 'no reason given')}; stays owned until re-assigned"
    if event_name == "OwnerReplaced":
        who = (
            f"duty owner {data.get('new_owner')}"
            if data.get("new_owner_is_duty_lead")
            else data.get("new_owner")
        )
        return f"Owner {data.get('previous_owner')} replaced by {who}: {data.get('reason', '')}".rstrip(": ")
    if event_name == "RerouteRequested":
        return f"New owner requested in {data.get('team')}: {data.get('reason', '')}".rstrip(": ")
    if event_name == "AgentResponded":
        return f"{data.get('agent')} replied to the customer"
    if event_name == "InternalNoteAdded":
        return f"Internal note by {data.get('agent')}"
    if event_name == "InfoRequested":
        return f"{data.get('agent')} asked the customer for information; clocks paused"
    if event_name == "TransferRequested":
        target = data.get("to_owner") or data.get("to_team")
        return f"Transfer to {target} requested by {data.get('from_owner')}; {data.get('from_owner')} stays accountable"
    if event_name == "TransferAccepted":
        return f"Transfer accepted: now owned by {data.get('new_owner')} ({data.get('new_team')})"
    if event_name == "TransferDeclined":
        why = "timed out" if data.get("timed_out") else f"declined by {data.get('declined_by')}"
        return f"Transfer {why}; {data.get('owner')} stays accountable"
    if event_name == "Resolved":
        return f"Resolved by {data.get('owner')} ({data.get('resolution_code')})"
    if event_name == "Reopened":
        return "Complaint reopened" + (f": {data['reason']}" if data.get("reason") else "")
    if event_name == "Closed":
        return "Complaint closed"
    if event_name == "SlaWarning":
        share = float(data.get("share_elapsed", 0) or 0)
        return f"SLA warning: {data.get('clock', {}).get('name')} at {share:.0%} of its target"
    if event_name == "SlaClocksPaused":
        return "SLA clocks paused: " + ", ".join(c.get("name", "?") for c in data.get("clocks", []))
    if event_name == "SlaClocksResumed":
        return "SLA clocks resumed: " + ", ".join(c.get("name", "?") for c in data.get("clocks", []))
    if event_name == "Escalated":
        people = ", ".join(data.get("notify", [])) or "nobody named"
        return f"Escalated to {_label(data.get('level'))} (step {data.get('step', 0)}): {people}"
    if event_name == "NotificationFailed":
        return f"{_label(data.get('template'))} by {data.get('channel')} failed after {data.get('attempts', 0)} attempt(s)"
    if event_name == "ComplaintRated":  # the comment is the customer's free text: not in the summary
        return f"Customer rated the resolution {int(data.get('rating', 0) or 0)}/5"
    if event_name == "TriageCorrected":  # the reason is free text: not in the summary
        what = "marked" if data.get("present") else "cleared"
        moved = f"; now with {data['team']}" if data.get("team") else ""
        return f"Triage corrected by {data.get('corrected_by')}: {_label(data.get('signal'))} {what}{moved}"
    return event_name


def _label(value: Any) -> str:
    """Proto enum names read as words: CHANNEL_EMAIL -> email, PRIORITY_CRITICAL -> critical."""
    if value is None or value == "":
        return "unknown"
    text = str(value)
    for prefix in ("CHANNEL_", "SECTOR_", "COMPLAINANT_ROLE_", "PRIORITY_", "COMPLAINT_STATUS_"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    return text.lower().replace("_", " ")
