"""Alembic migration environment of the escalation database (see services/common/migrations.py)."""
