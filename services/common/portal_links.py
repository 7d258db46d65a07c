"""Links into the customer portal that notifications writes and the portal checks.

The resolution notice carries one rating link per score (1..5). Each is signed (HMAC-SHA256 over
the complaint id and the expiry) with a secret only notifications and the portal know,
so the link works without a sign-in and cannot be made for another complaint or changed to a
later expiry. Opening it only shows the rating form with the score chosen: mail scanners follow
links, so nothing is recorded until the customer presses the button (a POST).

Follow links are different: single-use random tokens the portal stores hashed (services/portal).

Pure apart from reading settings: no Kafka, gRPC or database.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from functools import lru_cache
from urllib.parse import urlencode

from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "haq-dev-portal-links"  # only when neither secret is set (a local run without auth)
RATING_LINK_DAYS = 30
SCORES = range(1, 6)


class PortalLinkSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HAQ_", extra="ignore")

    # Where customers reach the portal (the links in messages start with it).
    portal_public_url: str = "http://127.0.0.1:8091"
    # Signs rating links. Empty: derived from HAQ_AUTH_SECRET (set in production), else DEV_SECRET.
    portal_link_secret: str = ""
    auth_secret: str = ""

    def secret(self) -> bytes:
        if self.portal_link_secret:
            return self.portal_link_secret.encode()
        if self.auth_secret:
            return hmac.new(self.auth_secret.encode(), b"haq-portal-links", hashlib.sha256).digest()
        return DEV_SECRET.encode()

    def base_url(self) -> str:
        return self.portal_public_url.rstrip("/")


@lru_cache
def get_link_settings() -> PortalLinkSettings:
    return PortalLinkSettings()


def _signature(secret: bytes, complaint_id: str, expires: int) -> str:
    message = f"rate\x1f{complaint_id}\x1f{expires}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def rating_links(
    complaint_id: str, now: datetime, settings: PortalLinkSettings | None = None
) -> list[tuple[int, str]]:
    """[(score, url)] for 1..5, valid RATING_LINK_DAYS from `now`."""
    settings = settings or get_link_settings()
    expires = int((now + timedelta(days=RATING_LINK_DAYS)).timestamp())
    secret = settings.secret()
    return [
        (
            score,
            f"{settings.base_url()}/rate/{complaint_id}?"
            + urlencode({"score": score, "exp": expires, "sig": _signature(secret, complaint_id, expires)}),
        )
        for score in SCORES
    ]


def check_rating_link(complaint_id: str, expires: int, signature: str, now: datetime, secret: bytes) -> bool:
    """True when the link was signed for this complaint and has not expired. The score in the link
    only preselects the form: the customer may pick another before sending it."""
    if expires < now.timestamp() or len(signature) != 32:
        return False
    return hmac.compare_digest(_signature(secret, complaint_id, expires), signature)
