"""Deliveries: one message for one recipient on one channel, triggered by one event.

The delivery key (trigger event id, recipient, channel) is what "at most once" is counted on:
a redelivered trigger finds its key already claimed and sends nothing new.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum


class Channel(StrEnum):
    EMAIL = "email"


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # claimed; a send may be under way
    SENT = "sent"
    FAILED = "failed"


class Template(StrEnum):
    ACKNOWLEDGEMENT = "acknowledgement"


def normalize_email(address: str) -> str:
    """The form a recipient is keyed on (intake already lower-cases; this keeps the key stable)."""
    return address.strip().lower()


@dataclass(frozen=True)
class DeliveryKey:
    trigger_event_id: str
    recipient: str
    channel: str

    @classmethod
    def email(cls, trigger_event_id: str, address: str) -> DeliveryKey:
        return cls(trigger_event_id, normalize_email(address), Channel.EMAIL.value)

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

    @property
    def failed_event_id(self) -> str:
        return f"notify-failed:{self.digest}"


class NextStep(StrEnum):
    SEND = "send"  # claimed and never attempted: nothing can have gone out yet
    SETTLED = "settled"  # sent or failed already; its event was recorded with that outcome
    INTERRUPTED = "interrupted"  # an attempt started and never finished: the outcome is unknown


def next_step(status: DeliveryStatus | str, attempts: int) -> NextStep:
    """What to do with a claimed delivery. An attempt that was started but never recorded as
    finished (the process died mid-send) is not retried: the message may already have left,
    and a customer told twice is worse than one failure that ops can see and retry."""
    if DeliveryStatus(status) is not DeliveryStatus.PENDING:
        return NextStep.SETTLED
    if attempts == 0:
        return NextStep.SEND
    return NextStep.INTERRUPTED
