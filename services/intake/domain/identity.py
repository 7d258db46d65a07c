"""Customer identifiers, normalised so the same person is recognised on every channel."""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HANDLE = re.compile(r"^@?[\w.\-]{1,64}$")


class IdentityError(ValueError):
    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True, order=True)
class IdentityKey:
    """One normalised identifier: kind is email, phone, social or account."""

    kind: str
    value: str


def normalize_email(raw: str) -> str:
    email = raw.strip().lower()
    if not _EMAIL.match(email):
        raise IdentityError("email", f"not a valid email address: {raw!r}")
    return email


def normalize_phone(raw: str, default_region: str = "IR") -> str:
    """E.164. Numbers without a country code are read in `default_region` (Iran unless configured)."""
    text = raw.strip().translate(PERSIAN_DIGITS)
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else default_region)
    except phonenumbers.NumberParseException as exc:
        raise IdentityError("phone", f"not a phone number: {exc}") from exc
    if not phonenumbers.is_valid_number(number):
        raise IdentityError("phone", f"not a valid phone number: {raw!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_handle(network: str, handle: str) -> str:
    net = network.strip().lower()
    h = handle.strip().lower()
    if not net:
        raise IdentityError("social.network", "required with a handle")
    if not _HANDLE.match(h):
        raise IdentityError("social.handle", f"not a valid handle: {handle!r}")
    return f"{net}:{h.lstrip('@')}"


def normalize_account(raw: str) -> str:
    value = raw.strip()
    if not value or len(value) > 128:
        raise IdentityError("account_id", "must be 1 to 128 characters")
    return value


# Persian (U+06F0..) and Arabic-Indic (U+0660..) digits to ASCII.
PERSIAN_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
