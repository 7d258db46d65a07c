"""baseline: the schema create_all made before migrations

Revision ID: 0001
Revises:
Create Date: 2026-12-02 12:20:26.214255
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

    if _absent("routing_active_rule_set"):
        op.create_table(
            "routing_active_rule_set",
            sa.Column("key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("version", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("previous_version", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("activated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
            sa.PrimaryKeyConstraint("key"),
        )

    if _absent("routing_agents"):
        op.create_table(
            "routing_agents",
            sa.Column("tenant", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("team", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("skills", sa.JSON(), nullable=False),
            sa.Column("languages", sa.JSON(), nullable=False),
            sa.Column("capacity", sa.Integer(), nullable=False),
            sa.Column("presence", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("is_lead", sa.Boolean(), nullable=False),
            sa.Column("email", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("chat_handle", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("working_hours", sa.JSON(), nullable=False),
            sa.Column("position", sa.Integer(), nullable=False),
            sa.Column("admin_managed", sa.Boolean(), nullable=False),
            sa.Column("open_assignments", sa.Integer(), nullable=False),
            sa.Column("total_assigned", sa.Integer(), nullable=False),
            sa.Column("last_assigned_seq", sa.Integer(), nullable=False),
            sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
            sa.PrimaryKeyConstraint("tenant", "id"),
        )
        with op.batch_alter_table("routing_agents", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_routing_agents_team"), ["team"], unique=False)

    if _absent("routing_audit"):
        op.create_table(
            "routing_audit",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
            sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("action", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("target", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("routing_audit", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_routing_audit_action"), ["action"], unique=False)
            batch_op.create_index(batch_op.f("ix_routing_audit_at"), ["at"], unique=False)

    if _absent("routing_decisions"):
        op.create_table(
            "routing_decisions",
            sa.Column("complaint_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("tenant", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("sector", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("team", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("owner_is_duty_lead", sa.Boolean(), nullable=False),
            sa.Column("priority", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("sla_policy", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("rule_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("rule_set_version", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("explanation", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("tags", sa.JSON(), nullable=False),
            sa.Column("required_skills", sa.JSON(), nullable=False),
            sa.Column("keep_informed", sa.JSON(), nullable=False),
            sa.Column("input_json", sa.JSON(), nullable=False),
            sa.Column("trigger_event_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("decided_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
            sa.PrimaryKeyConstraint("complaint_id"),
        )
        with op.batch_alter_table("routing_decisions", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_routing_decisions_owner"), ["owner"], unique=False)
            batch_op.create_index(batch_op.f("ix_routing_decisions_reference"), ["reference"], unique=False)
            batch_op.create_index(batch_op.f("ix_routing_decisions_team"), ["team"], unique=False)
            batch_op.create_index(batch_op.f("ix_routing_decisions_tenant"), ["tenant"], unique=False)

    if _absent("routing_holdings"):
        op.create_table(
            "routing_holdings",
            sa.Column("complaint_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("tenant", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("team", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("queued", sa.Boolean(), nullable=False),
            sa.Column("queued_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
            sa.Column("priority", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("required_skills", sa.JSON(), nullable=False),
            sa.Column("required_language", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("previous_owners", sa.JSON(), nullable=False),
            sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
            sa.PrimaryKeyConstraint("complaint_id"),
        )
        with op.batch_alter_table("routing_holdings", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_routing_holdings_queued"), ["queued"], unique=False)
            batch_op.create_index(batch_op.f("ix_routing_holdings_team"), ["team"], unique=False)
            batch_op.create_index(batch_op.f("ix_routing_holdings_tenant"), ["tenant"], unique=False)

    if _absent("routing_rule_sets"):
        op.create_table(
            "routing_rule_sets",
            sa.Column("seq", sa.Integer(), nullable=False),
            sa.Column("version", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("source", sa.Text(), nullable=False),
            sa.Column("file_name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("checksum", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("rules", sa.Integer(), nullable=False),
            sa.Column("author", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
            sa.PrimaryKeyConstraint("seq"),
        )
        with op.batch_alter_table("routing_rule_sets", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_routing_rule_sets_version"), ["version"], unique=True)

    if _absent("routing_teams"):
        op.create_table(
            "routing_teams",
            sa.Column("tenant", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("duty_owner", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("manager", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("director", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("time_zone", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("strategy", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("position", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("tenant", "id"),
        )


def downgrade() -> None:
    op.drop_table("routing_teams")
    with op.batch_alter_table("routing_rule_sets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routing_rule_sets_version"))

    op.drop_table("routing_rule_sets")
    with op.batch_alter_table("routing_holdings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routing_holdings_tenant"))
        batch_op.drop_index(batch_op.f("ix_routing_holdings_team"))
        batch_op.drop_index(batch_op.f("ix_routing_holdings_queued"))

    op.drop_table("routing_holdings")
    with op.batch_alter_table("routing_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routing_decisions_tenant"))
        batch_op.drop_index(batch_op.f("ix_routing_decisions_team"))
        batch_op.drop_index(batch_op.f("ix_routing_decisions_reference"))
        batch_op.drop_index(batch_op.f("ix_routing_decisions_owner"))

    op.drop_table("routing_decisions")
    with op.batch_alter_table("routing_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routing_audit_at"))
        batch_op.drop_index(batch_op.f("ix_routing_audit_action"))

    op.drop_table("routing_audit")
    with op.batch_alter_table("routing_agents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routing_agents_team"))

    op.drop_table("routing_agents")
    op.drop_table("routing_active_rule_set")
    op.drop_table("processed_events")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_published_at"))
        batch_op.drop_index(batch_op.f("ix_outbox_event_id"))

    op.drop_table("outbox")
