"""Alembic env for the intake database: its tables plus the shared outbox tables."""

from services.common.migrations import run_env

run_env("intake")
