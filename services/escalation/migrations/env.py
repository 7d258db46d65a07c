"""Alembic env for the escalation database: its tables plus the shared outbox tables."""

from services.common.migrations import run_env

run_env("escalation")
