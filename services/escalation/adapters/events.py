"""Mapping between escalation's domain and the protobuf contracts in proto/haq/v1.

Domain events carry the field names of their lifecycle messages, so the mapping is generic: each
field the message has is copied, with times, clocks and statuses converted."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime

from google.protobuf.message import Message

from services.common.codec import Envelope, new_event
from services.common.pb.haq.v1 import complaint_pb2, events_pb2
from services.common.proto_values import enum_value, to_datetime, to_timestamp

from ..domain import CaseStatus, DomainEvent, Priority, SlaClock

SOURCE = "/haq/escalation"

_PRIORITIES = {
    complaint_pb2.PRIORITY_CRITICAL: Priority.CRITICAL,
    complaint_pb2.PRIORITY_HIGH: Priority.HIGH,
    complaint_pb2.PRIORITY_NORMAL: Priority.NORMAL,
    complaint_pb2.PRIORITY_LOW: Priority.LOW,
}

# Domain event name -> lifecycle message name, where they differ.
_MESSAGES = {
    "CaseOffered": "OwnerAssigned",
    "ClocksStarted": "SlaClocksStarted",
    "ClockStopped": "SlaClockStopped",
    "ClockBreached": "SlaBreached",
}


def priority_from_pb(value: int) -> Priority:
    """PRIORITY_UNSPECIFIED (or a value added later) runs on normal targets."""
    return _PRIORITIES.get(value, Priority.NORMAL)  # type: ignore[call-overload]


def status_to_pb(status: CaseStatus) -> int:
    return enum_value(complaint_pb2.ComplaintStatus, status.name, strict=True)


# Escalation's times are aware UTC (domain.clock.utc refuses naive ones), so these are the shared
# conversions under the names this module's callers import.
timestamp = to_timestamp
from_timestamp = to_datetime  # None for an unset timestamp


def clock_to_pb(clock: SlaClock) -> events_pb2.SlaClock:
    pb = events_pb2.SlaClock(
        name=clock.name.value,
        started_at=timestamp(clock.started_at),
        due_at=timestamp(clock.due_at),
        state=clock.state.value,
        cycle=clock.cycle,
    )
    if clock.stopped_at is not None:
        pb.stopped_at.CopyFrom(timestamp(clock.stopped_at))
    return pb


def breach_event_id(complaint_id: str, clock: str, cycle: int = 0) -> str:
    """The same breach always has the same id, whichever path (deadline tick or a late stop) and
    whichever process marks it: downstream sees a deadline fire at most once."""
    return f"breach:{complaint_id}:{clock}:{cycle}"


def _value(value: object) -> object:
    if isinstance(value, datetime):
        return timestamp(value)
    if isinstance(value, SlaClock):
        return clock_to_pb(value)
    if isinstance(value, CaseStatus):
        return status_to_pb(value)
    if isinstance(value, tuple):
        return [_value(v) for v in value]
    return value


def to_message(event: DomainEvent) -> Message:
    name = type(event).__name__
    cls = getattr(events_pb2, _MESSAGES.get(name, name), None)
    if cls is None:
        raise TypeError(f"no lifecycle event for {name}")
    known = cls.DESCRIPTOR.fields_by_name
    values = {
        f.name: _value(getattr(event, f.name))
        for f in fields(event)  # type: ignore[arg-type]
        if f.name in known and getattr(event, f.name) is not None
    }
    return cls(**values)


def _slug(name: str) -> str:
    return "".join(f"-{c.lower()}" if c.isupper() else c for c in name).lstrip("-")


def to_envelopes(events: list[DomainEvent], trigger_id: str) -> list[Envelope]:
    """Lifecycle events for domain events. A keyed event keeps its stable key as id; the others
    derive theirs from the event (or action) that caused them, so a redelivered cause repeats
    the same ids."""
    out: list[Envelope] = []
    seen: set[str] = set()
    for event in events:
        message = to_message(event)
        event_id = event.key
        if not event_id:
            event_id = f"{trigger_id}:{_slug(message.DESCRIPTOR.name)}"
            clock = getattr(event, "clock", None)
            if isinstance(clock, SlaClock):
                event_id += f":{clock.name.value}"
        base, n = event_id, 1
        while event_id in seen:
            n += 1
            event_id = f"{base}:{n}"
        seen.add(event_id)
        out.append(new_event(message, source=SOURCE, subject=event.complaint_id, event_id=event_id))
    return out


def to_envelope(event: DomainEvent, trigger_id: str) -> Envelope:
    return to_envelopes([event], trigger_id)[0]
