"""A local SMTP sink for `make run`: accepts every message and saves it as an .eml file.

    python -m services.console.smtp_sink

Listens on HAQ_SMTP_HOST:HAQ_SMTP_PORT (127.0.0.1:1025) and writes each message to
`<HAQ_DATA_DIR>/mail/<UTC time>-<n>.eml`, exactly as received, preceded by `Return-Path` and
`X-Original-To` headers carrying the SMTP envelope (so Bcc recipients are visible too). A file
appears in one step (written beside, then renamed), so a reader never sees half a message.
The log line says only the count, the number of recipients and the subject's length:
no addresses, no subject text.
"""

from __future__ import annotations

import email
import email.policy
import itertools
import logging
import os
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from services.common.logs import configure_logging
from services.common.settings import Settings, get_settings

log = logging.getLogger("haq.smtp_sink")


class MaildirSink:
    """aiosmtpd handler: one .eml file per message under `folder`."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._count = itertools.count(1)
        self._lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8")
        _path, n = self.save(envelope.mail_from or "", list(envelope.rcpt_tos), content)
        message = email.message_from_bytes(content, policy=email.policy.default)
        subject = str(message.get("Subject", ""))
        log.info(
            "mail %d stored: %d recipient(s), subject of %d characters",
            n,
            len(envelope.rcpt_tos),
            len(subject),
        )
        return "250 Message accepted for delivery"

    def save(self, mail_from: str, rcpt_tos: list[str], content: bytes) -> tuple[Path, int]:
        with self._lock:
            n = next(self._count)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.folder / f"{stamp}-{os.getpid()}-{n:05d}.eml"
        envelope_headers = f"Return-Path: <{mail_from}>\r\nX-Original-To: {', '.join(rcpt_tos)}\r\n"
        tmp = path.with_suffix(".eml.part")
        tmp.write_bytes(envelope_headers.encode("utf-8") + content)
        tmp.replace(path)
        return path, n


def mail_dir(settings: Settings) -> Path:
    return (settings.data_dir / "mail").resolve()


def make_controller(settings: Settings, **kwargs: Any) -> Controller:
    handler = MaildirSink(mail_dir(settings))
    return Controller(handler, hostname=settings.smtp_host, port=settings.smtp_port, **kwargs)


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    stop = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    # aiosmtpd logs every SMTP command at INFO (addresses included); its warnings are enough.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    controller = make_controller(settings)
    controller.start()
    log.info("SMTP sink listening on port %d, saving to %s", settings.smtp_port, mail_dir(settings))
    try:
        while not stop.wait(0.5):
            pass
    finally:
        controller.stop()
        log.info("SMTP sink stopped")


if __name__ == "__main__":
    main()
