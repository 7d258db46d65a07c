"""Alembic env for the notifications database: its tables plus the shared outbox tables."""

from services.common.migrations import run_env

run_env("notifications")
