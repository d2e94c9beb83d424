"""reminder_policy: avoid_closed_days, reminders moved off Sundays and public holidays

A SPIP may ask that its reminders never go on a Sunday or a public holiday of the place's
territory (``app.core.holidays``): such a reminder goes on the previous open day, at the same
local time. Off by default: existing policies keep planning as before.

Revision ID: 1539451f7f3c
Revises: 106e52267559
Create Date: 2026-12-04 14:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1539451f7f3c"
down_revision: str | None = "106e52267559"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reminder_policy", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("avoid_closed_days", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("reminder_policy", schema=None) as batch_op:
        batch_op.drop_column("avoid_closed_days")
