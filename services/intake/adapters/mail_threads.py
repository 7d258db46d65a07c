"""Email threads: which complaint a Message-ID belongs to, and where attachments are kept.

A customer's mail that made a complaint or a follow-up is recorded here by its Message-ID, in the
same transaction, so a later reply that names it (In-Reply-To/References) joins that complaint.
Our own outgoing ids (`<ntf-…@our domain>`) need no row: notifications derives them from the
notification id, and intake already keeps every notification it sent (case_notifications).

Attachments are stored by content (SHA-256) under `<data dir>/intake/attachments/ab/abcdef…`:
written beside and renamed, so a file is whole or absent; the same file sent twice is kept once.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Field, Session, SQLModel, select

from services.common.db import utcnow


class MailThreadRow(SQLModel, table=True):
    __tablename__ = "mail_threads"
    tenant: str = Field(primary_key=True)
    message_id: str = Field(primary_key=True)  # without angle brackets, at most 250 characters
    complaint_id: str = Field(index=True)
    # complaint | follow_up (what this mail made), or chat_thread: a chat/social thread
    # (`chat:{network}:{thread}`, services/intake/chat_service.py), which no Message-ID can equal
    kind: str
    created_at: datetime = Field(default_factory=utcnow)


def record(session: Session, tenant: str, message_id: str, complaint_id: str, kind: str) -> None:
    """Remember a customer's Message-ID (no-op without one, or when already known)."""
    if message_id and session.get(MailThreadRow, (tenant, message_id)) is None:
        session.add(MailThreadRow(tenant=tenant, message_id=message_id, complaint_id=complaint_id, kind=kind))


def complaint_for(
    session: Session, tenant: str, message_ids: Iterable[str], ours: dict[str, tuple[str, str]]
) -> str | None:
    """The complaint the first known id belongs to: a customer mail we recorded, or one of ours
    (ours: Message-ID -> ("notification", notification id) or ("case", complaint id))."""
    from .db import ComplaintRow, NotificationRow  # db lists this module's table among its models

    for message_id in message_ids:
        row = session.get(MailThreadRow, (tenant, message_id))
        if row is not None and row.kind != "chat_thread":  # a chat thread key is no mail's id
            return row.complaint_id
        kind, value = ours.get(message_id, ("", ""))
        complaint_id = value if kind == "case" else ""
        if kind == "notification":
            note = session.get(NotificationRow, value)
            complaint_id = note.complaint_id if note is not None else ""
        if complaint_id:
            complaint = session.get(ComplaintRow, complaint_id)
            if complaint is not None and complaint.tenant == tenant:
                return complaint.id
    return None


def complaint_row(session: Session, complaint_id: str) -> Any:
    """The ComplaintRow with this id, or None."""
    from .db import ComplaintRow

    return session.get(ComplaintRow, complaint_id)


def complaint_by_reference(session: Session, tenant: str, reference: str) -> Any:
    """The tenant's complaint (a ComplaintRow) with this reference, or None."""
    from .db import ComplaintRow

    return session.exec(
        select(ComplaintRow).where(ComplaintRow.reference == reference, ComplaintRow.tenant == tenant)
    ).first()


class AttachmentStore:
    """Content-addressed files; `put` returns the reference the complaint carries (`sha256:…`)."""

    def __init__(self, folder: Path):
        self.folder = folder

    def path(self, digest: str) -> Path:
        return self.folder / digest[:2] / digest

    def put(self, data: bytes, digest: str) -> str:
        target = self.path(digest)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())  # durable before the mail is acknowledged
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return f"sha256:{digest}"

    def get(self, reference: str) -> bytes:
        digest = reference.removeprefix("sha256:")
        if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            raise ValueError("attachment: not a sha256 reference")
        return self.path(digest).read_bytes()
