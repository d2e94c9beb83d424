"""notification: a random nonce that makes our provider reference globally unique

Our reference to providers was the notification id, unique only within one database: two
installations sharing a provider account sent the same reference for different messages, and
the ``http`` provider answered the second "replayed" — never sent. The reference is now
``<id>-<nonce>`` (``app.reminders.references``).

Existing rows keep a NULL nonce (their reference stays the bare id) when they may already
have gone out with it: sent or settled rows, rows being sent, planned rows already tried (a
lost answer may have been accepted). Planned rows never tried get a nonce now. No index: the
column is read with the row (by primary key), never searched.

Revision ID: 5b7e1c9a4d20
Revises: 8f23f69883b0
Create Date: 2026-12-02 01:15:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b7e1c9a4d20"
down_revision: str | None = "8f23f69883b0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 12 random hex characters, per row, in each dialect's SQL.
_RANDOM_NONCE = {
    "postgresql": "substr(md5(random()::text || clock_timestamp()::text || id::text), 1, 12)",
    "sqlite": "lower(hex(randomblob(6)))",
}


def upgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reference_nonce", sa.String(length=32), nullable=True))
    nonce = _RANDOM_NONCE[op.get_bind().dialect.name]
    op.execute(
        f"UPDATE notification SET reference_nonce = {nonce} "
        "WHERE status = 'planned' AND attempts = 0"
    )


def downgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_column("reference_nonce")
