"""baseline: the schema create_all made before migrations

Revision ID: 0001
Revises:
Create Date: 2026-12-02 12:20:28.889432
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _absent(table: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    """The tables create_all made. A table that is already there (a database made by create_all
    before migrations, being adopted) is left as it is; one it lacks is created."""
    if _absent("escalation_cases"):
        op.create_table(
            "escalation_cases",
            sa.Column("complaint_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("offered_to", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("team", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("priority", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("policy", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("sector", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("owner_is_duty_lead", sa.Boolean(), nullable=False),
            sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("accept_by", sa.DateTime(timezone=True), nullable=False),
            sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("received_at_known", sa.Boolean(), nullable=False),
            sa.Column("opened_by_event", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("state_json", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("complaint_id"),
        )
        with op.batch_alter_table("escalation_cases", schema=None) as batch_op:
            batch_op.create_index("ix_escalation_cases_next_due_at", ["next_due_at"], unique=False)
            batch_op.create_index(batch_op.f("ix_escalation_cases_offered_to"), ["offered_to"], unique=False)
            batch_op.create_index(batch_op.f("ix_escalation_cases_owner"), ["owner"], unique=False)
            batch_op.create_index(batch_op.f("ix_escalation_cases_status"), ["status"], unique=False)
            batch_op.create_index(batch_op.f("ix_escalation_cases_team"), ["team"], unique=False)

    if _absent("escalation_clocks"):
        op.create_table(
            "escalation_clocks",
            sa.Column("complaint_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("cycle", sa.Integer(), nullable=False),
            sa.Column("team", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("sector", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("policy", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("warn_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("state", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("target_s", sa.Float(), nullable=False),
            sa.Column("consumed_s", sa.Float(), nullable=False),
            sa.Column("run_from", sa.DateTime(timezone=True), nullable=True),
            sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("warned", sa.Boolean(), nullable=False),
            sa.Column("escalations", sa.Integer(), nullable=False),
            sa.Column("next_step_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("every_minute", sa.Boolean(), nullable=False),
            sa.PrimaryKeyConstraint("complaint_id", "name", "cycle"),
        )
        with op.batch_alter_table("escalation_clocks", schema=None) as batch_op:
            batch_op.create_index("ix_escalation_clocks_state_due_at", ["state", "due_at"], unique=False)

    if _absent("escalation_complaint_facts"):
        op.create_table(
            "escalation_complaint_facts",
            sa.Column("complaint_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("received_event_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("tenant", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
            sa.PrimaryKeyConstraint("complaint_id"),
        )
        with op.batch_alter_table("escalation_complaint_facts", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_escalation_complaint_facts_tenant"), ["tenant"], unique=False
            )

    if _absent("outbox"):
        op.create_table(
            "outbox",
            sa.Column("seq", sa.Integer(), nullable=False),
            sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("topic", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("key", sa.LargeBinary(), nullable=False),
            sa.Column("value", sa.LargeBinary(), nullable=False),
            sa.Column("headers_json", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
            sa.Column("published_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
            sa.PrimaryKeyConstraint("seq"),
        )
        with op.batch_alter_table("outbox", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_outbox_event_id"), ["event_id"], unique=False)
            batch_op.create_index(batch_op.f("ix_outbox_published_at"), ["published_at"], unique=False)

    if _absent("processed_events"):
        op.create_table(
            "processed_events",
            sa.Column("consumer", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("processed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
            sa.PrimaryKeyConstraint("consumer", "event_id"),
        )


def downgrade() -> None:
    op.drop_table("processed_events")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_published_at"))
        batch_op.drop_index(batch_op.f("ix_outbox_event_id"))

    op.drop_table("outbox")
    with op.batch_alter_table("escalation_complaint_facts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalation_complaint_facts_tenant"))

    op.drop_table("escalation_complaint_facts")
    with op.batch_alter_table("escalation_clocks", schema=None) as batch_op:
        batch_op.drop_index("ix_escalation_clocks_state_due_at")

    op.drop_table("escalation_clocks")
    with op.batch_alter_table("escalation_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalation_cases_team"))
        batch_op.drop_index(batch_op.f("ix_escalation_cases_status"))
        batch_op.drop_index(batch_op.f("ix_escalation_cases_owner"))
        batch_op.drop_index(batch_op.f("ix_escalation_cases_offered_to"))
        batch_op.drop_index("ix_escalation_cases_next_due_at")

    op.drop_table("escalation_cases")
