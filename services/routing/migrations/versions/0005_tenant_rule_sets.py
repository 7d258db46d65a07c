"""per-tenant rule sets: versions unique per (tenant, version), one pointer per tenant with its
staged version (routing_tenant_rule_sets replaces routing_active_rule_set), tenant on every audit
entry (append-only: a trigger refuses UPDATE and DELETE), decisions stamped with whose rule set
and whether it was staged. Existing rows belong to the operator tenant (HAQ_TENANT).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 20:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from services.common.settings import get_settings

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION routing_audit_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'routing_audit is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql
"""
PG_TRIGGER = """
CREATE TRIGGER routing_audit_append_only BEFORE UPDATE OR DELETE ON routing_audit
FOR EACH ROW EXECUTE FUNCTION routing_audit_append_only()
"""
SQLITE_TRIGGERS = (
    "CREATE TRIGGER routing_audit_no_update BEFORE UPDATE ON routing_audit"
    " BEGIN SELECT RAISE(ABORT, 'routing_audit is append-only: UPDATE refused'); END",
    "CREATE TRIGGER routing_audit_no_delete BEFORE DELETE ON routing_audit"
    " BEGIN SELECT RAISE(ABORT, 'routing_audit is append-only: DELETE refused'); END",
)


def upgrade() -> None:
    operator = get_settings().tenant
    bind = op.get_bind()

    # Versions: each tenant's own; the existing ones are the operator tenant's (the built-in).
    with op.batch_alter_table("routing_rule_sets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("tenant", sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default="")
        )
    op.execute(sa.text("UPDATE routing_rule_sets SET tenant = :t").bindparams(t=operator))
    with op.batch_alter_table("routing_rule_sets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routing_rule_sets_version"))
        batch_op.create_index(batch_op.f("ix_routing_rule_sets_version"), ["version"], unique=False)
        batch_op.create_index(batch_op.f("ix_routing_rule_sets_tenant"), ["tenant"], unique=False)
        batch_op.create_unique_constraint("uq_routing_rule_sets_tenant_version", ["tenant", "version"])

    # One pointer per tenant; the deployment-wide one ("rules") becomes the operator tenant's.
    op.create_table(
        "routing_tenant_rule_sets",
        sa.Column("tenant", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("previous_version", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("activated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("staged_version", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("staged_percent", sa.Integer(), nullable=False),
        sa.Column("staged_channels", sa.JSON(), nullable=False),
        sa.Column("staged_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("staged_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("tenant"),
    )
    op.execute(
        sa.text(
            "INSERT INTO routing_tenant_rule_sets (tenant, version, previous_version, activated_at,"
            " staged_version, staged_percent, staged_channels, staged_by)"
            " SELECT :t, version, previous_version, activated_at, '', 0, '[]', ''"
            " FROM routing_active_rule_set WHERE key = 'rules'"
        ).bindparams(t=operator)
    )
    op.drop_table("routing_active_rule_set")

    # Audit: every entry names its tenant; rows are only ever inserted.
    with op.batch_alter_table("routing_audit", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("tenant", sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default="")
        )
    op.execute(sa.text("UPDATE routing_audit SET tenant = :t").bindparams(t=operator))
    with op.batch_alter_table("routing_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_routing_audit_tenant"), ["tenant"], unique=False)
    if bind.dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    elif bind.dialect.name == "sqlite":
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)

    # Decisions: whose rule set decided, and whether it was a staged version.
    with op.batch_alter_table("routing_decisions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "rule_set_tenant", sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default=""
            )
        )
        batch_op.add_column(
            sa.Column("rule_set_staged", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute(sa.text("UPDATE routing_decisions SET rule_set_tenant = :t").bindparams(t=operator))


def downgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("routing_decisions", schema=None) as batch_op:
        batch_op.drop_column("rule_set_staged")
        batch_op.drop_column("rule_set_tenant")
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS routing_audit_append_only ON routing_audit")
        op.execute("DROP FUNCTION IF EXISTS routing_audit_append_only()")
    elif bind.dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS routing_audit_no_update")
        op.execute("DROP TRIGGER IF EXISTS routing_audit_no_delete")
    with op.batch_alter_table("routing_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routing_audit_tenant"))
        batch_op.drop_column("tenant")
    op.create_table(
        "routing_active_rule_set",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("previous_version", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("activated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.execute(
        sa.text(
            "INSERT INTO routing_active_rule_set (key, version, previous_version, activated_at)"
            " SELECT 'rules', version, previous_version, activated_at FROM routing_tenant_rule_sets"
            " WHERE tenant = :t"
        ).bindparams(t=get_settings().tenant)
    )
    op.drop_table("routing_tenant_rule_sets")
    with op.batch_alter_table("routing_rule_sets", schema=None) as batch_op:
        batch_op.drop_constraint("uq_routing_rule_sets_tenant_version", type_="unique")
        batch_op.drop_index(batch_op.f("ix_routing_rule_sets_tenant"))
        batch_op.drop_index(batch_op.f("ix_routing_rule_sets_version"))
        batch_op.create_index(batch_op.f("ix_routing_rule_sets_version"), ["version"], unique=True)
        batch_op.drop_column("tenant")
