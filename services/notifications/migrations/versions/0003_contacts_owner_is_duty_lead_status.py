"""notification_contacts: owner_is_duty_lead and status (the lifecycle fold)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 12:21:42.245975
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
    with op.batch_alter_table("notification_contacts", schema=None) as batch_op:
        # NOT NULL on rows already there: the server default fills them (the models' own defaults).
        batch_op.add_column(
            sa.Column("owner_is_duty_lead", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("notification_contacts", schema=None) as batch_op:
        batch_op.drop_column("status")
        batch_op.drop_column("owner_is_duty_lead")
