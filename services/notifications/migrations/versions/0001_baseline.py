"""baseline: the schema create_all made before migrations

Revision ID: 0001
Revises:
Create Date: 2026-12-02 12:20:31.313020
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
    if _absent("deliveries"):
        op.create_table(
            "deliveries",
            sa.Column("notification_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("complaint_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("trigger_event_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("recipient", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("template", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("language", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("tenant", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("audience", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("recipient_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("html", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("payload", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("priority_class", sa.Integer(), nullable=False),
            sa.Column("attempts", sa.Integer(), nullable=False),
            sa.Column("manual_retries", sa.Integer(), nullable=False),
            sa.Column("dead_lettered", sa.Boolean(), nullable=False),
            sa.Column("next_attempt_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
            sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
            sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
            sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
            sa.PrimaryKeyConstraint("notification_id"),
            sa.UniqueConstraint("trigger_event_id", "recipient", "channel", name="uq_delivery_key"),
        )
        with op.batch_alter_table("deliveries", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_deliveries_complaint_id"), ["complaint_id"], unique=False)
            batch_op.create_index(
                "ix_deliveries_due", ["status", "priority_class", "next_attempt_at"], unique=False
            )
            batch_op.create_index(
                batch_op.f("ix_deliveries_next_attempt_at"), ["next_attempt_at"], unique=False
            )
            batch_op.create_index(batch_op.f("ix_deliveries_status"), ["status"], unique=False)

    if _absent("notification_contacts"):
        op.create_table(
            "notification_contacts",
            sa.Column("complaint_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("tenant", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("email", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("language", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("display_name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("preferred_channel", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("team", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("priority", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("keep_informed", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
            sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
            sa.PrimaryKeyConstraint("complaint_id"),
        )
        with op.batch_alter_table("notification_contacts", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_notification_contacts_reference"), ["reference"], unique=False
            )

    if _absent("notification_jobs"):
        op.create_table(
            "notification_jobs",
            sa.Column("trigger_event_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("complaint_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("event_name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("event_value", sa.LargeBinary(), nullable=False),
            sa.Column("planned", sa.Boolean(), nullable=False),
            sa.Column("attempts", sa.Integer(), nullable=False),
            sa.Column("next_attempt_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
            sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
            sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
            sa.PrimaryKeyConstraint("trigger_event_id"),
        )
        with op.batch_alter_table("notification_jobs", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_notification_jobs_complaint_id"), ["complaint_id"], unique=False
            )
            batch_op.create_index(batch_op.f("ix_notification_jobs_planned"), ["planned"], unique=False)

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
    with op.batch_alter_table("notification_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_jobs_planned"))
        batch_op.drop_index(batch_op.f("ix_notification_jobs_complaint_id"))

    op.drop_table("notification_jobs")
    with op.batch_alter_table("notification_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_contacts_reference"))

    op.drop_table("notification_contacts")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliveries_status"))
        batch_op.drop_index(batch_op.f("ix_deliveries_next_attempt_at"))
        batch_op.drop_index("ix_deliveries_due")
        batch_op.drop_index(batch_op.f("ix_deliveries_complaint_id"))

    op.drop_table("deliveries")
