"""Alembic migration environment of the notifications database (see services/common/migrations.py)."""
