"""notification: drop the unused provider message id index

Receipts find their message through ``notification_part`` (unique per provider and id); nothing
queries ``notification.provider_message_id``. Every claim and every send rewrites notification
rows outside HOT (their status changes), so each index on the table is paid on every write:
this one bought nothing.

Revision ID: 8f23f69883b0
Revises: 26172892d7f3
Create Date: 2026-11-22 15:48:56.832716+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "8f23f69883b0"
down_revision: str | None = "26172892d7f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_provider_message_id")


def downgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notification_provider_message_id", ["provider", "provider_message_id"], unique=False
        )
