"""routing_accounts: each tenant's B2B accounts (ListAccounts, UpsertAccount); routing_teams.admin_managed (UpsertTeam)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 19:58:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "routing_accounts",
        sa.Column("tenant", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("tier", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("sla_policy", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("response_hours", sa.Integer(), nullable=False),
        sa.Column("account_manager", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "id"),
    )
    with op.batch_alter_table("routing_teams", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("admin_managed", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("routing_teams", schema=None) as batch_op:
        batch_op.drop_column("admin_managed")
    op.drop_table("routing_accounts")
