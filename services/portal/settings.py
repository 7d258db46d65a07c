"""The portal's own settings (HAQ_PORTAL_*); the rest comes from the shared Settings and, for the
public address and the rating-link secret, services.common.portal_links."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class PortalSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HAQ_PORTAL_", extra="ignore")

    port: int = 8091  # HAQ_PORTAL_PORT; the host is the shared HAQ_HTTP_HOST
    database_url: str = ""  # empty: SQLite portal.db under HAQ_DATA_DIR
    grpc_timeout_s: float = 5.0
    # The token the portal sends to intake; empty: minted from HAQ_AUTH_SECRET (roles integration
    # and ops: submit and add follow-ups, read case files), none when auth is off.
    grpc_token: str = ""
    link_ttl_s: int = 30 * 60  # a follow link works once, for this long
    session_ttl_s: int = 2 * 3600  # the signed-in session it opens
    # Link requests: at most this many per reference, and per client address, in the window.
    link_requests_per_reference: int = 3
    link_requests_per_client: int = 10
    link_request_window_s: int = 15 * 60
    # Read public replies from the lifecycle topic (off in unit tests that have no broker).
    read_replies: bool = True
