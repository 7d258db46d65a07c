"""Deliveries: one message for one recipient on one channel, triggered by one event.

The delivery key (trigger event id, recipient, channel) is what "at most once" is counted on:
a redelivered trigger finds its key already claimed and sends nothing new.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

T = TypeVar("T")


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"  # signed HTTP POST to an integration
    CHAT = "chat"  # Slack-compatible incoming webhook (staff)
    SMS = "sms"  # generic HTTP SMS provider


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # claimed; due at next_attempt_at (first try, a backoff, or quiet hours)
    SENDING = "sending"  # an attempt is under way; found like this after a crash: outcome unknown
    SENT = "sent"
    FAILED = "failed"  # after the last retry, permanently refused, or interrupted: dead-lettered


class Audience(StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"
    INTEGRATION = "integration"


class Template(StrEnum):
    # to the customer
    ACKNOWLEDGEMENT = "acknowledgement"
    AGENT_RESPONSE = "agent_response"
    INFO_REQUESTED = "info_requested"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    PORTAL_LINK = "portal_link"  # the one-time link to follow a complaint in the portal
    # to staff
    NEW_ASSIGNMENT = "new_assignment"
    ACCEPT_WINDOW_CLOSING = "accept_window_closing"
    CUSTOMER_FOLLOW_UP = "customer_follow_up"
    SLA_WARNING = "sla_warning"
    ESCALATION = "escalation"
    KEEP_INFORMED = "keep_informed"
    LOW_RATING = "low_rating"  # a customer rated the resolution low: the team lead looks again
    # to integrations: the event itself as JSON
    EVENT = "event"


CUSTOMER_TEMPLATES = frozenset(
    {
        Template.ACKNOWLEDGEMENT,
        Template.AGENT_RESPONSE,
        Template.INFO_REQUESTED,
        Template.RESOLVED,
        Template.REOPENED,
        Template.PORTAL_LINK,
    }
)


# Under pressure the customer comes first: deliveries are sent by class, then by due time.
CUSTOMER_FIRST = 0  # every customer message, and any alert about a critical (safety) complaint
STAFF_ACTION = 1  # staff alerts that ask for action now: escalations, SLA warnings, closing windows
STAFF_INFO = 2  # assignments, follow-up notices, keep-informed copies, integration webhooks
STAFF_ACTION_TEMPLATES = frozenset(
    {Template.ESCALATION, Template.SLA_WARNING, Template.ACCEPT_WINDOW_CLOSING, Template.LOW_RATING}
)


def delivery_class(template: str, audience: str, priority: str) -> int:
    """The class a delivery is sent in: in a storm of 300 assignment mails the customers'
    acknowledgements must not wait behind them (their clocks would breach and escalate, adding
    yet more staff mail)."""
    if audience == Audience.CUSTOMER or template in CUSTOMER_TEMPLATES or priority == "critical":
        return CUSTOMER_FIRST
    if template in STAFF_ACTION_TEMPLATES:
        return STAFF_ACTION
    return STAFF_INFO


# A staff member's email deliveries that are due together go out as one digest of at most this many.
MAX_DIGEST_ITEMS = 50


def coalesce_staff_mail(
    rows: Sequence[T],
    *,
    channel: Callable[[T], str],
    recipient: Callable[[T], str],
    priority_class: Callable[[T], int],
) -> list[list[T]]:
    """Due deliveries in sending order, with each staff member's emails of one class that are due
    together merged into one group (sent as a digest): a backlog of assignment or warning mail to
    one person becomes one message instead of hundreds, so it cannot snowball. Customer messages
    (and alerts about critical complaints) are never merged: each goes out on its own."""
    groups: list[list[T]] = []
    open_groups: dict[tuple[str, int], list[T]] = {}
    for row in rows:
        cls = priority_class(row)
        if cls == CUSTOMER_FIRST or channel(row) != Channel.EMAIL:
            groups.append([row])
            continue
        key = (normalize_email(recipient(row)), cls)
        group = open_groups.get(key)
        if group is None or len(group) >= MAX_DIGEST_ITEMS:
            group = open_groups[key] = []
            groups.append(group)
        group.append(row)
    return groups


def normalize_email(address: str) -> str:
    """The form a recipient is keyed on (intake already lower-cases; this keeps the key stable)."""
    return address.strip().lower()


def normalize_address(channel: str, address: str) -> str:
    """The recipient form a delivery key is counted on, per channel."""
    if channel == Channel.EMAIL:
        return normalize_email(address)
    if channel == Channel.SMS:
        return "".join(ch for ch in address if ch.isdigit() or ch == "+")
    return address.strip()


@dataclass(frozen=True)
class DeliveryKey:
    trigger_event_id: str
    recipient: str
    channel: str

    @classmethod
    def email(cls, trigger_event_id: str, address: str) -> DeliveryKey:
        return cls(trigger_event_id, normalize_email(address), Channel.EMAIL.value)

    @classmethod
    def of(cls, trigger_event_id: str, channel: str, recipient: str) -> DeliveryKey:
        return cls(trigger_event_id, normalize_address(channel, recipient), str(channel))

    @property
    def digest(self) -> str:
        # A separator no id, address or channel name contains, so distinct keys never collide.
        raw = "\x1f".join((self.trigger_event_id, self.recipient, self.channel))
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()

    @property
    def notification_id(self) -> str:
        return f"ntf-{self.digest[:32]}"

    @property
    def sent_event_id(self) -> str:
        return f"notified:{self.digest}"

    def failed_event_id(self, manual_retries: int = 0) -> str:
        # A delivery re-queued by ops may fail again: that failure is a new, distinct event.
        suffix = f":{manual_retries}" if manual_retries else ""
        return f"notify-failed:{self.digest}{suffix}"

    def dead_letter_id(self, manual_retries: int = 0) -> str:
        suffix = f":{manual_retries}" if manual_retries else ""
        return f"dlq:notifications:{self.digest}{suffix}"


class NextStep(StrEnum):
    SEND = "send"  # pending: nothing is under way, an attempt may start
    SETTLED = "settled"  # sent or failed already; its event was recorded with that outcome
    INTERRUPTED = "interrupted"  # an attempt started and never finished: the outcome is unknown


def next_step(status: DeliveryStatus | str) -> NextStep:
    """What to do with a claimed delivery. An attempt that was started but never recorded as
    finished (the process died mid-send) is not retried: the message may already have left,
    and a customer told twice is worse than one failure that ops can see and retry."""
    status = DeliveryStatus(status)
    if status is DeliveryStatus.PENDING:
        return NextStep.SEND
    if status is DeliveryStatus.SENDING:
        return NextStep.INTERRUPTED
    return NextStep.SETTLED
