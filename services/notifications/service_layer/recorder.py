"""Record: the consumer's handlers store each lifecycle event as a job and what it says about the complaint."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlmodel import Session

from services.common.codec import Envelope
from services.common.db import utcnow
from services.common.handler import Batched
from services.common.lifecycle import CaseLifecycle, fold
from services.common.pb.haq.v1 import complaint_pb2
from services.common.proto_values import to_datetime

from ..adapters import db
from ..domain.chat_reply import parse_thread

CHANNELS = {
    complaint_pb2.CHANNEL_WEB: "web",
    complaint_pb2.CHANNEL_EMAIL: "email",
    complaint_pb2.CHANNEL_CHAT: "chat",
    complaint_pb2.CHANNEL_SOCIAL: "social",
    complaint_pb2.CHANNEL_PHONE: "phone",
    complaint_pb2.CHANNEL_PARTNER: "partner",
}
# Every event a notification or a webhook subscriber may need.
HANDLED_EVENTS = (
    "ComplaintReceived",
    "ComplaintRouted",
    "OwnerAssigned",
    "OwnerAccepted",
    "OwnerReplaced",
    "TransferRequested",
    "TransferAccepted",
    "SlaWarning",
    "SlaBreached",
    "Escalated",
    "CustomerFollowedUp",
    "AgentResponded",
    "InfoRequested",
    "Resolved",
    "Reopened",
    "Closed",
    "PortalLinkRequested",
    "ComplaintRated",
)


class Recorder:
    """Lifecycle handlers, applied once per event id inside the consumer's unit of work."""

    def __init__(self, clock: Callable[[], datetime] = utcnow, wake: Callable[[], None] = lambda: None):
        self.clock = clock
        self.wake = wake

    def handlers(self) -> dict[str, Callable[[Session, Envelope], None]]:
        batched = Batched(self.on_events)
        return {name: batched for name in HANDLED_EVENTS}

    def on_event(self, session: Session, envelope: Envelope) -> None:
        self.on_events(session, [envelope])

    def on_events(self, session: Session, envelopes: list[Envelope]) -> None:
        """A batch of events: each complaint's contact row read once, one INSERT of the jobs."""
        complaint_ids = [self._complaint_id(e) for e in envelopes]
        contacts = db.load_contacts(session, set(complaint_ids))
        for envelope, complaint_id in zip(envelopes, complaint_ids, strict=True):
            values = self._contact_values(envelope, contacts.get(complaint_id))
            if values:
                contact = contacts.get(complaint_id)
                if contact is None:
                    contact = contacts[complaint_id] = db.ComplaintContact(complaint_id=complaint_id)
                for name, value in values.items():
                    setattr(contact, name, value)
                contact.updated_at = utcnow()
                session.add(contact)
        db.add_jobs(session, list(zip(envelopes, complaint_ids, strict=True)), self.clock())
        # The jobs commit with the consumer's transaction; the dispatcher polls too, so an early
        # wake only makes it look sooner.
        self.wake()

    @staticmethod
    def _complaint_id(envelope: Envelope) -> str:
        msg: Any = envelope.message
        if envelope.name == "ComplaintReceived":
            return msg.complaint.id or envelope.subject
        return getattr(msg, "complaint_id", "") or envelope.subject

    @staticmethod
    def _contact_values(envelope: Envelope, contact: db.ComplaintContact | None) -> dict[str, object]:
        msg: Any = envelope.message
        if envelope.name != "ComplaintReceived":
            return case_update(contact, envelope.name, msg)
        c = msg.complaint
        return {
            "tenant": c.tenant,
            "reference": c.reference,
            "email": c.customer.email.strip(),
            "phone": c.customer.phone.strip(),
            "language": c.language,
            "display_name": c.customer.display_name.strip(),
            "channel": CHANNELS.get(c.channel, ""),
            "preferred_channel": c.metadata.get("preferred_channel")
            or c.metadata.get("notify_channel")
            or "",
            "received_at": to_datetime(c.received_at),
            # Replies go back on the thread (domain/chat_reply.py); bounded like any stored input.
            "chat_thread": c.metadata.get("chat_thread", "")
            if c.channel in (complaint_pb2.CHANNEL_CHAT, complaint_pb2.CHANNEL_SOCIAL)
            and parse_thread(c.metadata.get("chat_thread", ""))
            else "",
        }


def case_update(row: db.ComplaintContact | None, name: str, msg: Any) -> dict[str, object]:
    """What an event changes in the complaint's state as notifications keeps it: ownership,
    status and priority by the lifecycle fold every reader shares, plus who is kept informed."""
    before = CaseLifecycle(
        status=row.status, team=row.team, owner=row.owner, owner_is_duty_lead=row.owner_is_duty_lead,
        priority=row.priority,
    ) if row is not None else CaseLifecycle()  # fmt: skip
    after = fold(before, name, msg)
    update: dict[str, object] = {}
    if after != before:
        update = {
            "status": after.status, "owner": after.owner, "team": after.team,
            "owner_is_duty_lead": after.owner_is_duty_lead, "priority": after.priority,
        }  # fmt: skip
    if name == "ComplaintRouted":
        update["keep_informed"] = ",".join(msg.keep_informed)
    return update
