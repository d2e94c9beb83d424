"""reminder engine: notifications, attempts, policies, templates

Revision ID: 99e958454ed3
Revises: ab8508ec4ddb
Create Date: 2026-11-22 14:23:16.732887+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.types


revision: str = "99e958454ed3"
down_revision: str | None = "ab8508ec4ddb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reminder_policy",
        sa.Column("spip_id", sa.Integer(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("type_rules", sa.JSON(), nullable=False),
        sa.Column("window_start", sa.String(length=5), nullable=False),
        sa.Column("window_end", sa.String(length=5), nullable=False),
        sa.Column("min_lead_minutes", sa.Integer(), nullable=False),
        sa.Column("max_segments", sa.Integer(), nullable=False),
        sa.Column("gsm7_friendly", sa.Boolean(), nullable=False),
        sa.Column("sender", sa.String(length=11), nullable=True),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("created_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["spip_id"],
            ["spip.id"],
            name=op.f("fk_reminder_policy_spip_id_spip"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_policy")),
        sa.UniqueConstraint("spip_id", name=op.f("uq_reminder_policy_spip_id")),
    )
    op.create_table(
        "message_template",
        sa.Column("scope_key", sa.String(length=100), nullable=False),
        sa.Column("spip_id", sa.Integer(), nullable=False),
        sa.Column("appointment_type_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("created_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_type_id"],
            ["appointment_type.id"],
            name=op.f("fk_message_template_appointment_type_id_appointment_type"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["spip_id"],
            ["spip.id"],
            name=op.f("fk_message_template_spip_id_spip"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["agent.id"],
            name=op.f("fk_message_template_updated_by_id_agent"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_template")),
        sa.UniqueConstraint("scope_key", name=op.f("uq_message_template_scope_key")),
    )
    with op.batch_alter_table("message_template", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_message_template_spip_id"), ["spip_id"], unique=False)

    op.create_table(
        "notification",
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("rule", sa.String(length=40), nullable=True),
        sa.Column("planned_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("send_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("send_not_after", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_expires_at", app.core.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("provider", sa.String(length=30), nullable=True),
        sa.Column("provider_message_id", sa.String(length=100), nullable=True),
        sa.Column("encoding", sa.String(length=5), nullable=True),
        sa.Column("segments", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("sent_at", app.core.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", app.core.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("created_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('summons', 'reminder', 'cancellation', 'reschedule', 'missed')",
            name=op.f("ck_notification_kind_allowed"),
        ),
        sa.CheckConstraint(
            "status IN ('planned', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'cancelled', 'skipped', 'expired')",
            name=op.f("ck_notification_status_allowed"),
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_notification_appointment_id_appointment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["agent.id"],
            name=op.f("fk_notification_created_by_id_agent"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_notification_idempotency_key")),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notification_appointment_id_kind", ["appointment_id", "kind"], unique=False
        )
        batch_op.create_index(
            "ix_notification_planned_send_at",
            ["send_at"],
            unique=False,
            postgresql_where=sa.text("status = 'planned'"),
            sqlite_where=sa.text("status = 'planned'"),
        )
        batch_op.create_index(
            "ix_notification_provider_message_id", ["provider", "provider_message_id"], unique=False
        )
        batch_op.create_index(
            "ix_notification_sending_lease",
            ["lease_expires_at"],
            unique=False,
            postgresql_where=sa.text("status = 'sending'"),
            sqlite_where=sa.text("status = 'sending'"),
        )

    op.create_table(
        "notification_attempt",
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=30), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("error_code", sa.String(length=60), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("created_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notification.id"],
            name=op.f("fk_notification_attempt_notification_id_notification"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_attempt")),
    )
    with op.batch_alter_table("notification_attempt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_attempt_notification_id"), ["notification_id"], unique=False
        )



def downgrade() -> None:
    with op.batch_alter_table("notification_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_attempt_notification_id"))

    op.drop_table("notification_attempt")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_notification_sending_lease",
            postgresql_where=sa.text("status = 'sending'"),
            sqlite_where=sa.text("status = 'sending'"),
        )
        batch_op.drop_index("ix_notification_provider_message_id")
        batch_op.drop_index(
            "ix_notification_planned_send_at",
            postgresql_where=sa.text("status = 'planned'"),
            sqlite_where=sa.text("status = 'planned'"),
        )
        batch_op.drop_index("ix_notification_appointment_id_kind")

    op.drop_table("notification")
    with op.batch_alter_table("message_template", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_template_spip_id"))

    op.drop_table("message_template")
    op.drop_table("reminder_policy")
