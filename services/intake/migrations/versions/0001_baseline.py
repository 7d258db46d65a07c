"""baseline: the schema create_all made before migrations

Revision ID: 0001
Revises:
Create Date: 2026-12-02 12:20:23.799116
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
    if _absent("case_clocks"):
        op.create_table(
            "case_clocks",
            sa.Column("complaint_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("clock", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
            sa.Column("due_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
            sa.Column("state", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("stopped_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
            sa.PrimaryKeyConstraint("complaint_id", "clock"),
        )

    if _absent("case_notifications"):
        op.create_table(
            "case_notifications",
            sa.Column("notification_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("complaint_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("recipient", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("template", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
            sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.PrimaryKeyConstraint("notification_id"),
        )
        with op.batch_alter_table("case_notifications", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_case_notifications_complaint_id"), ["complaint_id"], unique=False
            )

    if _absent("complaints"):
        op.create_table(
            "complaints",
            sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("tenant", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("sector", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("complainant_role", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("body", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("language", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("product", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("purchase_date", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("category", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("metadata_json", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("customer_json", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
            sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("team", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("owner_is_duty_lead", sa.Boolean(), nullable=False),
            sa.Column("priority", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("sla_policy", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("routing_rule", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("routing_explanation", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("reference"),
        )
        with op.batch_alter_table("complaints", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_complaints_customer_id"), ["customer_id"], unique=False)
            batch_op.create_index(batch_op.f("ix_complaints_received_at"), ["received_at"], unique=False)
            batch_op.create_index(batch_op.f("ix_complaints_reference"), ["reference"], unique=False)
            batch_op.create_index(batch_op.f("ix_complaints_tenant"), ["tenant"], unique=False)

    if _absent("customer_identities"):
        op.create_table(
            "customer_identities",
            sa.Column("tenant", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("value", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("added_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
            sa.PrimaryKeyConstraint("tenant", "kind", "value"),
        )
        with op.batch_alter_table("customer_identities", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_customer_identities_customer_id"), ["customer_id"], unique=False
            )

    if _absent("customers"):
        op.create_table(
            "customers",
            sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("tenant", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("display_name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("first_seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
            sa.Column("merged_into", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("customers", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_customers_merged_into"), ["merged_into"], unique=False)
            batch_op.create_index(batch_op.f("ix_customers_tenant"), ["tenant"], unique=False)

    if _absent("follow_ups"):
        op.create_table(
            "follow_ups",
            sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("complaint_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("body", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("follow_ups", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_follow_ups_complaint_id"), ["complaint_id"], unique=False)

    if _absent("idempotency_keys"):
        op.create_table(
            "idempotency_keys",
            sa.Column("tenant", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("result_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("complaint_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
            sa.PrimaryKeyConstraint("tenant", "key"),
        )

    if _absent("idempotency_records"):
        op.create_table(
            "idempotency_records",
            sa.Column("tenant", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("result_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("complaint_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
            sa.PrimaryKeyConstraint("tenant", "kind", "key"),
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

    if _absent("timeline"):
        op.create_table(
            "timeline",
            sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("complaint_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("type", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
            sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("summary", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.PrimaryKeyConstraint("event_id"),
        )
        with op.batch_alter_table("timeline", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_timeline_complaint_id"), ["complaint_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("timeline", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_timeline_complaint_id"))

    op.drop_table("timeline")
    op.drop_table("processed_events")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_published_at"))
        batch_op.drop_index(batch_op.f("ix_outbox_event_id"))

    op.drop_table("outbox")
    op.drop_table("idempotency_records")
    op.drop_table("idempotency_keys")
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_follow_ups_complaint_id"))

    op.drop_table("follow_ups")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_tenant"))
        batch_op.drop_index(batch_op.f("ix_customers_merged_into"))

    op.drop_table("customers")
    with op.batch_alter_table("customer_identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_identities_customer_id"))

    op.drop_table("customer_identities")
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaints_tenant"))
        batch_op.drop_index(batch_op.f("ix_complaints_reference"))
        batch_op.drop_index(batch_op.f("ix_complaints_received_at"))
        batch_op.drop_index(batch_op.f("ix_complaints_customer_id"))

    op.drop_table("complaints")
    with op.batch_alter_table("case_notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_notifications_complaint_id"))

    op.drop_table("case_notifications")
    op.drop_table("case_clocks")
