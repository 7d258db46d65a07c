"""Plain Python values for protobuf ones: an enum number as its short lowercase name, and a
`google.protobuf.Timestamp` as an aware UTC datetime (both ways).

Every enum in proto/haq/v1 starts with `<PREFIX>_UNSPECIFIED = 0`, and every value carries the same
prefix (COMPLAINT_STATUS_IN_PROGRESS, SECTOR_HEALTHCARE), so the prefix is read off the enum itself:
a value added to a proto is known here without a code change. An unset Timestamp (0 s, 0 ns) is
"no time", never 1970-01-01. Pure: no Kafka, gRPC or database imports.
"""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.descriptor import EnumDescriptor
from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper
from google.protobuf.timestamp_pb2 import Timestamp


def _descriptor(enum: EnumTypeWrapper | EnumDescriptor) -> EnumDescriptor:
    return enum.DESCRIPTOR if isinstance(enum, EnumTypeWrapper) else enum


def _prefix(descriptor: EnumDescriptor) -> str:
    # Sector -> SECTOR_, ComplainantRole -> COMPLAINANT_ROLE_, ComplaintStatus -> COMPLAINT_STATUS_
    return descriptor.values_by_number[0].name.removesuffix("UNSPECIFIED")


def enum_name(enum: EnumTypeWrapper | EnumDescriptor, number: int) -> str:
    """`enum_name(complaint_pb2.ComplaintStatus, COMPLAINT_STATUS_IN_PROGRESS)` -> "in_progress".

    `enum` is the generated enum (complaint_pb2.Sector) or its descriptor (a field's
    `enum_type`). "" for 0 (unspecified) and for a number this build does not know (a message
    from a newer peer)."""
    descriptor = _descriptor(enum)
    if not number:
        return ""
    value = descriptor.values_by_number.get(number)
    if value is None:
        return ""
    return value.name.removeprefix(_prefix(descriptor)).lower()


def enum_value(enum: EnumTypeWrapper | EnumDescriptor, name: str, *, strict: bool = False) -> int:
    """`enum_value(complaint_pb2.ComplaintStatus, "in_progress")` -> COMPLAINT_STATUS_IN_PROGRESS.

    The short name in any case ("In_Progress" too); "unspecified" is 0. 0 for "" and for a name the
    enum does not have, or, with `strict`, ValueError naming the enum and the name for both (for
    names this service wrote itself, where one it cannot map is a defect, not input)."""
    descriptor = _descriptor(enum)
    value = descriptor.values_by_name.get(_prefix(descriptor) + name.upper()) if name else None
    if value is None:
        if strict:
            raise ValueError(f"enum {descriptor.name} has no value named {name!r}")
        return 0
    return value.number


def to_datetime(ts: Timestamp | None) -> datetime | None:
    """The aware UTC datetime of a Timestamp; None when it is unset (or missing)."""
    if ts is None or (ts.seconds == 0 and ts.nanos == 0):
        return None
    return ts.ToDatetime(tzinfo=UTC)


def to_timestamp(value: datetime) -> Timestamp:
    """A Timestamp for `value`; a naive datetime is taken as UTC (how SQLite hands stored times back).

    Set a message's field with `msg.field.CopyFrom(to_timestamp(value))`."""
    ts = Timestamp()
    ts.FromDatetime(value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC))
    return ts
