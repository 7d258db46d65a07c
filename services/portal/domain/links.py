"""One-time follow links, sessions, and who may see what: the portal's rules, pure.

A follow link carries a random token (32 bytes, URL-safe); only its SHA-256 is stored, so a copy of
the database opens nothing. A link works once and until it expires. A session cookie is a second
random token, stored hashed the same way, bound to one customer of one tenant.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import phonenumbers

MAX_REFERENCE = 64
MAX_CONTACT = 254
MAX_TOKEN = 128


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class IssuedLink:
    token: str  # goes into the URL, never stored
    token_hash: str
    expires_at: datetime


def issue_link(now: datetime, ttl_s: int) -> IssuedLink:
    token = new_token()
    return IssuedLink(token, token_hash(token), now + timedelta(seconds=ttl_s))


def link_usable(expires_at: datetime, used_at: datetime | None, now: datetime) -> bool:
    """A link opens a session once, before it expires."""
    return used_at is None and now < expires_at


def normalize_contact(value: str, region: str = "IR") -> str:
    """An email lower-cased, or a phone number in E.164; "" when it is neither."""
    text = value.strip()
    if not text or len(text) > MAX_CONTACT:
        return ""
    if "@" in text:
        return text.lower()
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_possible_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def contact_matches(given: str, on_record: Iterable[str], region: str = "IR") -> bool:
    """Does the contact the customer typed match one on record for the complaint? Compared in
    constant time per candidate, so timing does not tell how close a guess came."""
    wanted = normalize_contact(given, region)
    if not wanted:
        return False
    found = False
    for candidate in on_record:
        known = normalize_contact(candidate, region)
        if known and hmac.compare_digest(known.encode(), wanted.encode()):
            found = True
    return found


def may_see(session_customers: Iterable[str], complaint_customer: str) -> bool:
    """A signed-in customer sees a complaint only when it is theirs (after profile merges, the
    customer ids intake lists for them)."""
    return bool(complaint_customer) and complaint_customer in set(session_customers)


def within_limit(recent: int, limit: int) -> bool:
    """May one more link request go ahead, with `recent` already in the window?"""
    return recent < limit


# The role of whoever owns the complaint, as the customer reads it (never a staff member's name).
OWNER_ROLES = {
    "healthcare": "patient_experience",
    "education": "student_services",
    "b2b": "account_care",
}


def owner_role(sector: str, owned: bool) -> str:
    """A key of the strings table: who is looking after it."""
    if not owned:
        return "role_unassigned"
    return "role_" + OWNER_ROLES.get(sector, "customer_care")


PROMISE_CLOCKS = ("acknowledgement", "first_response", "next_response", "resolution")


@dataclass(frozen=True)
class ClockView:
    name: str
    state: str
    due_at: datetime | None


def next_promise(clocks: Iterable[ClockView]) -> tuple[str, datetime] | None:
    """The earliest running deadline we promised the customer: (clock name, due time)."""
    running = [
        c for c in clocks if c.state in ("running", "warning") and c.due_at and c.name in PROMISE_CLOCKS
    ]
    if not running:
        return None
    first = min(running, key=lambda c: c.due_at)  # type: ignore[arg-type, return-value]
    assert first.due_at is not None
    return first.name, first.due_at


def customer_status(status: str) -> str:
    """The status words the customer reads (the staff steps before an owner read as one)."""
    return {
        "received": "status_received",
        "routed": "status_received",
        "offered": "status_received",
        "owned": "status_in_progress",
        "in_progress": "status_in_progress",
        "waiting_on_customer": "status_waiting_on_you",
        "resolved": "status_resolved",
        "closed": "status_closed",
    }.get(status, "status_received")
