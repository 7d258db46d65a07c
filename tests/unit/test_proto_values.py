"""services.common.proto_values: enum numbers as short names, Timestamps as aware UTC datetimes."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from services.common.pb.haq.v1 import complaint_pb2, events_pb2
from services.common.proto_values import enum_name, enum_value, to_datetime, to_timestamp

ENUMS = [
    complaint_pb2.Channel,
    complaint_pb2.Sector,
    complaint_pb2.ComplainantRole,
    complaint_pb2.Priority,
    complaint_pb2.ComplaintStatus,
]


@pytest.mark.parametrize(
    ("enum", "number", "name"),
    [
        (complaint_pb2.ComplaintStatus, complaint_pb2.COMPLAINT_STATUS_IN_PROGRESS, "in_progress"),
        (complaint_pb2.Sector, complaint_pb2.SECTOR_HEALTHCARE, "healthcare"),
        (complaint_pb2.Priority, complaint_pb2.PRIORITY_CRITICAL, "critical"),
        (complaint_pb2.ComplainantRole, complaint_pb2.COMPLAINANT_ROLE_BUSINESS_CONTACT, "business_contact"),
    ],
)
def test_enum_name_drops_the_prefix_and_lowers(enum, number, name):
    assert enum_name(enum, number) == name


@pytest.mark.parametrize("enum", ENUMS, ids=lambda e: e.DESCRIPTOR.name)
def test_every_value_of_every_enum_has_a_distinct_name_and_unspecified_has_none(enum):
    prefix = enum.Name(0).removesuffix("UNSPECIFIED")
    assert enum_name(enum, 0) == ""
    names = {}
    for full in enum.keys():  # noqa: SIM118 (an EnumTypeWrapper, not a dict)
        number = enum.Value(full)
        if number == 0:
            continue
        short = enum_name(enum, number)
        assert short and short == full.removeprefix(prefix).lower()
        assert not short.startswith(prefix.lower())
        names[short] = number
    assert len(names) == len(enum.keys()) - 1


def test_unknown_number_is_empty_not_an_error():
    # A message from a peer built with a newer proto can carry a number this build does not know.
    assert 999 not in complaint_pb2.Sector.values()
    assert enum_name(complaint_pb2.Sector, 999) == ""


def test_a_descriptor_works_like_the_generated_enum():
    field = events_pb2.OwnerAccepted.DESCRIPTOR.fields_by_name["status"]
    msg = events_pb2.OwnerAccepted(status=complaint_pb2.COMPLAINT_STATUS_OWNED)
    assert enum_name(field.enum_type, msg.status) == "owned"
    assert enum_name(complaint_pb2.ComplaintStatus.DESCRIPTOR, msg.status) == "owned"


@pytest.mark.parametrize("enum", ENUMS, ids=lambda e: e.DESCRIPTOR.name)
def test_every_short_name_maps_back_to_its_number(enum):
    for number in enum.values():
        assert enum_value(enum, enum_name(enum, number)) == number
        assert enum_value(enum.DESCRIPTOR, enum_name(enum, number)) == number
    assert enum_value(enum, "unspecified") == 0


def test_enum_value_ignores_case():
    status = complaint_pb2.ComplaintStatus
    assert enum_value(status, "In_Progress") == complaint_pb2.COMPLAINT_STATUS_IN_PROGRESS
    assert enum_value(status, "WAITING_ON_CUSTOMER") == complaint_pb2.COMPLAINT_STATUS_WAITING_ON_CUSTOMER


@pytest.mark.parametrize("name", ["", "urgent", "SECTOR_HEALTHCARE", "health care", "healthcare "])
def test_an_empty_or_unknown_name_is_unspecified(name):
    # The full proto name is not a short name: only the prefix read off the enum is added.
    assert enum_value(complaint_pb2.Sector, name) == 0


@pytest.mark.parametrize("name", ["", "urgent", "PRIORITY_HIGH"])
def test_strict_refuses_an_empty_or_unknown_name_naming_the_enum(name):
    with pytest.raises(ValueError, match=rf"Priority.*{name!r}"):
        enum_value(complaint_pb2.Priority, name, strict=True)
    assert enum_value(complaint_pb2.Priority, "high", strict=True) == complaint_pb2.PRIORITY_HIGH
    assert enum_value(complaint_pb2.Priority, "unspecified", strict=True) == 0


def test_timestamp_round_trip_keeps_the_instant_to_the_microsecond():
    tehran = timezone(timedelta(hours=3, minutes=30))
    when = datetime(2026, 3, 20, 23, 59, 58, 123456, tzinfo=tehran)
    back = to_datetime(to_timestamp(when))
    assert back == when
    assert back.tzinfo is UTC
    assert back.hour == 20 and back.minute == 29 and back.microsecond == 123456


@pytest.fixture
def local_time_not_utc(monkeypatch):
    """The machine's local zone is Tehran, so reading a naive time as local time would show."""
    monkeypatch.setenv("TZ", "Asia/Tehran")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_a_naive_datetime_is_taken_as_utc(local_time_not_utc):
    assert datetime(2026, 1, 2, 3, 4, 5).astimezone().utcoffset() != timedelta(0)
    ts = to_timestamp(datetime(2026, 1, 2, 3, 4, 5))
    assert ts.seconds == int(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp())
    assert to_datetime(ts) == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_an_unset_timestamp_is_no_time():
    assert to_datetime(Timestamp()) is None
    assert to_datetime(None) is None
    msg = events_pb2.OwnerAccepted()
    assert not msg.HasField("accepted_at")
    assert to_datetime(msg.accepted_at) is None
    # One nanosecond after the epoch is a time, not "unset".
    assert to_datetime(Timestamp(seconds=0, nanos=1000)) == datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC)


def test_setting_a_message_field():
    when = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
    msg = events_pb2.OwnerAccepted()
    msg.accepted_at.CopyFrom(to_timestamp(when))
    decoded = events_pb2.OwnerAccepted.FromString(msg.SerializeToString())
    assert to_datetime(decoded.accepted_at) == when
