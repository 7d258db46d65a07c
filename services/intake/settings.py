"""Intake's email channel settings (HAQ_MAIL_*), beside the shared ones in services.common.settings.

docs/channels.md describes each; every one has a default, and both listeners are off by default
(`make run` turns the SMTP listener on for care@haq.local on port 2525).
"""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict

from .domain.draft import SECTORS


class MailSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HAQ_MAIL_", extra="ignore")

    # The care addresses mail is accepted for, comma-separated; `address=sector` files what comes
    # to that address under a sector (general otherwise). Mail for any other address gets 550.
    addresses: str = "care@haq.local"
    # Whole messages larger than this are refused at SMTP (552, the SIZE extension) or, from a
    # mailbox, filed as refused; each attachment above the per-file cap is not kept.
    max_message_bytes: int = 10 * 1024 * 1024
    max_attachment_bytes: int = 5 * 1024 * 1024

    # The SMTP listener (aiosmtpd), for a front MTA or `make run` to hand mail to.
    smtp_enabled: bool = False
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525

    # The IMAP poller, for a production mailbox. Empty host: off.
    imap_host: str = ""
    imap_port: int = 993
    imap_security: str = "tls"  # tls (IMAPS, port 993) | starttls (port 143) | none (localhost tests only)
    imap_user: str = ""
    imap_password: str = ""
    imap_folder: str = "INBOX"
    # Where handled mail goes (created if missing); empty: it stays, marked \Seen (and \Flagged if refused).
    imap_done_folder: str = "Haq-Done"
    imap_refused_folder: str = "Haq-Refused"
    imap_poll_s: float = 30.0
    imap_timeout_s: float = 30.0
    imap_ca_file: str = ""  # a private CA for the server's certificate; empty: the system's
    imap_batch: int = 50  # messages fetched per poll

    def address_sectors(self) -> dict[str, str]:
        """Recipient address (lower-case) -> sector."""
        book: dict[str, str] = {}
        for item in self.addresses.split(","):
            address, _, sector = item.strip().partition("=")
            address = address.strip().lower()
            if not address:
                continue
            sector = sector.strip().lower() or "general"
            if sector not in SECTORS:
                raise ValueError(f"HAQ_MAIL_ADDRESSES: {address}: sector must be one of {', '.join(SECTORS)}")
            book[address] = sector
        return book


@lru_cache
def get_mail_settings() -> MailSettings:
    return MailSettings()


class ChatSettings(BaseSettings):
    """The chat/social webhook (POST /v1/chat/messages on intake's HTTP port)."""

    model_config = SettingsConfigDict(env_prefix="HAQ_CHAT_", extra="ignore")

    # Slack signs every request with the app's signing secret (X-Slack-Signature); with it set, a
    # correctly signed request is accepted without a bearer token. Empty: Slack cannot post while
    # auth is on (a generic integration posts with a bearer token, as to /v1/events).
    slack_signing_secret: str = ""
    slack_max_age_s: int = 300  # a signed request older than this is refused (replays)
    # User ids of our own bots, comma-separated: their messages are never taken (no loops).
    own_bot_ids: str = ""

    def bot_ids(self) -> frozenset[str]:
        return frozenset(b.strip() for b in self.own_bot_ids.split(",") if b.strip())
