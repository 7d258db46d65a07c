"""Plain Python values for protobuf ones: an enum number as its short lowercase name, and a
`google.protobuf.Timestamp` as an aware UTC datetime (and back).

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
    prefix = descriptor.values_by_number[0].name.removesuffix("UNSPECIFIED")
    return value.name.removeprefix(prefix).lower()


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
