"""The chat/social channel's use case: a message posted to intake's webhook becomes a complaint
(the first message of a thread), a follow-up (a later message of that thread from the same
customer), or nothing. The thread is kept in `mail_threads` (its key `chat:{network}:{thread}`
cannot be taken for a Message-ID), written in the complaint's or follow-up's transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from prometheus_client import Counter
from sqlmodel import Session

from .adapters import mail_threads
from .adapters.db import Customer, CustomerIdentity, find_idempotency
from .adapters.mail_threads import MailThreadRow
from .domain import chat_inbound
from .domain.chat_inbound import ChatIgnored, ChatMessage, ChatRejected, Handshake
from .domain.draft import DraftRejected
from .domain.identity import IdentityError, normalize_handle
from .service import IntakeService, InvalidRequest, NotFound

log = logging.getLogger(__name__)

CHAT_MESSAGES = Counter("haq_inbound_chat_total", "Chat/social webhook messages, by outcome", ["outcome"])


@dataclass(frozen=True)
class ChatOutcome:
    kind: str  # complaint | follow_up | ignored | handshake
    complaint_id: str = ""
    reference: str = ""
    follow_up_id: str = ""
    duplicate: bool = False
    reason: str = ""
    challenge: str = ""

    def as_json(self) -> dict[str, object]:
        if self.kind == "handshake":
            return {"challenge": self.challenge}
        return {k: v for k, v in self.__dict__.items() if v not in ("", False) and k != "challenge"}


class ChatIntake:
    def __init__(self, service: IntakeService, own_bot_ids: frozenset[str] = frozenset()):
        self.service = service
        self.own_bot_ids = own_bot_ids

    def accept(self, payload: object, tenant: str | None = None) -> ChatOutcome:
        """Raises ChatRejected (400, naming the field); anything else is the caller's 5xx."""
        read = chat_inbound.read_payload(payload, self.own_bot_ids)
        if isinstance(read, Handshake):
            return ChatOutcome("handshake", challenge=read.challenge)
        if isinstance(read, ChatIgnored):
            return self._ignored(read.reason)
        tenant = tenant or self.service.default_tenant
        thread = self._thread(read, tenant)
        record = self._remember(read, tenant)
        try:
            if thread is not None:
                complaint_id, same_customer = thread
                if not same_customer:  # an agent or a bystander in the customer's thread
                    return self._ignored("not the complaint's customer")
                follow = self.service.add_follow_up(
                    complaint=complaint_id,
                    body=read.text,
                    channel=read.channel,
                    idempotency_key=read.idempotency_key,
                    tenant=tenant,
                    also=record,
                )
                CHAT_MESSAGES.labels("follow_up").inc()
                return ChatOutcome(
                    "follow_up", follow.complaint_id, "", follow.follow_up_id, follow.duplicate
                )
            result = self.service.submit(chat_inbound.to_draft(read, tenant), also=record)
        except DraftRejected as exc:
            first = exc.errors[0]
            raise ChatRejected(first.field, "; ".join(str(e) for e in exc.errors)) from exc
        except InvalidRequest as exc:
            raise ChatRejected(exc.error.field, exc.error.problem) from exc
        except NotFound as exc:
            raise ChatRejected("thread_id", str(exc)) from exc
        CHAT_MESSAGES.labels("complaint").inc()
        return ChatOutcome("complaint", result.complaint_id, result.reference, duplicate=result.duplicate)

    @staticmethod
    def _ignored(reason: str) -> ChatOutcome:
        CHAT_MESSAGES.labels("ignored").inc()
        return ChatOutcome("ignored", reason=reason)

    def _thread(self, message: ChatMessage, tenant: str) -> tuple[str, bool] | None:
        """(complaint id, whether the sender is its customer) for a known thread, else None."""
        with Session(self.service.engine) as session:
            row = session.get(MailThreadRow, (tenant, message.thread))
            if row is None or find_idempotency(session, tenant, "complaint", message.idempotency_key):
                return None  # a new thread, or its first message again (the submit finds the complaint)
            try:
                handle = normalize_handle(message.network, message.user_id)
            except IdentityError:
                return row.complaint_id, False
            ident = session.get(CustomerIdentity, (tenant, "social", handle))
            complaint = mail_threads.complaint_row(session, row.complaint_id)
            if ident is None or complaint is None:
                return row.complaint_id, False
            customer = session.get(Customer, ident.customer_id)
            if customer is None:
                return row.complaint_id, False
            customer = self.service._follow_merges(session, customer)
            return row.complaint_id, customer.id == complaint.customer_id

    @staticmethod
    def _remember(message: ChatMessage, tenant: str):  # -> AlsoRecord
        def record(session: Session, complaint_id: str, kind: str) -> None:
            if kind == "complaint":  # the thread belongs to the complaint its first message made
                mail_threads.record(session, tenant, message.thread, complaint_id, "chat_thread")

        return record
