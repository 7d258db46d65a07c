"""How lifecycle events read in a complaint's case file: its status and a one-line summary each.

Pure functions over event data as plain dicts, so the case file's wording is tested directly.
"""

from __future__ import annotations

from typing import Any

OPEN_STATUSES = ("received", "routed", "offered", "owned", "in_progress", "waiting_on_customer")
# A later event never moves the status backwards (events of one complaint may be relayed by
# different services slightly out of causal order).
STATUS_ORDER = {s: i for i, s in enumerate((*OPEN_STATUSES, "resolved", "closed"))}


def advance_status(current: str, proposed: str) -> str:
    if proposed not in STATUS_ORDER:
        return current
    if current in ("resolved", "closed") and proposed in OPEN_STATUSES and proposed != "received":
        return proposed  # a reopen is a real move back to work
    return proposed if STATUS_ORDER[proposed] >= STATUS_ORDER.get(current, 0) else current


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
    if event_name == "NotificationFailed":
        return f"{_label(data.get('template'))} by {data.get('channel')} failed after {data.get('attempts', 0)} attempt(s)"
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
