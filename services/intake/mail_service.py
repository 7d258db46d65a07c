"""The email channel's use case: one received mail becomes a complaint, a follow-up on the
complaint it threads into, or nothing (never answered). Both entrypoints (the SMTP listener and
the IMAP poller) come through `MailIntake.accept`; it returns only once what the mail made is
committed, so a listener may acknowledge the mail then (and must not before)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses

from prometheus_client import Counter
from sqlmodel import Session

from services.common.settings import Settings

from .adapters import mail_threads
from .adapters.db import Customer, CustomerIdentity
from .adapters.mail_threads import AttachmentStore
from .domain import inbound_mail
from .domain.draft import DraftRejected
from .domain.inbound_mail import Attachment, InboundMail, MailRejected
from .service import AlsoRecord, IntakeService, InvalidRequest, NotFound
from .settings import MailSettings

log = logging.getLogger(__name__)

MAILS = Counter("haq_inbound_mail_total", "Mail received on the email channel, by outcome", ["outcome"])


@dataclass(frozen=True)
class MailOutcome:
    kind: str  # complaint | follow_up | ignored
    complaint_id: str = ""
    reference: str = ""
    follow_up_id: str = ""
    duplicate: bool = False
    reason: str = ""  # why it was ignored


def own_identities(settings: Settings, mail: MailSettings) -> tuple[frozenset[str], frozenset[str]]:
    """(domains our Message-IDs use, addresses that are ours): the notification sender's and every
    care address. Mail from one of them, or with one of our ids, is a loop."""
    sender = [a.lower() for _, a in getaddresses([settings.smtp_sender]) if a]
    addresses = frozenset(sender) | frozenset(mail.address_sectors())
    domains = frozenset(a.rpartition("@")[2] for a in sender) or frozenset({"haq.local"})
    return domains, addresses


class MailIntake:
    def __init__(self, service: IntakeService, settings: Settings, mail: MailSettings):
        self.service = service
        self.mail = mail
        self.sectors = mail.address_sectors()
        self.own_domains, self.own_addresses = own_identities(settings, mail)
        self.attachments = AttachmentStore(settings.data_dir / "intake" / "attachments")

    def is_care_address(self, address: str) -> bool:
        return address.strip().lower() in self.sectors

    def accept(self, raw: bytes, envelope_sender: str | None, recipients: list[str]) -> MailOutcome:
        """Raises MailRejected for a mail no retry can make acceptable (answer 5xx, file it as
        refused); any other exception is transient (answer 4xx, leave it unseen)."""
        if len(raw) > self.mail.max_message_bytes:
            raise MailRejected("message", f"at most {self.mail.max_message_bytes} bytes")
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        ignored = inbound_mail.not_worth_answering(msg, envelope_sender, self.own_domains, self.own_addresses)
        if ignored is not None:
            MAILS.labels("ignored").inc()
            log.info("mail ignored, never answered: %s", ignored.reason)
            return MailOutcome("ignored", reason=ignored.reason)
        recipient = self._recipient(msg, recipients)
        parsed = inbound_mail.read_mail(msg, recipient, self.mail.max_attachment_bytes, raw)
        tenant = self.service.default_tenant
        complaint_id = self._thread(parsed, tenant)
        stored = self._store(parsed.attachments)
        try:
            if complaint_id is not None:
                follow = self.service.add_follow_up(
                    complaint=complaint_id,
                    body=inbound_mail.follow_up_text(parsed, stored),
                    channel="email",
                    idempotency_key=parsed.idempotency_key,
                    tenant=tenant,
                    also=self._remember(parsed, tenant),
                )
                MAILS.labels("follow_up").inc()
                return MailOutcome(
                    "follow_up", follow.complaint_id, "", follow.follow_up_id, follow.duplicate
                )
            draft = inbound_mail.to_draft(parsed, stored, self.sectors.get(recipient, "general"), tenant)
            result = self.service.submit(draft, also=self._remember(parsed, tenant))
        except DraftRejected as exc:
            first = exc.errors[0]
            raise MailRejected(first.field, "; ".join(str(e) for e in exc.errors)) from exc
        except InvalidRequest as exc:
            raise MailRejected(exc.error.field, exc.error.problem) from exc
        except NotFound as exc:  # the complaint went away between the look-up and the follow-up
            raise MailRejected("In-Reply-To", str(exc)) from exc
        MAILS.labels("complaint").inc()
        return MailOutcome("complaint", result.complaint_id, result.reference, duplicate=result.duplicate)

    def _recipient(self, msg: Message, recipients: list[str]) -> str:
        """The care address the mail came to: from the SMTP envelope, else its headers (a
        mailbox), else the first configured address (the mailbox is a care mailbox)."""
        for address in recipients:
            if self.is_care_address(address):
                return address.strip().lower()
        for name in ("Delivered-To", "X-Original-To", "To", "Cc"):
            for _, address in getaddresses([inbound_mail.header(msg, name)]):
                if self.is_care_address(address):
                    return address.strip().lower()
        return next(iter(self.sectors), "")

    def _thread(self, mail: InboundMail, tenant: str) -> str | None:
        """The complaint this mail continues: one it names by Message-ID (a customer mail we
        recorded, or a notification of ours), else the [HQ-…] reference in the subject if the
        sender is that complaint's customer (a guessed reference from someone else stays a new
        complaint)."""
        ours: dict[str, tuple[str, str]] = {}
        for mid in mail.thread_ids:
            if nid := inbound_mail.notification_id_of(mid, self.own_domains):
                ours[mid] = ("notification", nid)
            elif cid := inbound_mail.case_id_of(mid, self.own_domains):
                ours[mid] = ("case", cid)
        with Session(self.service.engine) as session:
            found = mail_threads.complaint_for(session, tenant, mail.thread_ids, ours)
            if found is not None or not mail.subject_reference:
                return found
            row = mail_threads.complaint_by_reference(session, tenant, mail.subject_reference)
            if row is None:
                return None
            ident = session.get(CustomerIdentity, (tenant, "email", mail.sender_email))
            if ident is None:
                return None
            customer = session.get(Customer, ident.customer_id)
            if customer is None:
                return None
            customer = self.service._follow_merges(session, customer)
            return row.id if customer.id == row.customer_id else None

    def _store(self, attachments: list[Attachment]) -> list[tuple[Attachment, str]]:
        """Each attachment written (fsync'd) before the complaint that refers to it commits."""
        return [(a, self.attachments.put(a.data, a.sha256)) for a in attachments]

    @staticmethod
    def _remember(mail: InboundMail, tenant: str) -> AlsoRecord:
        def record(session: Session, complaint_id: str, kind: str) -> None:
            mail_threads.record(session, tenant, mail.message_id, complaint_id, kind)

        return record
