"""The dashboard's own settings (HAQ_DASHBOARD_*); everything else comes from the shared Settings."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class DashboardSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HAQ_DASHBOARD_", extra="ignore")

    port: int = 8090  # HAQ_DASHBOARD_PORT; the host is the shared HAQ_HTTP_HOST
    grpc_timeout_s: float = 3.0  # deadline of every gRPC call the pages make
    # Sent as "authorization: Bearer <token>" on every gRPC call; unset, an ops token is minted from
    # HAQ_AUTH_SECRET when auth is on (see access.grpc_token).
    grpc_token: str = ""
    # Replay the lifecycle topic from its beginning at start, so counts and lists cover history.
    replay: bool = True

    def url(self, http_host: str) -> str:
        """Where a browser on this machine reaches the dashboard."""
        host = "127.0.0.1" if http_host in ("0.0.0.0", "::") else http_host
        return f"http://{host}:{self.port}/"
