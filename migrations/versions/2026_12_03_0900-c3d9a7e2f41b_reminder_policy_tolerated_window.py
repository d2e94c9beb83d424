"""reminder_policy: the tolerated window, for a message that cannot wait for the send window

A summons, change or cancellation notice (or a late reminder's catch-up) whose send window
leaves no moment before its deadline went out at no time at all: it was planned at the window
opening, right at its deadline, and expired. It now goes within these wider local hours
(``app.reminders.planning``). Existing policies get 07:00–22:00, widened to their send window
where it is wider, so every stored policy still validates (the tolerated window contains the
send window). "HH:MM" strings compare as times.

Revision ID: c3d9a7e2f41b
Revises: 5b7e1c9a4d20
Create Date: 2026-12-03 09:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c3d9a7e2f41b"
down_revision: str | None = "5b7e1c9a4d20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reminder_policy", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tolerated_start", sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column("tolerated_end", sa.String(length=5), nullable=True))
    op.execute(
        "UPDATE reminder_policy SET "
        "tolerated_start = CASE WHEN window_start < '07:00' THEN window_start ELSE '07:00' END, "
        "tolerated_end = CASE WHEN window_end > '22:00' THEN window_end ELSE '22:00' END"
    )
    with op.batch_alter_table("reminder_policy", schema=None) as batch_op:
        batch_op.alter_column("tolerated_start", existing_type=sa.String(length=5), nullable=False)
        batch_op.alter_column("tolerated_end", existing_type=sa.String(length=5), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("reminder_policy", schema=None) as batch_op:
        batch_op.drop_column("tolerated_end")
        batch_op.drop_column("tolerated_start")
