"""Escalation's own settings (HAQ_ESCALATION_*), beside the shared ones in services.common.settings."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

SEED_DIR = Path(__file__).resolve().parent / "seed"


class EscalationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HAQ_ESCALATION_", extra="ignore")

    calendars_file: Path = SEED_DIR / "calendars.yaml"
    ladder_file: Path = SEED_DIR / "ladder.yaml"
    # SlaWarning at this share of each target; empty keeps each policy's own (docs/SLA.md).
    warn_share: float | None = None
    # Routing's directory (the ladder, who works in which team): refreshed this often, off the
    # event loop and outside every transaction, each call with this deadline.
    directory_ttl_s: float = 30.0
    directory_deadline_s: float = 2.0
    # The response guard (notifications' CheckResponse): deadline per call.
    guard_deadline_s: float = 2.0
    # After a start, deadlines wait until the consumer group has read the lifecycle topic up to
    # where it ended at start; past this many seconds they fire anyway (logged as an error).
    catch_up_max_s: float = 300.0


@lru_cache
def get_escalation_settings() -> EscalationSettings:
    return EscalationSettings()
