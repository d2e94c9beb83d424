"""agents: authentication, tokens, login attempts, audit trail

Revision ID: 899de80d0af5
Revises: 99e958454ed3
Create Date: 2026-11-22 14:37:25.230980+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.types


revision: str = "899de80d0af5"
down_revision: str | None = "99e958454ed3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_attempt",
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("attempted_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempt")),
    )
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.create_index(
            "ix_login_attempt_client_attempted_at", ["client", "attempted_at"], unique=False
        )

    op.create_table(
        "access_token",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", app.core.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agent.id"],
            name=op.f("fk_access_token_agent_id_agent"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_access_token_token_hash")),
    )
    with op.batch_alter_table("access_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_token_agent_id"), ["agent_id"], unique=False)

    op.create_table(
        "activation_token",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("used_at", app.core.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agent.id"],
            name=op.f("fk_activation_token_agent_id_agent"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activation_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_activation_token_token_hash")),
    )
    with op.batch_alter_table("activation_token", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_activation_token_agent_id"), ["agent_id"], unique=False
        )

    op.create_table(
        "audit_event",
        sa.Column("occurred_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("spip_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=True),
        sa.Column("client", sa.String(length=64), nullable=True),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agent.id"],
            name=op.f("fk_audit_event_agent_id_agent"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["spip_id"], ["spip.id"], name=op.f("fk_audit_event_spip_id_spip"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_event_agent_id_occurred_at", ["agent_id", "occurred_at"], unique=False
        )
        batch_op.create_index(
            "ix_audit_event_entity_entity_id", ["entity", "entity_id"], unique=False
        )
        batch_op.create_index(
            "ix_audit_event_spip_id_occurred_at", ["spip_id", "occurred_at"], unique=False
        )

    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password_hash", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("locked_until", app.core.types.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("last_login_at", app.core.types.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.alter_column("spip_id", existing_type=sa.INTEGER(), nullable=True)
        # National administrators may belong to no SPIP; everyone else belongs to one.
        batch_op.create_check_constraint("spip_required", "role = 'admin' OR spip_id IS NOT NULL")

    _make_audit_append_only()


def _make_audit_append_only() -> None:
    """The audit trail is append-only: the database itself refuses UPDATE and DELETE."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION audit_event_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'audit_event is append-only';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_event_no_{event.lower()} BEFORE {event} ON audit_event "
                "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.drop_constraint("spip_required", type_="check")
        batch_op.alter_column("spip_id", existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column("last_login_at")
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_logins")
        batch_op.drop_column("password_hash")

    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_event_spip_id_occurred_at")
        batch_op.drop_index("ix_audit_event_entity_entity_id")
        batch_op.drop_index("ix_audit_event_agent_id_occurred_at")

    op.drop_table("audit_event")
    with op.batch_alter_table("activation_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_activation_token_agent_id"))

    op.drop_table("activation_token")
    with op.batch_alter_table("access_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_token_agent_id"))

    op.drop_table("access_token")
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempt_client_attempted_at")

    op.drop_table("login_attempt")
