"""Email over SMTP with the standard library: one kept-open connection, explicit timeout.

`SmtpSender` reuses one connection for every message (under a lock), reconnects once, transparently,
when the server has closed it before the message was handed over, and closes it after an idle
period or on `close()`.

The Message-ID is derived from the delivery key, so if an ambiguous failure (a timeout after the
server took the data) leads to a retry, mail systems and clients see the same message twice and
can drop the copy.

Threading (docs/channels.md): every mail about a complaint carries `References` with the
complaint's thread id `<haq-case-{complaint id}@our domain>`, preceded by the customer's own
Message-ID when the complaint came by email (then also `In-Reply-To` it, and `Auto-Submitted:
auto-replied`, RFC 3834); the subject carries the `[HQ-…]` reference when the template did not
put it there. Intake's email channel threads a reply by any of these ids or the reference.

Every message goes to exactly one recipient: a recipient with `,` `;` CR, LF or NUL, or more than
one address, is refused before anything is sent (intake refuses such addresses too; this is the
second line).
"""

from __future__ import annotations

import email.policy
import json
import re
import smtplib
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, parseaddr

from services.common.settings import Settings

from ..domain.templates import RenderedMessage

IDLE_S = 60.0  # close a connection unused this long (servers commonly drop idle clients at 300 s)
MAX_RECIPIENT = 320
_NOT_IN_RECIPIENT = re.compile(r"[,;\r\n\x00]")


class RecipientRefused(ValueError):
    """Not exactly one plain recipient address: permanent, no retry helps (is_transient: False)."""


def check_recipient(recipient: str) -> str:
    """The recipient, if it is exactly one address; the error never quotes it (personal data)."""
    if len(recipient) > MAX_RECIPIENT:
        raise RecipientRefused(f"recipient: at most {MAX_RECIPIENT} characters")
    if _NOT_IN_RECIPIENT.search(recipient):
        raise RecipientRefused("recipient: one address only: no ',', ';', CR, LF or NUL")
    addresses = getaddresses([recipient])
    if len(addresses) != 1:
        raise RecipientRefused("recipient: exactly one address expected")
    address = addresses[0][1]
    if address.count("@") != 1 or address.startswith("@") or any(c.isspace() for c in address):
        raise RecipientRefused("recipient: not one email address")
    return recipient


def sender_domain(sender: str) -> str:
    return parseaddr(sender)[1].rpartition("@")[2] or "haq.local"


MAX_THREAD_ID = 250  # a customer Message-ID longer than this is not echoed back
_THREAD_ID = re.compile(r"[^<>\s\x00-\x1f\x7f]{1,250}")


def thread_payload(msg: object) -> str:
    """What a customer email planned for this event needs to thread under the customer's mail
    (JSON for DeliveryRow.payload), or "": the Message-ID intake recorded in the complaint's
    metadata when the complaint came by email (ComplaintReceived only)."""
    complaint = getattr(msg, "complaint", None)
    message_id = str(complaint.metadata.get("email_message_id", "")) if complaint is not None else ""
    if not _THREAD_ID.fullmatch(message_id):
        return ""
    return json.dumps({"in_reply_to": message_id})


def in_reply_to(payload: str) -> str:
    """The customer's Message-ID a delivery answers, from thread_payload's JSON, or ""."""
    if not payload.startswith('{"in_reply_to"'):
        return ""
    value = str(json.loads(payload).get("in_reply_to", ""))
    return value if _THREAD_ID.fullmatch(value) else ""


def build_message(
    rendered: RenderedMessage,
    *,
    sender: str,
    recipient: str,
    notification_id: str,
    reference: str = "",
    complaint_id: str = "",
    in_reply_to: str = "",
) -> EmailMessage:
    """complaint_id: the thread every mail about the complaint joins; in_reply_to: the customer's
    Message-ID this mail answers (an acknowledgement of their email)."""
    domain = sender_domain(sender)
    msg = EmailMessage(policy=email.policy.SMTP)  # CRLF line ends, RFC 2047 headers in UTF-8
    msg["From"] = sender
    msg["To"] = check_recipient(recipient)
    subject = rendered.subject
    if reference and reference.upper() not in subject.upper():
        subject = f"{subject} [{reference}]"
    msg["Subject"] = subject
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = f"<{notification_id}@{domain}>"
    references = [f"<{in_reply_to}>"] if _THREAD_ID.fullmatch(in_reply_to) else []
    if references:
        msg["In-Reply-To"] = references[0]
    if complaint_id and _THREAD_ID.fullmatch(complaint_id):
        references.append(f"<haq-case-{complaint_id}@{domain}>")
    if references:
        msg["References"] = " ".join(references)
    # RFC 3834: auto-responders must not answer either; an answer to the customer's mail says so.
    msg["Auto-Submitted"] = "auto-replied" if msg["In-Reply-To"] else "auto-generated"
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


class _Connection(smtplib.SMTP):
    """smtplib.SMTP that remembers whether DATA was started: until then, nothing of the message was
    handed over, so a dropped connection can be replaced and the message sent again safely."""

    data_started = False
    before_data: Callable[[], None] | None = None  # told just before the message goes over

    def data(self, msg: bytes | str) -> tuple[int, bytes]:
        if self.before_data is not None:
            self.before_data()
        self.data_started = True
        return super().data(msg)


def _connection_lost(exc: BaseException) -> bool:
    """The server closed the connection: dropped (EOF, reset) or answered 421 (closing)."""
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(code == 421 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code == 421


class SmtpSender:
    """Sends over one kept-open SMTP connection; thread-safe. Call close() on shutdown."""

    def __init__(
        self,
        host: str,
        port: int,
        timeout_s: float,
        local_hostname: str = "haq.local",
        idle_s: float = IDLE_S,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.host = host
        self.port = port
        self.timeout_s = timeout_s
        # Given explicitly: smtplib's default looks up our FQDN, which can hang on a bad resolver.
        self.local_hostname = local_hostname
        self.idle_s = idle_s
        self.clock = clock
        self.connections_opened = 0
        self._lock = threading.Lock()
        self._smtp: _Connection | None = None
        self._last_used = 0.0
        self._reaper: threading.Timer | None = None
        self._closed = False

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpSender:
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_timeout_s,
            local_hostname=sender_domain(settings.smtp_sender),
        )

    def send(self, msg: EmailMessage, before_data: Callable[[], None] | None = None) -> None:
        """Send one message. `before_data` runs just before DATA (after the server accepted the
        sender and recipient): until then nothing of the message has left, so an attempt that
        is interrupted earlier can be made again without sending it twice."""
        recipients = [str(v) for name in ("To", "Cc", "Bcc") for v in msg.get_all(name, [])]
        if len(recipients) != 1:
            raise RecipientRefused("recipient: exactly one To and no Cc or Bcc expected")
        check_recipient(recipients[0])
        with self._lock:
            if self._smtp is not None and self.clock() - self._last_used >= self.idle_s:
                self._drop(quit=True)  # the server has likely given up on it: start afresh
            reused = self._smtp is not None
            try:
                self._send_once(msg, before_data)
            except Exception as exc:
                if not (reused and _connection_lost(exc) and not self._data_started()):
                    self._after_failure(exc)
                    raise
                # Closed by the server while we were idle, before any of the message went over:
                # one new connection, one more try. A second failure is the caller's to retry.
                self._drop(quit=False)
                try:
                    self._send_once(msg, before_data)
                except Exception as again:
                    self._after_failure(again)
                    raise
            finally:
                self._last_used = self.clock()
                if self._smtp is not None:
                    self._schedule_reaper()

    def close(self) -> None:
        """QUIT and close the connection (if any); a later send opens a new one."""
        with self._lock:
            if self._reaper is not None:
                self._reaper.cancel()
                self._reaper = None
            self._drop(quit=True)

    # -- under the lock --

    def _send_once(self, msg: EmailMessage, before_data: Callable[[], None] | None = None) -> None:
        if self._smtp is None:
            self._smtp = _Connection(
                self.host, self.port, timeout=self.timeout_s, local_hostname=self.local_hostname
            )
            self.connections_opened += 1
        self._smtp.data_started = False
        self._smtp.before_data = before_data
        try:
            self._smtp.send_message(msg)
        finally:
            if self._smtp is not None:
                self._smtp.before_data = None

    def _data_started(self) -> bool:
        return self._smtp is not None and self._smtp.data_started

    def _after_failure(self, exc: BaseException) -> None:
        """A refusal of this message (a 4xx/5xx reply; smtplib has sent RSET) leaves the connection
        usable; anything else (a timeout, a drop, a protocol error) leaves it in an unknown state."""
        if isinstance(exc, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused) and not (
            _connection_lost(exc)
        ):
            return
        self._drop(quit=False)

    def _drop(self, *, quit: bool) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            if quit:
                smtp.quit()  # quit() closes the socket as well
            else:
                smtp.close()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    def _schedule_reaper(self) -> None:
        if self._reaper is None and self.idle_s > 0:
            self._reaper = threading.Timer(self.idle_s, self._reap)
            self._reaper.daemon = True
            self._reaper.start()

    def _reap(self) -> None:
        with self._lock:
            self._reaper = None
            if self._smtp is None:
                return
            idle = self.clock() - self._last_used
            if idle >= self.idle_s:
                self._drop(quit=True)
            else:
                self._reaper = threading.Timer(self.idle_s - idle, self._reap)
                self._reaper.daemon = True
                self._reaper.start()
