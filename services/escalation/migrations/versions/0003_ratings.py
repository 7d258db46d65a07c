"""escalation_ratings: each complaint's latest customer rating (ComplaintRated), for CSAT

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 15:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "escalation_ratings",
        sa.Column("complaint_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("rating_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("team", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("sector", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reopen_pending", sa.Boolean(), nullable=False),
        sa.Column("reopen_outcome", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("complaint_id"),
    )
    with op.batch_alter_table("escalation_ratings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_escalation_ratings_rated_at"), ["rated_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_escalation_ratings_team"), ["team"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_escalation_ratings_reopen_pending"), ["reopen_pending"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("escalation_ratings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalation_ratings_reopen_pending"))
        batch_op.drop_index(batch_op.f("ix_escalation_ratings_team"))
        batch_op.drop_index(batch_op.f("ix_escalation_ratings_rated_at"))
    op.drop_table("escalation_ratings")
