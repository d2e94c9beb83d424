"""login_throttle: one counter row per client address replaces the login_attempt log

The per-address rate limit counted ``login_attempt`` rows, then inserted one: parallel
attempts all read the same count, and 60 of them passed a limit of 30. A single counter row per
address, incremented with ``INSERT … ON CONFLICT DO UPDATE … RETURNING``, serialises them.
The old rows only served that limit (they are a day at most): they are dropped, not moved.

Revision ID: 7a41d2c9e8b3
Revises: c3d9a7e2f41b
Create Date: 2026-12-03 10:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.core.types import UtcDateTime

revision: str = "7a41d2c9e8b3"
down_revision: str | None = "c3d9a7e2f41b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("window_started_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("client", name=op.f("pk_login_throttle")),
    )
    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_login_throttle_window_started_at"), ["window_started_at"], unique=False
        )
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempt_client_attempted_at")
    op.drop_table("login_attempt")


def downgrade() -> None:
    op.create_table(
        "login_attempt",
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("attempted_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempt")),
    )
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.create_index(
            "ix_login_attempt_client_attempted_at", ["client", "attempted_at"], unique=False
        )
    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_throttle_window_started_at"))
    op.drop_table("login_throttle")
