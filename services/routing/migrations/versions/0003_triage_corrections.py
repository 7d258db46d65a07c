"""routing_triage_corrections: triage corrections by people (CorrectTriage, ListCorrections)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 14:55:24.444986
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
        "routing_triage_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("tenant", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("signal", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("corrected_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("corrected_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("model_score", sa.Float(), nullable=False),
        sa.Column("previous_team", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("team", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("priority", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("sla_policy", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("rule_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("changed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("complaint_id", "request_id", name="uq_triage_correction_request"),
    )
    with op.batch_alter_table("routing_triage_corrections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_routing_triage_corrections_complaint_id"), ["complaint_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_routing_triage_corrections_corrected_at"), ["corrected_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_routing_triage_corrections_tenant"), ["tenant"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("routing_triage_corrections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routing_triage_corrections_tenant"))
        batch_op.drop_index(batch_op.f("ix_routing_triage_corrections_corrected_at"))
        batch_op.drop_index(batch_op.f("ix_routing_triage_corrections_complaint_id"))

    op.drop_table("routing_triage_corrections")
