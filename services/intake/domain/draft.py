"""A complaint as submitted on any channel, and the rules it must meet to be accepted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from .identity import (
    IdentityError,
    IdentityKey,
    normalize_account,
    normalize_email,
    normalize_handle,
    normalize_phone,
)
from .language import detect_language

CHANNELS = ("web", "email", "chat", "social", "phone", "partner")
SECTORS = ("general", "healthcare", "education", "b2b")
ROLES = ("consumer", "patient", "relative", "parent", "student", "staff", "business_contact")
LANGUAGES = ("fa", "en")

MAX_SUBJECT = 300
MAX_BODY = 20_000
MAX_METADATA_ENTRIES = 50


@dataclass(frozen=True)
class Social:
    network: str
    handle: str


@dataclass
class CustomerInput:
    email: str = ""
    phone: str = ""
    social: list[Social] = field(default_factory=list)
    account_id: str = ""
    display_name: str = ""


@dataclass
class Draft:
    tenant: str = ""
    channel: str = ""
    sector: str = ""
    complainant_role: str = ""
    customer: CustomerInput = field(default_factory=CustomerInput)
    subject: str = ""
    body: str = ""
    language: str = ""
    product: str = ""
    purchase_date: str = ""
    category: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    idempotency_key: str = ""


@dataclass(frozen=True)
class FieldError:
    field: str
    problem: str

    def __str__(self) -> str:
        return f"{self.field}: {self.problem}"


class DraftRejected(ValueError):
    def __init__(self, errors: list[FieldError]):
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class ValidDraft:
    """A draft that passed validation, with identifiers normalised and language settled."""

    draft: Draft
    identities: tuple[IdentityKey, ...]
    language: str
    normalized_email: str
    normalized_phone: str


def validate(draft: Draft, default_tenant: str, today: date, phone_region: str = "IR") -> ValidDraft:
    """Validate and normalise; raises DraftRejected listing every problem, each naming its field."""
    errors: list[FieldError] = []
    if not draft.tenant:
        draft.tenant = default_tenant
    if draft.channel not in CHANNELS:
        errors.append(FieldError("channel", f"must be one of {', '.join(CHANNELS)}"))
    if not draft.sector:
        draft.sector = "general"
    if draft.sector not in SECTORS:
        errors.append(FieldError("sector", f"must be one of {', '.join(SECTORS)}"))
    if not draft.complainant_role:
        draft.complainant_role = "consumer"
    if draft.complainant_role not in ROLES:
        errors.append(FieldError("complainant_role", f"must be one of {', '.join(ROLES)}"))
    if not draft.body.strip():
        errors.append(FieldError("body", "required: what happened, in the customer's words"))
    elif len(draft.body) > MAX_BODY:
        errors.append(FieldError("body", f"longer than {MAX_BODY} characters"))
    if len(draft.subject) > MAX_SUBJECT:
        errors.append(FieldError("subject", f"longer than {MAX_SUBJECT} characters"))
    if draft.language and draft.language not in LANGUAGES:
        errors.append(FieldError("language", f"must be one of {', '.join(LANGUAGES)} (or empty to detect)"))
    if draft.purchase_date:
        try:
            purchased = date.fromisoformat(draft.purchase_date)
            if purchased > today:
                errors.append(FieldError("purchase_date", "is in the future"))
        except ValueError:
            errors.append(FieldError("purchase_date", "must be an ISO date, YYYY-MM-DD"))
    if len(draft.metadata) > MAX_METADATA_ENTRIES:
        errors.append(FieldError("metadata", f"more than {MAX_METADATA_ENTRIES} entries"))
    if len(draft.idempotency_key) > 200:
        errors.append(FieldError("idempotency_key", "longer than 200 characters"))

    identities, id_errors = identity_keys(draft.customer, phone_region)
    errors.extend(id_errors)
    if not identities and not errors:
        errors.append(
            FieldError("customer", "at least one of email, phone, social handle or account id is required")
        )
    if errors:
        raise DraftRejected(errors)
    language = draft.language or detect_language(f"{draft.subject}\n{draft.body}")
    by_kind = {k.kind: k.value for k in identities}
    return ValidDraft(
        draft=draft,
        identities=tuple(sorted(set(identities))),
        language=language,
        normalized_email=by_kind.get("email", ""),
        normalized_phone=by_kind.get("phone", ""),
    )


def identity_keys(c: CustomerInput, phone_region: str) -> tuple[list[IdentityKey], list[FieldError]]:
    """Normalise every identifier given; each problem is reported against its field."""
    identities: list[IdentityKey] = []
    errors: list[FieldError] = []
    try:
        if c.email:
            identities.append(IdentityKey("email", normalize_email(c.email)))
    except IdentityError as exc:
        errors.append(FieldError(f"customer.{exc.field}", exc.problem))
    try:
        if c.phone:
            identities.append(IdentityKey("phone", normalize_phone(c.phone, phone_region)))
    except IdentityError as exc:
        errors.append(FieldError(f"customer.{exc.field}", exc.problem))
    for i, s in enumerate(c.social):
        try:
            identities.append(IdentityKey("social", normalize_handle(s.network, s.handle)))
        except IdentityError as exc:
            errors.append(FieldError(f"customer.social[{i}].{exc.field.split('.')[-1]}", exc.problem))
    try:
        if c.account_id:
            identities.append(IdentityKey("account", normalize_account(c.account_id)))
    except IdentityError as exc:
        errors.append(FieldError(f"customer.{exc.field}", exc.problem))
    return identities, errors


def validate_identifiers(c: CustomerInput, phone_region: str) -> tuple[IdentityKey, ...]:
    """For look-ups: the normalised identifiers, or IdentityError for the first bad one."""
    identities, errors = identity_keys(c, phone_region)
    if errors:
        first = errors[0]
        raise IdentityError(first.field.removeprefix("customer."), first.problem)
    return tuple(identities)
