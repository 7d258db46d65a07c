"""Lowercase names for the proto enums, both ways: "healthcare" <-> SECTOR_HEALTHCARE.

The CLI reads and prints these short names (flags, JSON files, `haq show --json`); the names come
from the enum descriptors, so a value added to the proto is known here without a code change.
"""

from __future__ import annotations

from google.protobuf.descriptor import EnumDescriptor

from services.common.pb.haq.v1 import complaint_pb2
from services.common.proto_values import enum_name, enum_value

CHANNEL = complaint_pb2.Channel.DESCRIPTOR
SECTOR = complaint_pb2.Sector.DESCRIPTOR
ROLE = complaint_pb2.ComplainantRole.DESCRIPTOR
PRIORITY = complaint_pb2.Priority.DESCRIPTOR
STATUS = complaint_pb2.ComplaintStatus.DESCRIPTOR


def _prefix(enum: EnumDescriptor) -> str:
    # Channel -> CHANNEL_, ComplainantRole -> COMPLAINANT_ROLE_, ComplaintStatus -> COMPLAINT_STATUS_
    unspecified = enum.values_by_number[0].name
    return unspecified.removesuffix("UNSPECIFIED")


def choices(enum: EnumDescriptor) -> list[str]:
    """The accepted short names, in proto order, without "unspecified"."""
    prefix = _prefix(enum)
    return [v.name.removeprefix(prefix).lower() for v in enum.values if v.number != 0]


def to_proto(enum: EnumDescriptor, name: str) -> int:
    """ "healthcare", "Healthcare", "business-contact" or the full "SECTOR_HEALTHCARE" -> the number.

    Raises ValueError naming the accepted values. An empty name is "unspecified" (0)."""
    text = name.strip()
    if not text:
        return 0
    key = text.upper().replace("-", "_").replace(" ", "_")
    full = enum.values_by_name.get(key)
    number = full.number if full is not None else enum_value(enum, key)
    if not number:
        raise ValueError(f"{name!r} is not one of {', '.join(choices(enum))}")
    return number


def to_name(enum: EnumDescriptor, number: int) -> str | None:
    """The short lowercase name; None for "unspecified" (not known yet, e.g. priority before routing).
    A number this build does not know (a newer server) is shown as the number."""
    if number == 0:
        return None
    return enum_name(enum, number) or str(number)
