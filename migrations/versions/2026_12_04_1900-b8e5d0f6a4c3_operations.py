"""operations: dispatch_tick (the workers' last ticks) and sending_pause (sending held)

Two new tables, and an index on ``notification_attempt.created_at`` (the providers' health of
the last 24 h); ``CREATE INDEX`` rebuilds no table on SQLite.

Revision ID: b8e5d0f6a4c3
Revises: a7d4c9e5f3b2
Create Date: 2026-12-04 19:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.core.types import UtcDateTime

revision: str = "b8e5d0f6a4c3"
down_revision: str | None = "a7d4c9e5f3b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = ("claimed", "sent", "skipped", "cancelled", "deferred", "retried", "failed", "expired")


def upgrade() -> None:
    op.create_table(
        "dispatch_tick",
        sa.Column("worker_id", sa.String(length=64), nullable=False),
        sa.Column("started_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
        sa.Column("receipts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=100), nullable=True),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatch_tick")),
    )
    op.create_index("ix_dispatch_tick_started_at", "dispatch_tick", ["started_at"], unique=False)
    op.create_table(
        "sending_pause",
        sa.Column("spip_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("paused_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("paused_by_id", sa.Integer(), nullable=True),
        sa.Column("resumed_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("resumed_by_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.ForeignKeyConstraint(
            ["paused_by_id"],
            ["agent.id"],
            name=op.f("fk_sending_pause_paused_by_id_agent"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["resumed_by_id"],
            ["agent.id"],
            name=op.f("fk_sending_pause_resumed_by_id_agent"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["spip_id"], ["spip.id"], name=op.f("fk_sending_pause_spip_id_spip"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sending_pause")),
    )
    op.create_index("ix_sending_pause_resumed_at", "sending_pause", ["resumed_at"], unique=False)
    op.create_index(
        "ix_notification_attempt_created_at",
        "notification_attempt",
        ["created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_notification_attempt_created_at", table_name="notification_attempt")
    op.drop_index("ix_sending_pause_resumed_at", table_name="sending_pause")
    op.drop_table("sending_pause")
    op.drop_index("ix_dispatch_tick_started_at", table_name="dispatch_tick")
    op.drop_table("dispatch_tick")
