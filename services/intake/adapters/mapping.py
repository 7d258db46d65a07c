"""Between protobuf messages / CloudEvents JSON and intake's plain domain types."""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import json_format

from services.common.pb.haq.v1 import complaint_pb2 as pb
from services.common.proto_values import enum_name, enum_value

from ..domain.draft import CustomerInput, Draft, FieldError, Social

CHANNEL = (pb.Channel, "CHANNEL_")
SECTOR = (pb.Sector, "SECTOR_")
ROLE = (pb.ComplainantRole, "COMPLAINANT_ROLE_")
PRIORITY = (pb.Priority, "PRIORITY_")
STATUS = (pb.ComplaintStatus, "COMPLAINT_STATUS_")


def to_name(kind: tuple[Any, str], number: int) -> str:
    """PRIORITY_CRITICAL -> "critical"; unspecified or unknown -> ""."""
    return enum_name(kind[0], number)


def to_number(kind: tuple[Any, str], text: str) -> int:
    """ "critical" -> PRIORITY_CRITICAL; "" -> 0. A stored name the enum lacks raises ValueError."""
    return enum_value(kind[0], text, strict=True) if text else 0


def draft_from_proto(d: pb.ComplaintDraft) -> Draft:
    return Draft(
        tenant=d.tenant,
        channel=to_name(CHANNEL, d.channel),
        sector=to_name(SECTOR, d.sector),
        complainant_role=to_name(ROLE, d.complainant_role),
        customer=CustomerInput(
            email=d.customer.email,
            phone=d.customer.phone,
            social=[Social(s.network, s.handle) for s in d.customer.social],
            account_id=d.customer.account_id,
            display_name=d.customer.display_name,
        ),
        subject=d.subject,
        body=d.body,
        language=d.language,
        product=d.product,
        purchase_date=d.purchase_date,
        category=d.category,
        metadata=dict(d.metadata),
        idempotency_key=d.idempotency_key,
    )


class JsonDraftError(ValueError):
    def __init__(self, error: FieldError):
        super().__init__(str(error))
        self.error = error


def draft_from_json(data: Any) -> Draft:
    """A CloudEvent's `data` (snake_case ComplaintDraft JSON; enums as "email" or "CHANNEL_EMAIL")."""
    if not isinstance(data, dict):
        raise JsonDraftError(FieldError("data", "must be a JSON object (a ComplaintDraft)"))
    data = dict(data)
    for key, (enum, prefix) in (("channel", CHANNEL), ("sector", SECTOR), ("complainant_role", ROLE)):
        value = data.get(key)
        if isinstance(value, str) and value and not value.upper().startswith(prefix):
            data[key] = prefix + value.upper()
        if isinstance(data.get(key), str) and data[key].upper() not in enum.keys():  # noqa: SIM118 (an EnumTypeWrapper, not a dict)
            raise JsonDraftError(FieldError(key, f"unknown value {quote(value)}"))
    message = pb.ComplaintDraft()
    try:
        json_format.ParseDict(data, message, ignore_unknown_fields=False)
    except json_format.ParseError as exc:
        raise JsonDraftError(FieldError("data", quote(str(exc), 300, repr_=False))) from exc
    except (SystemError, UnicodeError) as exc:  # upb: a field name that is not valid Unicode text
        raise JsonDraftError(FieldError("data", "field names must be valid Unicode text")) from exc
    return draft_from_proto(message)


def quote(value: object, limit: int = 100, *, repr_: bool = True) -> str:
    """Input quoted back in a refusal, never whole: a refusal must not echo an oversized field."""
    text = repr(value) if repr_ else str(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def customer_to_proto(c: CustomerInput) -> pb.CustomerIdentifiers:
    return pb.CustomerIdentifiers(
        email=c.email,
        phone=c.phone,
        social=[pb.SocialHandle(network=s.network, handle=s.handle) for s in c.social],
        account_id=c.account_id,
        display_name=c.display_name,
    )


def customer_to_json(c: CustomerInput) -> str:
    return json_format.MessageToJson(customer_to_proto(c), preserving_proto_field_name=True, indent=None)


def customer_from_json(text: str) -> pb.CustomerIdentifiers:
    return json_format.Parse(text or "{}", pb.CustomerIdentifiers())


def metadata_to_json(metadata: dict[str, str]) -> str:
    return json.dumps(metadata, ensure_ascii=False, sort_keys=True)
