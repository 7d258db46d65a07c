"""Lifecycle events on Kafka: protobuf payloads with CloudEvents binary-mode headers.

`ce_type` is the protobuf message's full name ("haq.v1.ComplaintRouted"), so a consumer can
decode any event without a registry of its own, and any Kafka tool can filter on the header.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from google.protobuf import json_format, symbol_database
from google.protobuf.message import DecodeError, Message

from .pb.haq.v1 import events_pb2  # noqa: F401  (registers the event types in the pool)

PROTOBUF_CONTENT_TYPE = "application/protobuf"
_symbols = symbol_database.Default()


class EventDecodeError(ValueError):
    """The message is not a Haq lifecycle event; the reason says why."""


class _BytesData(JSONFormat):
    """Keeps the binary-mode data as raw bytes: the JSON format would turn valid UTF-8 into str."""

    def read_data(self, body: bytes, datacontenttype: str | None) -> bytes:
        return bytes(body)


_FORMAT = _BytesData()


@dataclass(frozen=True)
class Envelope:
    """One event: its CloudEvents attributes and the decoded protobuf message."""

    id: str
    type: str
    source: str
    time: datetime
    subject: str
    message: Message
    extensions: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The short event name, e.g. "ComplaintRouted"."""
        return self.type.rsplit(".", 1)[-1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "source": self.source,
            "time": self.time.isoformat(),
            "subject": self.subject,
            "data": json_format.MessageToDict(self.message, preserving_proto_field_name=True),
        }


def new_event(
    message: Message,
    *,
    source: str,
    subject: str,
    event_id: str | None = None,
    time: datetime | None = None,
) -> Envelope:
    return Envelope(
        id=event_id or str(uuid.uuid4()),
        type=message.DESCRIPTOR.full_name,
        source=source,
        time=time or datetime.now(UTC),
        subject=subject,
        message=message,
    )


@dataclass(frozen=True)
class KafkaRecord:
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def encode(envelope: Envelope) -> KafkaRecord:
    attributes = {
        "id": envelope.id,
        "type": envelope.type,
        "source": envelope.source,
        "time": envelope.time,
        "subject": envelope.subject,
        "datacontenttype": PROTOBUF_CONTENT_TYPE,
        **envelope.extensions,
    }
    event = CloudEvent(attributes=attributes, data=envelope.message.SerializeToString())
    msg = ce_kafka.to_binary(event, _FORMAT, key_mapper=lambda _e: envelope.subject.encode())
    return KafkaRecord(key=msg.key, value=msg.value, headers=list(msg.headers.items()))


_CORE_ATTRIBUTES = {"id", "type", "source", "time", "subject", "specversion", "datacontenttype"}
_EVENT_PACKAGE = "haq."
_CE_PREFIX = "ce_"
_CONTENT_TYPE = "content-type"


def decode(key: bytes | None, value: bytes | None, headers: Any) -> Envelope:
    """Decode one Kafka record. Whatever the bytes, raises only EventDecodeError (with the reason)
    when the record is not a Haq event: a consumer dead-letters it and reads on."""
    try:
        return _decode(key, value, headers)
    except EventDecodeError:
        raise
    except Exception as exc:  # a case not foreseen below must still be a refusal, never a crash
        raise EventDecodeError(f"undecodable record: {type(exc).__name__}: {_short(exc)}") from exc


def _decode(key: bytes | None, value: bytes | None, headers: Any) -> Envelope:
    header_map = _ce_headers(headers)
    if "ce_type" not in header_map or "ce_id" not in header_map:
        raise EventDecodeError("missing CloudEvents headers ce_id/ce_type (binary mode expected)")
    subject_from_key = _text(key, "the record key") if key else ""
    try:
        event = ce_kafka.from_binary(
            ce_kafka.KafkaMessage(headers=header_map, key=None, value=value or b""), _FORMAT
        )
    except Exception as exc:  # the SDK raises several types for malformed attributes
        raise EventDecodeError(f"invalid CloudEvents headers: {_short(exc)}") from exc
    type_name = event.get_type()
    if not type_name.startswith(_EVENT_PACKAGE):
        raise EventDecodeError(f"unknown event type {type_name[:200]!r}")
    try:
        message_class = _symbols.GetSymbol(type_name)
    except KeyError as exc:
        raise EventDecodeError(f"unknown event type {type_name[:200]!r}") from exc
    message = message_class()
    try:
        message.ParseFromString(event.get_data() or b"")
    except DecodeError as exc:
        raise EventDecodeError(f"payload is not a valid {type_name}: {exc}") from exc
    attrs = event.get_attributes()
    extensions = {k: str(v) for k, v in attrs.items() if k not in _CORE_ATTRIBUTES}
    return Envelope(
        id=event.get_id(),
        type=type_name,
        source=event.get_source(),
        time=event.get_time() or datetime.now(UTC),
        subject=event.get_subject() or subject_from_key,
        message=message,
        extensions=extensions,
    )


def _ce_headers(headers: Any) -> dict[str, bytes]:
    """The CloudEvents headers (`ce_*` and `content-type`, names lower-cased) with values checked to
    be UTF-8 text; other headers are not part of the event and are left alone. Kafka header names
    are UTF-8 strings by the protocol: a name that is not is a malformed record."""
    if not headers:
        return {}
    try:
        items = list(headers.items() if isinstance(headers, dict) else headers)
    except Exception as exc:
        raise EventDecodeError(f"headers are not a list of (name, value) pairs: {_short(exc)}") from exc
    out: dict[str, bytes] = {}
    for i, item in enumerate(items):
        try:
            k, v = item
        except (TypeError, ValueError) as exc:
            raise EventDecodeError(f"header {i} is not a (name, value) pair") from exc
        name = (_text(k, f"the name of header {i}") if isinstance(k, bytes | bytearray) else str(k)).lower()
        if not (name.startswith(_CE_PREFIX) or name == _CONTENT_TYPE):
            continue
        raw = bytes(v) if isinstance(v, bytes | bytearray) else str(v if v is not None else "").encode()
        _text(raw, f"header {name[:100]!r}")  # the SDK would fail on it with a less clear error
        out[name] = raw
    return out


def _text(raw: bytes | bytearray | str, what: str) -> str:
    if isinstance(raw, str):
        return raw
    try:
        return bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EventDecodeError(
            f"{what} is not UTF-8 text (byte {exc.start}: {bytes(raw)[exc.start : exc.start + 4]!r})"
        ) from exc


def _short(exc: BaseException) -> str:
    """An exception's text, bounded: a reason never copies unbounded input."""
    text = str(exc)
    return text if len(text) <= 300 else text[:300] + "..."
