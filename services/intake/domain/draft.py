"""A complaint as submitted on any channel, and the rules it must meet to be accepted."""

from __future__ import annotations

import re
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

# The size contract of a draft, in characters (docs/limits.md, "Complaint drafts (intake)"). With
# every field at its maximum and every character 4 bytes in UTF-8, a ComplaintReceived event stays
# near 200 KB, far below the broker's 1 MiB message limit. Customer identifiers: identity.py.
MAX_TENANT = 64
MAX_SUBJECT = 300
MAX_BODY = 20_000
MAX_PRODUCT = 200
MAX_CATEGORY = 100
MAX_PURCHASE_DATE = 10  # YYYY-MM-DD
MAX_IDEMPOTENCY_KEY = 200
MAX_DISPLAY_NAME = 200
MAX_METADATA_ENTRIES = 50
MAX_METADATA_KEY = 64
MAX_METADATA_VALUE = 500
MAX_SOCIAL = 10
MAX_LANGUAGE = 8

# PostgreSQL text cannot hold NUL; a lone surrogate is not encodable as UTF-8 at all.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


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


def text_problem(value: str, limit: int) -> str | None:
    """Why a free-text value cannot be accepted (too long, or not storable), or None. Length first,
    so nothing else ever scans more than `limit` characters."""
    if len(value) > limit:
        return f"at most {limit} characters"
    found = _UNSTORABLE.search(value)
    if found is not None:
        if found.group() == "\x00":
            return "must not contain NUL characters (\\x00)"
        return "must be valid Unicode text (a lone surrogate cannot be stored)"
    return None


def _text_errors(draft: Draft) -> list[FieldError]:
    """Every free-text and list field of the draft against its maximum; identifiers: identity.py."""
    errors: list[FieldError] = []

    def check(name: str, value: str, limit: int) -> None:
        problem = text_problem(value, limit)
        if problem is not None:
            errors.append(FieldError(name, problem))

    check("tenant", draft.tenant, MAX_TENANT)
    check("subject", draft.subject, MAX_SUBJECT)
    check("body", draft.body, MAX_BODY)
    check("language", draft.language, MAX_LANGUAGE)
    check("product", draft.product, MAX_PRODUCT)
    check("category", draft.category, MAX_CATEGORY)
    check("purchase_date", draft.purchase_date, MAX_PURCHASE_DATE)
    check("idempotency_key", draft.idempotency_key, MAX_IDEMPOTENCY_KEY)
    check("customer.display_name", draft.customer.display_name, MAX_DISPLAY_NAME)
    if len(draft.customer.social) > MAX_SOCIAL:
        errors.append(FieldError("customer.social", f"at most {MAX_SOCIAL} handles"))
    if len(draft.metadata) > MAX_METADATA_ENTRIES:
        errors.append(FieldError("metadata", f"at most {MAX_METADATA_ENTRIES} entries"))
    else:
        for i, (key, value) in enumerate(draft.metadata.items()):
            problem = text_problem(key, MAX_METADATA_KEY)
            if problem is not None:  # the key itself is not quoted: it may be huge or unprintable
                errors.append(FieldError("metadata", f"key {i + 1}: {problem}"))
                continue
            check(f"metadata[{key!r}]", value, MAX_METADATA_VALUE)
    return errors


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
    errors = _text_errors(draft)
    bad = {e.field for e in errors}
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
    if "body" not in bad and not draft.body.strip():
        errors.append(FieldError("body", "required: what happened, in the customer's words"))
    if "language" not in bad and draft.language and draft.language not in LANGUAGES:
        errors.append(FieldError("language", f"must be one of {', '.join(LANGUAGES)} (or empty to detect)"))
    if "purchase_date" not in bad and draft.purchase_date:
        try:
            purchased = date.fromisoformat(draft.purchase_date)
            if purchased > today:
                errors.append(FieldError("purchase_date", "is in the future"))
        except ValueError:
            errors.append(FieldError("purchase_date", "must be an ISO date, YYYY-MM-DD"))

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
    for i, s in enumerate(c.social[:MAX_SOCIAL]):  # more is refused by validate()
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
