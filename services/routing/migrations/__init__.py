"""Alembic migration environment of the routing database (see services/common/migrations.py)."""
