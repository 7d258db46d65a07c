"""Revisions of the intake database, oldest first: 0001 is the baseline (the create_all schema)."""
