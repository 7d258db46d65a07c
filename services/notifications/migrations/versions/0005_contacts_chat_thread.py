"""notification_contacts chat_thread

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 16:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notification_contacts", schema=None) as batch_op:
        # The chat/social thread a customer is answered on; "" (email/SMS as before) on old rows.
        batch_op.add_column(
            sa.Column("chat_thread", sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("notification_contacts", schema=None) as batch_op:
        batch_op.drop_column("chat_thread")
