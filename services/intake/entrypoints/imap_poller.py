"""The IMAP poller of the email channel: a production care mailbox, read over TLS.

Every HAQ_MAIL_IMAP_POLL_S it connects (IMAPS, or IMAP with STARTTLS; `none` is for a local
test server only), selects HAQ_MAIL_IMAP_FOLDER and takes up to HAQ_MAIL_IMAP_BATCH UNSEEN
messages, oldest first, reading each with BODY.PEEK (which does not set \\Seen). A message is
marked \\Seen, and moved to the done folder, only after MailIntake has committed what it made;
one intake refuses for good goes to the refused folder (or stays \\Seen and \\Flagged). When
storing fails for another reason, the message stays UNSEEN and the poll stops: the next poll
takes it again, and its Message-ID makes that retry no duplicate. Auto-replies, bounces and our
own mail are filed as done, never answered. A message that fails for any other reason
(not the database, not the network) POISON_ATTEMPTS polls in a row is filed as refused, so one
message no code path can handle never holds up the mailbox.
"""

from __future__ import annotations

import imaplib
import logging
import re
import ssl
import threading

from sqlalchemy.exc import DBAPIError

from ..domain.inbound_mail import MailRejected
from ..mail_service import MailIntake, MailOutcome
from ..settings import MailSettings

log = logging.getLogger(__name__)

_SIZE = re.compile(rb"RFC822\.SIZE (\d{1,12})")
_UID = re.compile(rb"^\d{1,20}$")
POISON_ATTEMPTS = 3


def is_transient(exc: BaseException) -> bool:
    """The database or the network: worth waiting for, never a reason to give a message up."""
    return isinstance(exc, DBAPIError | OSError | imaplib.IMAP4.abort | TimeoutError)


class ImapError(RuntimeError):
    pass


def _quote(mailbox: str) -> str:
    """A mailbox name as an IMAP quoted string (imaplib sends arguments as they are)."""
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ok(result: tuple[str, list[object]], what: str) -> list[object]:
    status, data = result
    if status != "OK":
        raise ImapError(f"{what}: {status} {data!r:.200}")
    return data


class ImapPoller:
    def __init__(self, intake: MailIntake, settings: MailSettings):
        if settings.imap_security not in ("tls", "starttls", "none"):
            raise ValueError("HAQ_MAIL_IMAP_SECURITY must be tls, starttls or none")
        self.intake = intake
        self.settings = settings
        self._stop = threading.Event()
        self._failures: dict[str, int] = {}  # UID -> failed attempts in a row (poison messages)
        self._thread: threading.Thread | None = None

    # -- connection ---------------------------------------------------------------------------
    def _tls_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.settings.imap_ca_file or None)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        return ctx

    def connect(self) -> imaplib.IMAP4:
        s = self.settings
        if s.imap_security == "tls":
            conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                s.imap_host, s.imap_port, ssl_context=self._tls_context(), timeout=s.imap_timeout_s
            )
        else:
            conn = imaplib.IMAP4(s.imap_host, s.imap_port, timeout=s.imap_timeout_s)
            if s.imap_security == "starttls":
                conn.starttls(ssl_context=self._tls_context())
        try:
            conn.login(s.imap_user, s.imap_password)
            # imaplib keeps the greeting's capabilities; servers announce MOVE only after login.
            caps = _ok(conn.capability(), "CAPABILITY")
            text = b" ".join(c for c in caps if isinstance(c, bytes)).decode("ascii", errors="replace")
            conn.capabilities = tuple(text.upper().split())
        except Exception:
            conn.shutdown()
            raise
        return conn

    # -- one poll -------------------------------------------------------------------------------
    def poll_once(self) -> list[MailOutcome | MailRejected]:
        """Handle what is unseen now; returns what each message became (in order)."""
        conn = self.connect()
        try:
            _ok(conn.select(_quote(self.settings.imap_folder)), "SELECT")
            for folder in (self.settings.imap_done_folder, self.settings.imap_refused_folder):
                if folder:
                    conn.create(_quote(folder))  # NO when it exists already: fine
            uids = [u for u in _ok(conn.uid("SEARCH", None, "UNSEEN"), "SEARCH")[0].split() if _UID.match(u)]
            results: list[MailOutcome | MailRejected] = []
            for uid in uids[: self.settings.imap_batch]:
                results.append(self._one(conn, uid.decode()))
            if results:
                conn.expunge()
            return results
        finally:
            try:
                conn.logout()
            except (imaplib.IMAP4.error, OSError):
                conn.shutdown()

    def _one(self, conn: imaplib.IMAP4, uid: str) -> MailOutcome | MailRejected:
        data = _ok(conn.uid("FETCH", uid, "(RFC822.SIZE)"), "FETCH size")
        size_match = _SIZE.search(data[0] if isinstance(data[0], bytes) else b"")
        size = int(size_match.group(1)) if size_match else 0
        try:
            if size > self.settings.max_message_bytes:
                raise MailRejected("message", f"at most {self.settings.max_message_bytes} bytes")
            fetched = _ok(conn.uid("FETCH", uid, "(BODY.PEEK[])"), "FETCH")
            raw = next((part[1] for part in fetched if isinstance(part, tuple)), None)
            if not isinstance(raw, bytes):
                raise ImapError(f"FETCH {uid}: no message body")
            outcome = self._accept(uid, raw)
        except MailRejected as exc:
            log.info("mailbox message refused: %s", exc.field)
            self._file(conn, uid, self.settings.imap_refused_folder, flags="(\\Seen \\Flagged)")
            return exc
        self._file(conn, uid, self.settings.imap_done_folder, flags="(\\Seen)")
        return outcome

    def _accept(self, uid: str, raw: bytes) -> MailOutcome:
        try:
            outcome = self.intake.accept(raw, None, [])
        except MailRejected:
            raise
        except Exception as exc:
            if is_transient(exc):
                raise  # the poll stops; the message stays unseen for the next one
            tries = self._failures[uid] = self._failures.get(uid, 0) + 1
            if tries < POISON_ATTEMPTS:
                raise
            log.exception("mailbox message %s failed %d times; filed as refused", uid, tries)
            self._failures.pop(uid, None)
            raise MailRejected("message", f"could not be handled ({type(exc).__name__})") from exc
        self._failures.pop(uid, None)
        return outcome

    def _file(self, conn: imaplib.IMAP4, uid: str, folder: str, flags: str) -> None:
        """Mark the message; then move it (MOVE, or COPY and delete) if a folder is configured."""
        _ok(conn.uid("STORE", uid, "+FLAGS", flags), "STORE")
        if not folder:
            return
        if "MOVE" in conn.capabilities:
            _ok(conn.uid("MOVE", uid, _quote(folder)), "MOVE")
        else:
            _ok(conn.uid("COPY", uid, _quote(folder)), "COPY")
            _ok(conn.uid("STORE", uid, "+FLAGS", "(\\Deleted)"), "STORE")

    # -- the thread -----------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="imap-poller", daemon=True)
        self._thread.start()
        log.info("email channel: polling %s on %s", self.settings.imap_folder, self.settings.imap_host)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.imap_timeout_s + 5)

    def _run(self) -> None:
        wait = 0.0
        while not self._stop.wait(wait):
            try:
                self.poll_once()
                wait = self.settings.imap_poll_s
            except Exception as exc:  # the server or the database is away: try again later
                log.warning("IMAP poll failed (%s: %s); retrying", type(exc).__name__, exc)
                wait = min(max(wait * 2, 5.0), 300.0)
