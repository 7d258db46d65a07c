"""An email to a care address, read into what intake does with it: a new complaint, a follow-up
on a complaint it threads into, or nothing (an auto-reply, a bounce, a list mail, our own mail
come back). Pure: no SMTP, IMAP or database here; the entrypoints hand in the parsed message and
the service layer resolves the thread candidates against what it has stored.

Limits (docs/channels.md): every header is read from at most MAX_HEADER characters, Message-IDs
longer than MAX_MESSAGE_ID are not used as ids, at most MAX_THREAD_IDS ids of a References header
are kept (the most recent ones), the text body is cut to the draft's MAX_BODY, the subject to
MAX_SUBJECT, and attachments above the per-file cap or beyond MAX_ATTACHMENTS are not kept (the
complaint notes that they were refused). Every regex is linear.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

from .draft import MAX_BODY, MAX_DISPLAY_NAME, MAX_METADATA_VALUE, MAX_SUBJECT, CustomerInput, Draft
from .identity import MAX_EMAIL, IdentityError, normalize_email

MAX_HEADER = 8_000  # characters of any one header we look at
MAX_MESSAGE_ID = 250  # longer ids are not used for threading or idempotency
MAX_THREAD_IDS = 20  # the most recent ids of a References header
MAX_ATTACHMENTS = 10
MAX_FILENAME = 120
MAX_PARTS = 100  # MIME parts walked; a message with more is read only that far
MAX_HTML = 400_000  # characters of an HTML part converted to text
TRUNCATED = "\n[… truncated]"

# Things that are never worth answering (RFC 3834 and common practice).
_BULK_PRECEDENCE = {"bulk", "junk", "list", "auto_reply", "auto-reply"}
_DAEMON_LOCALS = {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"}

_MESSAGE_ID = re.compile(r"<([^<>\s]{1,250})>")  # one id; bounded class, no nesting
_REFERENCE_IN_SUBJECT = re.compile(r"\bHQ-[0-9A-HJKMNP-TV-Z]{4}-\d{2}\b", re.IGNORECASE)
_QUOTED_LINE = re.compile(r"^[ \t]*>")
# "On Tue, 1 Dec 2026 at 10:00, Care <care@haq.local> wrote:" and its Persian form; bounded.
_ATTRIBUTION = re.compile(r"^(?:On|در) [^\n]{1,300}(?:wrote|نوشت):?[ \t]*$")
_BLANK_RUN = re.compile(r"\n{3,}")
_FILENAME_SAFE = re.compile(r"[^\w.\- ()]")


class MailRejected(ValueError):
    """A mail intake will not take (answered 550: retrying does not help); names the part."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class RefusedAttachment:
    filename: str
    size: int
    reason: str


@dataclass
class InboundMail:
    """What intake needs from one message, already decoded, bounded and checked."""

    sender_email: str  # normalised (identity.normalize_email)
    sender_name: str
    subject: str
    body: str  # plain text, quoted reply stripped for follow-ups by follow_up_body()
    message_id: str  # without angle brackets; "" when absent or unusable
    thread_ids: tuple[str, ...]  # In-Reply-To first, then References newest first
    subject_reference: str  # "HQ-XXXX-NN" found in the subject, upper-case, or ""
    recipient: str
    attachments: list[Attachment] = field(default_factory=list)
    refused_attachments: list[RefusedAttachment] = field(default_factory=list)
    idempotency_key: str = ""


@dataclass(frozen=True)
class Ignored:
    """A mail that is accepted (so the sender stops trying) but never becomes anything and is
    never answered: why, for the log and the counter."""

    reason: str


def header(msg: Message, name: str) -> str:
    """One header as text, decoded (RFC 2047), at most MAX_HEADER characters; "" if absent or
    undecodable."""
    try:
        value = msg.get(name)
        return "" if value is None else str(value)[:MAX_HEADER]
    except Exception:  # a header the parser cannot make sense of is unusable, not the whole mail
        return ""


def message_ids(value: str) -> list[str]:
    """The Message-IDs in a header (In-Reply-To, References), in order, without brackets."""
    return _MESSAGE_ID.findall(value[:MAX_HEADER])


def own_message_id(message_id: str, own_domains: frozenset[str]) -> bool:
    """A Message-ID that notifications made: `<ntf-…@our domain>` (a staff digest's too), or the
    thread id `<haq-case-{complaint id}@our domain>` its References carry."""
    local, _, domain = message_id.rpartition("@")
    return domain.lower() in own_domains and local.startswith(("ntf-", "digest-ntf-", "haq-case-"))


def notification_id_of(message_id: str, own_domains: frozenset[str]) -> str:
    """The notification id a Message-ID of ours was made from, or ""."""
    if not own_message_id(message_id, own_domains) or message_id.startswith("haq-case-"):
        return ""
    return message_id.rpartition("@")[0].removeprefix("digest-")


def case_id_of(message_id: str, own_domains: frozenset[str]) -> str:
    """The complaint id of our thread id `<haq-case-{id}@our domain>`, or ""."""
    if not own_message_id(message_id, own_domains) or not message_id.startswith("haq-case-"):
        return ""
    return message_id.rpartition("@")[0].removeprefix("haq-case-")


def not_worth_answering(
    msg: Message, envelope_sender: str | None, own_domains: frozenset[str], own_addresses: frozenset[str]
) -> Ignored | None:
    """Why this mail must not become a complaint or follow-up (and so never be answered), or None."""
    auto = header(msg, "Auto-Submitted").strip().lower()
    if auto and not auto.startswith("no"):
        return Ignored(f"Auto-Submitted: {auto.split(';')[0][:40]}")
    precedence = header(msg, "Precedence").strip().lower()
    if precedence in _BULK_PRECEDENCE:
        return Ignored(f"Precedence: {precedence}")
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply"):
        if name in msg:
            return Ignored(f"{name} header")
    if "List-Id" in msg or "List-Unsubscribe" in msg:
        return Ignored("mailing-list mail (List-Id/List-Unsubscribe)")
    if "X-Failed-Recipients" in msg:
        return Ignored("bounce (X-Failed-Recipients)")
    content_type = msg.get_content_type()
    if content_type == "multipart/report" or content_type == "message/delivery-status":
        return Ignored(f"delivery or disposition report ({content_type})")
    # SMTP gives the envelope sender; from a mailbox (IMAP) it is the Return-Path the last hop added.
    sender = header(msg, "Return-Path") if envelope_sender is None else envelope_sender
    if (envelope_sender is not None or "Return-Path" in msg) and sender.strip() in ("", "<>"):
        return Ignored("null envelope sender (a bounce or notification)")
    from_address = parseaddr(header(msg, "From"))[1].lower()
    if from_address.partition("@")[0] in _DAEMON_LOCALS:
        return Ignored("bounce (from the mailer daemon)")
    if from_address in own_addresses:
        return Ignored("our own address as the sender (a loop)")
    ids = message_ids(header(msg, "Message-ID"))
    if ids and own_message_id(ids[0], own_domains):
        return Ignored("our own Message-ID (a loop)")
    return None


class _TextFromHtml(HTMLParser):
    """Visible text of an HTML part: block elements end lines, script/style/head are dropped."""

    BLOCKS = frozenset(
        [
            "p",
            "div",
            "br",
            "li",
            "tr",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "blockquote",
            "pre",
            "table",
            "ul",
            "ol",
            "section",
            "article",
            "header",
            "footer",
        ]
    )
    HIDDEN = frozenset({"script", "style", "head", "title", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextFromHtml()
    parser.feed(html[:MAX_HTML])
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return _BLANK_RUN.sub("\n\n", "\n".join(lines)).strip()


def _part_text(part: Message) -> str:
    try:
        content = part.get_content() if isinstance(part, EmailMessage) else part.get_payload(decode=True)
    except (LookupError, ValueError, AssertionError):  # unknown charset, broken encoding
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    if isinstance(content, bytes):
        content = content.decode(part.get_content_charset() or "utf-8", errors="replace")
    return content if isinstance(content, str) else ""


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    name = _FILENAME_SAFE.sub("_", name.replace("\\", "/").rpartition("/")[2]).strip()
    return name[:MAX_FILENAME] or "attachment"


def _body_and_attachments(
    msg: Message, max_attachment_bytes: int
) -> tuple[str, list[Attachment], list[RefusedAttachment]]:
    """The text (plain preferred, HTML converted otherwise) and the attachments, within the caps."""
    plain: list[str] = []
    html: list[str] = []
    attachments: list[Attachment] = []
    refused: list[RefusedAttachment] = []
    for n, part in enumerate(msg.walk()):
        if n >= MAX_PARTS:
            break
        if part.is_multipart():
            continue
        disposition = (part.get_content_disposition() or "").lower()
        content_type = part.get_content_type()
        if disposition != "attachment" and content_type == "text/plain":
            plain.append(_part_text(part))
        elif disposition != "attachment" and content_type == "text/html":
            html.append(_part_text(part))
        elif disposition in ("attachment", "inline") or not content_type.startswith("text/"):
            data = part.get_payload(decode=True)
            data = data if isinstance(data, bytes) else b""
            name = _filename(part)
            if len(data) > max_attachment_bytes:
                refused.append(RefusedAttachment(name, len(data), f"over {max_attachment_bytes} bytes"))
            elif len(attachments) >= MAX_ATTACHMENTS:
                refused.append(RefusedAttachment(name, len(data), f"more than {MAX_ATTACHMENTS} attachments"))
            elif data:
                attachments.append(Attachment(name, content_type[:100], data))
    text = "\n\n".join(p.strip() for p in plain if p.strip())
    if not text:
        text = "\n\n".join(t for t in (html_to_text(h) for h in html) if t)
    return text, attachments, refused


def follow_up_body(text: str) -> str:
    """The new part of a reply: quoted lines and the attribution line above them dropped (the
    whole text if that leaves nothing)."""
    kept: list[str] = []
    for line in text.splitlines():
        if _QUOTED_LINE.match(line):
            continue
        kept.append(line)
    while kept and (not kept[-1].strip() or _ATTRIBUTION.match(kept[-1].strip()[:400])):
        kept.pop()
    new = "\n".join(kept).strip()
    return new or text.strip()


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(TRUNCATED)] + TRUNCATED


def _unstorable_free(text: str) -> str:
    """NUL and lone surrogates (from undecodable bytes) would be refused by the draft rules."""
    return text.replace("\x00", "").encode("utf-8", errors="replace").decode("utf-8")


def read_mail(msg: Message, recipient: str, max_attachment_bytes: int, raw: bytes = b"") -> InboundMail:
    """The parts of a mail intake uses (raw: the message as received, for a mail without a
    Message-ID to be recognised when it comes again). Raises MailRejected when it names no
    usable sender."""
    from_header = header(msg, "From")
    addresses = [a for a in getaddresses([from_header]) if a[1]]
    if len(addresses) != 1:
        raise MailRejected("From", "exactly one sender address is required")
    name, address = addresses[0]
    if len(address) > MAX_EMAIL:
        raise MailRejected("From", f"at most {MAX_EMAIL} characters")
    try:
        sender = normalize_email(address)
    except IdentityError as exc:
        raise MailRejected("From", exc.problem) from exc
    subject = _unstorable_free(" ".join(header(msg, "Subject").split()))
    ids = message_ids(header(msg, "Message-ID"))
    message_id = ids[0] if ids and len(ids[0]) <= MAX_MESSAGE_ID else ""
    in_reply_to = message_ids(header(msg, "In-Reply-To"))[:1]
    references = list(reversed(message_ids(header(msg, "References"))))[:MAX_THREAD_IDS]
    thread = tuple(dict.fromkeys(i for i in in_reply_to + references if i != message_id))
    reference = _REFERENCE_IN_SUBJECT.search(subject[: MAX_SUBJECT * 2])
    text, attachments, refused = _body_and_attachments(msg, max_attachment_bytes)
    return InboundMail(
        sender_email=sender,
        sender_name=_unstorable_free(" ".join(name.split()))[:MAX_DISPLAY_NAME],
        subject=cut(subject, MAX_SUBJECT),
        body=_unstorable_free(text),
        message_id=message_id,
        thread_ids=thread,
        subject_reference=reference.group().upper() if reference else "",
        recipient=recipient,
        attachments=attachments,
        refused_attachments=refused,
        idempotency_key=mail_idempotency_key(sender, message_id, raw),
    )


def mail_idempotency_key(sender: str, message_id: str, raw: bytes) -> str:
    """The same mail delivered twice (a sender's retry after a 451, an IMAP re-fetch) is one
    complaint: keyed by sender and Message-ID (a forged copy of someone else's id from another
    sender is not taken for theirs), or, without an id, by a digest of the whole message."""
    if message_id:
        key = f"{sender}\x1f{message_id}".encode()
        return "mail:" + hashlib.sha256(key).hexdigest()
    return "mail-sha256:" + hashlib.sha256(raw).hexdigest()


def attachment_lines(mail: InboundMail, stored: list[tuple[Attachment, str]]) -> list[str]:
    """One line per attachment, for the complaint's metadata or a follow-up's text: kept ones by
    reference (`sha256:…`), refused ones with the reason; never their bytes."""
    lines = [f"{ref} {len(a.data)} {a.content_type} {a.filename}"[:MAX_METADATA_VALUE] for a, ref in stored]
    lines += [
        f"refused {r.size} {r.filename}: {r.reason}"[:MAX_METADATA_VALUE] for r in mail.refused_attachments
    ]
    return lines


def to_draft(mail: InboundMail, stored: list[tuple[Attachment, str]], sector: str, tenant: str) -> Draft:
    """The complaint a new mail makes. The body is the whole text (cut to the draft's limit)."""
    body = mail.body.strip()
    lines = attachment_lines(mail, stored)
    if not body:
        if not lines:
            raise MailRejected("body", "the mail has no text and no attachment")
        body = "(no text: see the attachments)"
    metadata = {"email_to": mail.recipient[:MAX_METADATA_VALUE]}
    if mail.message_id:
        metadata["email_message_id"] = mail.message_id
    for i, line in enumerate(lines, start=1):
        metadata[f"attachment_{i}"] = line
    return Draft(
        tenant=tenant,
        channel="email",
        sector=sector,
        customer=CustomerInput(email=mail.sender_email, display_name=mail.sender_name),
        subject=mail.subject,
        body=cut(body, MAX_BODY),
        metadata=metadata,
        idempotency_key=mail.idempotency_key,
    )


def follow_up_text(mail: InboundMail, stored: list[tuple[Attachment, str]]) -> str:
    body = follow_up_body(mail.body)
    lines = attachment_lines(mail, stored)
    if lines:
        body = (body + "\n\n" if body else "") + "\n".join(f"[attachment {line}]" for line in lines)
    if not body.strip():
        raise MailRejected("body", "the reply has no text and no attachment")
    return cut(body, MAX_BODY)
