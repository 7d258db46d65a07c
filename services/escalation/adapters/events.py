"""Mapping between escalation's domain and the protobuf contracts in proto/haq/v1."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from services.common.codec import Envelope, new_event
from services.common.pb.haq.v1 import complaint_pb2, events_pb2

from ..domain import (
    CaseOffered,
    CaseStatus,
    ClockBreached,
    ClocksStarted,
    ClockStopped,
    DomainEvent,
    Priority,
    SlaClock,
)

SOURCE = "/haq/escalation"

_PRIORITIES = {
    complaint_pb2.PRIORITY_CRITICAL: Priority.CRITICAL,
    complaint_pb2.PRIORITY_HIGH: Priority.HIGH,
    complaint_pb2.PRIORITY_NORMAL: Priority.NORMAL,
    complaint_pb2.PRIORITY_LOW: Priority.LOW,
}


def priority_from_pb(value: int) -> Priority:
    """PRIORITY_UNSPECIFIED (or a value added later) runs on normal targets."""
    return _PRIORITIES.get(value, Priority.NORMAL)  # type: ignore[call-overload]


def status_to_pb(status: CaseStatus) -> int:
    return complaint_pb2.ComplaintStatus.Value(f"COMPLAINT_STATUS_{status.name}")


def timestamp(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value.astimezone(UTC))
    return ts


def from_timestamp(ts: Timestamp) -> datetime | None:
    """None for an unset timestamp."""
    if ts.seconds == 0 and ts.nanos == 0:
        return None
    return ts.ToDatetime(tzinfo=UTC)


def clock_to_pb(clock: SlaClock) -> events_pb2.SlaClock:
    pb = events_pb2.SlaClock(
        name=clock.name.value,
        started_at=timestamp(clock.started_at),
        due_at=timestamp(clock.due_at),
        state=clock.state.value,
    )
    if clock.stopped_at is not None:
        pb.stopped_at.CopyFrom(timestamp(clock.stopped_at))
    return pb


def breach_event_id(complaint_id: str, clock: str) -> str:
    """The same breach always has the same id, whichever path (deadline tick or a late stop) and
    whichever process marks it: downstream sees a deadline fire at most once."""
    return f"breach:{complaint_id}:{clock}"


def to_envelope(event: DomainEvent, trigger_id: str) -> Envelope:
    """A lifecycle event for a domain event; its id derives from the event that caused it."""
    message: Message
    match event:
        case CaseOffered():
            message = events_pb2.OwnerAssigned(
                complaint_id=event.complaint_id,
                owner=event.owner,
                team=event.team,
                status=status_to_pb(CaseStatus.OFFERED),
                accept_by=timestamp(event.accept_by),
            )
            event_id = f"{trigger_id}:owner-assigned"
        case ClocksStarted():
            message = events_pb2.SlaClocksStarted(
                complaint_id=event.complaint_id,
                policy=event.policy,
                clocks=[clock_to_pb(c) for c in event.clocks],
            )
            event_id = f"{trigger_id}:sla-clocks-started"
        case ClockStopped():
            message = events_pb2.SlaClockStopped(
                complaint_id=event.complaint_id, clock=clock_to_pb(event.clock)
            )
            event_id = f"{trigger_id}:sla-clock-stopped:{event.clock.name}"
        case ClockBreached():
            message = events_pb2.SlaBreached(
                complaint_id=event.complaint_id,
                clock=clock_to_pb(event.clock),
                owner=event.owner,
                team=event.team,
            )
            event_id = breach_event_id(event.complaint_id, event.clock.name)
        case _:
            raise TypeError(f"no lifecycle event for {type(event).__name__}")
    return new_event(message, source=SOURCE, subject=event.complaint_id, event_id=event_id)
