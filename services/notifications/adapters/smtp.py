"""Email over SMTP with the standard library: one connection per message, explicit timeout.

The Message-ID is derived from the delivery key, so if an ambiguous failure (a timeout after the
server took the data) leads to a retry, mail systems and clients see the same message twice and
can drop the copy.
"""

from __future__ import annotations

import email.policy
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from services.common.settings import Settings

from ..domain.templates import RenderedMessage


def sender_domain(sender: str) -> str:
    return parseaddr(sender)[1].rpartition("@")[2] or "haq.local"


def build_message(
    rendered: RenderedMessage,
    *,
    sender: str,
    recipient: str,
    notification_id: str,
    reference: str = "",
) -> EmailMessage:
    msg = EmailMessage(policy=email.policy.SMTP)  # CRLF line ends, RFC 2047 headers in UTF-8
    msg["From"] = sender
    msg["To"] = recipient
    msg["Subject"] = rendered.subject
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = f"<{notification_id}@{sender_domain(sender)}>"
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: auto-responders must not answer it
    if reference:
        msg["X-Haq-Reference"] = reference  # lets a reply be matched to its complaint
    msg.set_content(rendered.text, charset="utf-8")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8")
    # Set after the body: making the message multipart moves Content-* headers into the first part.
    for part in (msg, *msg.iter_parts()):
        del part["Content-Language"]
        part["Content-Language"] = rendered.language
    return msg


def is_transient(exc: BaseException) -> bool:
    """Worth another try: 4xx replies, dropped connections, network errors and timeouts.
    5xx replies (unknown mailbox, refused sender) will not change by retrying."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True
    if isinstance(exc, smtplib.SMTPException):  # e.g. SMTPNotSupportedError: no retry helps
        return False
    return isinstance(exc, OSError)  # connection refused, reset, timeouts, DNS


class SmtpSender:
    def __init__(self, host: str, port: int, timeout_s: float, local_hostname: str = "haq.local"):
        self.host = host
        self.port = port
        self.timeout_s = timeout_s
        # Given explicitly: smtplib's default looks up our FQDN, which can hang on a bad resolver.
        self.local_hostname = local_hostname

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpSender:
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_timeout_s,
            local_hostname=sender_domain(settings.smtp_sender),
        )

    def send(self, msg: EmailMessage) -> None:
        with smtplib.SMTP(
            self.host, self.port, timeout=self.timeout_s, local_hostname=self.local_hostname
        ) as smtp:
            smtp.send_message(msg)
