"""Notifications' own settings (HAQ_NOTIFY_*), beside the shared ones in services.common.settings."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

SEED_DIR = Path(__file__).resolve().parent / "seed"


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HAQ_NOTIFY_", extra="ignore")

    # Tenants: guard mode, webhooks and secrets, chat and SMS providers, staff preferences.
    config_file: Path = SEED_DIR / "tenants.yaml"
    # Retries of one delivery: exponential backoff with full jitter, then the dead-letter topic.
    max_attempts: int = 5
    retry_base_s: float = 1.0
    retry_cap_s: float = 60.0
    # Planning a job while routing's directory is unreachable: retried on this backoff, forever.
    job_retry_base_s: float = 2.0
    job_retry_cap_s: float = 60.0
    # A delivery found "sending" for this long after its attempt started was interrupted (the
    # process died mid-send): an email whose message had not gone to the server yet is sent
    # again; otherwise it is failed as "outcome unknown", never sent again on its own.
    # Longer than any channel's timeout (10 s a step) several times over, so a live sender is not taken for a dead one.
    sending_stale_s: float = 45.0
    http_timeout_s: float = 10.0
    # Webhook/chat/SMS requests in flight: in all, and per tenant (one slow tenant endpoint holds
    # back only its own tenant's requests).
    http_workers: int = 4
    http_per_tenant: int = 2
    dispatch_poll_s: float = 0.5
    dispatch_batch: int = 50
    # Routing's directory (staff contact details).
    directory_timeout_s: float = 3.0
    directory_refresh_s: float = 60.0
    directory_max_stale_s: float = 3600.0
    # A customer's low rating after resolution (ComplaintRated at or below the threshold):
    # alert_lead mails the team's lead; reopen: escalation reopens the case (it reads this same
    # variable, services/escalation/adapters/satisfaction.py) and no mail goes out; none: nothing.
    low_rating_action: str = "alert_lead"
    low_rating_threshold: int = 2


@lru_cache
def get_notify_settings() -> NotifySettings:
    return NotifySettings()
