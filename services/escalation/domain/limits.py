"""The limits of what an agent sends (CaseService requests): every string field has a maximum,
documented in docs/limits.md, and none may hold a NUL character (PostgreSQL refuses it in text,
and an unbounded note once wedged the outbox: an event larger than the broker accepts).

Lengths count characters (code points), so a limit means the same in Persian and English; the
largest, 10,000 characters, is at most 40 KB of UTF-8, far below the broker's 1 MB per message.
"""

from __future__ import annotations

ID_MAX = 128  # identifiers: complaint, agent, team, request ids
REASON_MAX = 500  # why: declines, transfers, reopen
TEXT_MAX = 10_000  # what a person reads: a reply, a note, a question, a resolution summary

# Free-text fields by name; every other string field is an identifier (ID_MAX).
FIELD_LIMITS: dict[str, int] = {
    "body": TEXT_MAX,  # RespondRequest (the reply), AddNoteRequest (the note)
    "question": TEXT_MAX,  # RequestInfoRequest
    "summary": TEXT_MAX,  # ResolveRequest
    "reason": REASON_MAX,  # Decline, RequestTransfer, TransferAnswer, Reopen
    "resolution_code": 64,
    "channel": 32,
    "language": 16,
}


def limit_for(field_name: str) -> int:
    return FIELD_LIMITS.get(field_name, ID_MAX)


def text_problem(value: str, limit: int) -> str | None:
    """What is wrong with a text field (the INVALID_ARGUMENT message after the field name), or None."""
    if len(value) > limit:
        return f"at most {limit} characters"
    if "\x00" in value:
        return "must not contain NUL characters"
    return None
