"""Customer identifiers, normalised so the same person is recognised on every channel."""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

# Maximum lengths (characters), checked before any pattern runs: docs/limits.md.
MAX_EMAIL = 254  # RFC 5321: a forward path of 256 octets, less the angle brackets
MAX_EMAIL_LOCAL = 64  # RFC 5321, 4.5.3.1.1
MAX_PHONE = 32  # E.164 allows 15 digits; room for a country code, spaces, brackets and dashes
MAX_NETWORK = 32
MAX_HANDLE = 64  # without the leading @
MAX_ACCOUNT = 128

# Linear: bounded character classes, no nested quantifiers, applied only to at most MAX_EMAIL
# characters. One address only: no quoted local parts, comments or display names. Letters of any
# script are allowed (RFC 6531 addresses, internationalised domain names).
_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+")
# What would turn one recipient into several, or break a header: lists (, ;), angle brackets and
# quotes of a display name, spaces and line breaks, and every other control character.
_EMAIL_FORBIDDEN = re.compile(r"[,;<>()\[\]\\\":\s\x00-\x1f\x7f]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NETWORK = re.compile(r"[\w.\-]{1,32}")
_HANDLE = re.compile(r"@?[\w.\-]{1,64}")


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
    """One address, lower-cased. Spaces around it are dropped; anything that could make it a list
    of recipients or break a mail header (`,` `;` `<` `>` quotes, spaces, CR/LF) is refused."""
    email = raw.strip()
    if len(email) > MAX_EMAIL:
        raise IdentityError("email", f"at most {MAX_EMAIL} characters")
    if _CONTROL.search(raw):  # also around the address: a trailing CR/LF is an injection attempt
        raise IdentityError("email", "must not contain control characters (line breaks, NUL, tabs)")
    email = email.lower()
    if _EMAIL_FORBIDDEN.search(email):
        raise IdentityError(
            "email",
            "one address only: no spaces, commas, semicolons, colons, quotes, brackets or angle brackets",
        )
    if email.count("@") != 1:
        raise IdentityError("email", f"exactly one @ expected: {email!r}")
    if len(email.partition("@")[0]) > MAX_EMAIL_LOCAL:
        raise IdentityError("email", f"at most {MAX_EMAIL_LOCAL} characters before the @")
    if not _EMAIL.fullmatch(email):
        raise IdentityError("email", f"not a valid email address: {email!r}")
    return email


def normalize_phone(raw: str, default_region: str = "IR") -> str:
    """E.164. Numbers without a country code are read in `default_region` (Iran unless configured)."""
    text = raw.strip().translate(PERSIAN_DIGITS)
    if len(text) > MAX_PHONE:
        raise IdentityError("phone", f"at most {MAX_PHONE} characters")
    if _CONTROL.search(text):
        raise IdentityError("phone", "must not contain control characters (line breaks, NUL, tabs)")
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else default_region)
    except phonenumbers.NumberParseException as exc:
        raise IdentityError("phone", f"not a phone number: {exc}") from exc
    if not phonenumbers.is_valid_number(number):
        raise IdentityError("phone", f"not a valid phone number: {text!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_handle(network: str, handle: str) -> str:
    net = network.strip().lower()
    h = handle.strip().lower()
    if not net:
        raise IdentityError("social.network", "required with a handle")
    if len(net) > MAX_NETWORK:
        raise IdentityError("social.network", f"at most {MAX_NETWORK} characters")
    if not _NETWORK.fullmatch(net):
        raise IdentityError("social.network", "letters, digits, '.', '_' and '-' only")
    if len(h.removeprefix("@")) > MAX_HANDLE:
        raise IdentityError("social.handle", f"at most {MAX_HANDLE} characters")
    if not _HANDLE.fullmatch(h):
        raise IdentityError("social.handle", f"not a valid handle: {h!r}")
    return f"{net}:{h.lstrip('@')}"


def normalize_account(raw: str) -> str:
    value = raw.strip()
    if not value or len(value) > MAX_ACCOUNT:
        raise IdentityError("account_id", f"must be 1 to {MAX_ACCOUNT} characters")
    if _CONTROL.search(value):
        raise IdentityError("account_id", "must not contain control characters (line breaks, NUL, tabs)")
    return value


# Persian (U+06F0..) and Arabic-Indic (U+0660..) digits to ASCII.
PERSIAN_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
