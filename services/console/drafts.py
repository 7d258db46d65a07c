"""`haq submit` input -> the ComplaintDraft proto: from flags, from a JSON document, or both.

The JSON has the shape of the ComplaintDraft proto with its snake_case field names; enum fields
take the short lowercase names ("email", "healthcare", "patient") as well as the proto names.
Flags given next to `--file` override the document's values (`--social` and `--meta` add to it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format

from services.common.pb.haq.v1 import complaint_pb2

from . import enums

_ENUM_FIELDS = {"channel": enums.CHANNEL, "sector": enums.SECTOR, "complainant_role": enums.ROLE}


class DraftInputError(ValueError):
    """Input the CLI refuses before sending anything; `field` names what is wrong."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass
class DraftFlags:
    """The `haq submit` flags; None means "not given"."""

    tenant: str | None = None
    channel: str | None = None
    sector: str | None = None
    role: str | None = None
    customer_email: str | None = None
    customer_phone: str | None = None
    customer_account: str | None = None
    name: str | None = None
    social: Sequence[str] = field(default_factory=list)
    subject: str | None = None
    body: str | None = None
    idempotency_key: str | None = None
    language: str | None = None
    product: str | None = None
    purchase_date: str | None = None
    category: str | None = None
    meta: Sequence[str] = field(default_factory=list)


def parse_social(text: str) -> complaint_pb2.SocialHandle:
    """ "x:@sara_k" -> SocialHandle(network="x", handle="@sara_k")."""
    network, sep, handle = text.partition(":")
    if not sep or not network.strip() or not handle.strip():
        raise DraftInputError("--social", f"{text!r} is not NETWORK:HANDLE (e.g. x:@sara_k)")
    return complaint_pb2.SocialHandle(network=network.strip(), handle=handle.strip())


def parse_meta(text: str) -> tuple[str, str]:
    """ "order=A-1029" -> ("order", "A-1029"); the value may itself contain "="."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise DraftInputError("--meta", f"{text!r} is not KEY=VALUE")
    return key.strip(), value


def read_json(text: str, origin: str = "--file") -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DraftInputError(origin, f"not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise DraftInputError(origin, "must hold one JSON object (a ComplaintDraft)")
    return data


def draft_from_dict(data: Mapping[str, Any]) -> complaint_pb2.ComplaintDraft:
    """A ComplaintDraft from its JSON shape; unknown fields are refused, naming them."""
    doc = dict(data)
    for name, descriptor in _ENUM_FIELDS.items():
        value = doc.get(name)
        if isinstance(value, str):
            try:
                doc[name] = enums.to_proto(descriptor, value)
            except ValueError as exc:
                raise DraftInputError(name, str(exc)) from exc
    draft = complaint_pb2.ComplaintDraft()
    try:
        json_format.ParseDict(doc, draft)
    except json_format.ParseError as exc:
        raise DraftInputError("draft", str(exc)) from exc
    return draft


def build_draft(base: Mapping[str, Any] | None, flags: DraftFlags) -> complaint_pb2.ComplaintDraft:
    """The draft to submit: the JSON document (if any) with the flags applied on top."""
    draft = draft_from_dict(base or {})
    for flag, name, descriptor in (
        ("--channel", "channel", enums.CHANNEL),
        ("--sector", "sector", enums.SECTOR),
        ("--role", "complainant_role", enums.ROLE),
    ):
        value = getattr(flags, "role" if name == "complainant_role" else name)
        if value is not None:
            try:
                setattr(draft, name, enums.to_proto(descriptor, value))
            except ValueError as exc:
                raise DraftInputError(flag, str(exc)) from exc
    for name in (
        "tenant",
        "subject",
        "body",
        "idempotency_key",
        "language",
        "product",
        "purchase_date",
        "category",
    ):
        value = getattr(flags, name)
        if value is not None:
            setattr(draft, name, value)
    customer = draft.customer
    if flags.customer_email is not None:
        customer.email = flags.customer_email
    if flags.customer_phone is not None:
        customer.phone = flags.customer_phone
    if flags.customer_account is not None:
        customer.account_id = flags.customer_account
    if flags.name is not None:
        customer.display_name = flags.name
    for text in flags.social:
        customer.social.append(parse_social(text))
    for text in flags.meta:
        key, value = parse_meta(text)
        draft.metadata[key] = value
    return draft
