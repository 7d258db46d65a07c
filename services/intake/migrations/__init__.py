"""Alembic migration environment of the intake database (see services/common/migrations.py)."""
