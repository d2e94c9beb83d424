"""SMS delivery: attempts check, message parts, pending receipts, phone problem

- ``notification_part``: every provider message id of a notification, unique per provider, with
  its delivery status (receipts find their message through it);
- ``pending_receipt``: verified receipts that arrived before their message id was recorded;
- ``person.phone_problem`` / ``phone_problem_at``: a provider refused an SMS to the number for
  good (nullable: no default needed);
- a CHECK on ``notification_attempt.outcome`` (hand-written: autogenerate does not see CHECK
  constraints; the table was never written to before this revision).

Revision ID: 902d7685a803
Revises: 899de80d0af5
Create Date: 2026-11-22 14:46:47.808969+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.types


revision: str = "902d7685a803"
down_revision: str | None = "899de80d0af5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pending_receipt",
        sa.Column("provider", sa.String(length=30), nullable=False),
        sa.Column("provider_message_id", sa.String(length=100), nullable=True),
        sa.Column("notification_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("error_code", sa.String(length=60), nullable=True),
        sa.Column("occurred_at", app.core.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("received_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.CheckConstraint(
            "status IN ('sent', 'delivered', 'undelivered', 'expired', 'failed')",
            name=op.f("ck_pending_receipt_status_allowed"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_receipt")),
    )
    with op.batch_alter_table("pending_receipt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pending_receipt_notification_id"), ["notification_id"], unique=False
        )
        batch_op.create_index(
            "ix_pending_receipt_provider_message_id",
            ["provider", "provider_message_id"],
            unique=False,
        )

    op.create_table(
        "notification_part",
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=30), nullable=False),
        sa.Column("provider_message_id", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("error_code", sa.String(length=60), nullable=True),
        sa.Column("status_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.CheckConstraint(
            "status IN ('sent', 'delivered', 'undelivered', 'expired', 'failed')",
            name=op.f("ck_notification_part_status_allowed"),
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notification.id"],
            name=op.f("fk_notification_part_notification_id_notification"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_part")),
        sa.UniqueConstraint(
            "provider", "provider_message_id", name="uq_notification_part_provider_message_id"
        ),
    )
    with op.batch_alter_table("notification_part", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_part_notification_id"), ["notification_id"], unique=False
        )

    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone_problem", sa.String(length=60), nullable=True))
        batch_op.add_column(
            sa.Column("phone_problem_at", app.core.types.UtcDateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("notification_attempt", schema=None) as batch_op:
        batch_op.create_check_constraint(
            "outcome_allowed",
            "outcome IN ('accepted', 'permanent', 'temporary', 'throttled', 'skipped')",
        )


def downgrade() -> None:
    with op.batch_alter_table("notification_attempt", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_notification_attempt_outcome_allowed"), type_="check")

    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_column("phone_problem_at")
        batch_op.drop_column("phone_problem")

    with op.batch_alter_table("notification_part", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_part_notification_id"))

    op.drop_table("notification_part")
    with op.batch_alter_table("pending_receipt", schema=None) as batch_op:
        batch_op.drop_index("ix_pending_receipt_provider_message_id")
        batch_op.drop_index(batch_op.f("ix_pending_receipt_notification_id"))

    op.drop_table("pending_receipt")
