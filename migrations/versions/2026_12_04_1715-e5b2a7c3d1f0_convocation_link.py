"""convocation_link: the short link of a convocation's SMS, to the person's page

One row per convocation (issued when it is booked). The token is not stored: it is derived
from ``nonce`` under the server secret, and ``token_hash`` (its SHA-256) finds the row. A new
table: nothing referenced by foreign keys is rebuilt on SQLite. Convocations booked before this
revision get no link (their SMS drop the optional part that holds it).

Revision ID: e5b2a7c3d1f0
Revises: f6c3b8d4e2a1
Create Date: 2026-12-04 17:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.core.types import UtcDateTime

revision: str = "e5b2a7c3d1f0"
down_revision: str | None = "f6c3b8d4e2a1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "convocation_link",
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_convocation_link_appointment_id_appointment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"],
            ["agent.id"],
            name=op.f("fk_convocation_link_revoked_by_id_agent"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_convocation_link")),
        sa.UniqueConstraint("appointment_id", name=op.f("uq_convocation_link_appointment_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_convocation_link_token_hash")),
    )


def downgrade() -> None:
    op.drop_table("convocation_link")
