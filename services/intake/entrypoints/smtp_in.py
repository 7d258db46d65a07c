"""The SMTP listener of the email channel (aiosmtpd): mail for a care address becomes a complaint
or a follow-up.

- RCPT for any other address: `550 5.1.1`; more than MAX_RECIPIENTS care addresses: `452`.
- A message above HAQ_MAIL_MAX_MESSAGE_BYTES: `552` (aiosmtpd enforces the SIZE it announces).
- DATA is answered `250` only after the complaint or follow-up is committed; a mail intake will
  never take (no usable sender, no text) gets `550 5.6.0` naming the part; anything else that
  goes wrong (the database is away) gets `451 4.3.0`, so the sending server keeps the mail and
  tries again: nothing is lost, and the retry is recognised by its Message-ID (no duplicate).
- Auto-replies, bounces and our own mail coming back are accepted (`250`) and dropped: refusing
  them would make the sender bounce them, and that is how mail loops start.

The listener does no SPF/DKIM checks: it belongs behind the organisation's MTA (or `make run`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from ..domain.inbound_mail import MailRejected
from ..mail_service import MailIntake

log = logging.getLogger(__name__)

MAX_RECIPIENTS = 10
_REPLY_CHARS = 300  # an SMTP reply line stays short (RFC 5321 allows 512 octets)


def _reply_text(text: str) -> str:
    return " ".join(text.split())[:_REPLY_CHARS]


class CareMailHandler:
    """aiosmtpd handler: RCPT checks the address, DATA hands the mail to MailIntake."""

    def __init__(self, intake: MailIntake):
        self.intake = intake

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if not self.intake.is_care_address(address):
            return "550 5.1.1 No such care address here"
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content: Any = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8", errors="surrogateescape")
        mail_from = envelope.mail_from or ""
        try:
            outcome = await asyncio.to_thread(self.intake.accept, content, mail_from, list(envelope.rcpt_tos))
        except MailRejected as exc:
            log.info("mail refused: %s", exc.field)
            return f"550 5.6.0 {_reply_text(str(exc))}"
        except Exception:
            log.exception("mail not stored; the sender will retry")
            return "451 4.3.0 Temporary failure; please try again later"
        if outcome.kind == "complaint":
            return f"250 2.0.0 Complaint {outcome.reference} recorded"
        if outcome.kind == "follow_up":
            return "250 2.0.0 Follow-up recorded"
        return "250 2.0.0 Accepted"


class SmtpListener:
    """Starts and stops the aiosmtpd server on its own thread (its own event loop)."""

    def __init__(self, intake: MailIntake, host: str, port: int, max_message_bytes: int):
        self.controller = Controller(
            CareMailHandler(intake),
            hostname=host,
            port=port,
            data_size_limit=max_message_bytes,
            enable_SMTPUTF8=True,
            ident="Haq intake",
            server_hostname="haq-intake",  # given: the default looks up our FQDN
        )
        self.host, self.port = host, port

    def start(self) -> None:
        self.controller.start()
        log.info("email channel: SMTP listening on %s:%d", self.host, self.port)

    def stop(self) -> None:
        with contextlib.suppress(AssertionError):  # never started
            self.controller.stop()
