"""mail_threads: customer Message-IDs and the complaint each belongs to (email channel)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 15:10:00.000000
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
        "mail_threads",
        sa.Column("tenant", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("complaint_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "message_id"),
    )
    with op.batch_alter_table("mail_threads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mail_threads_complaint_id"), ["complaint_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mail_threads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mail_threads_complaint_id"))
    op.drop_table("mail_threads")
