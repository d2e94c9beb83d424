"""reports: monthly attendance aggregates

Revision ID: f6557060826b
Revises: 902d7685a803
Create Date: 2026-11-22 14:56:28.922998+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.types


revision: str = "f6557060826b"
down_revision: str | None = "902d7685a803"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attendance_month_refresh",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("refreshed_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance_month_refresh")),
        sa.UniqueConstraint("month", name=op.f("uq_attendance_month_refresh_month")),
    )
    op.create_table(
        "attendance_monthly",
        sa.Column("spip_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("appointment_type_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("reminder_outcome", sa.String(length=20), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_type_id"],
            ["appointment_type.id"],
            name=op.f("fk_attendance_monthly_appointment_type_id_appointment_type"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["spip_id"],
            ["spip.id"],
            name=op.f("fk_attendance_monthly_spip_id_spip"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance_monthly")),
        sa.UniqueConstraint(
            "spip_id",
            "month",
            "appointment_type_id",
            "outcome",
            "reminder_outcome",
            name="uq_attendance_monthly_cell",
        ),
    )


def downgrade() -> None:
    op.drop_table("attendance_monthly")
    op.drop_table("attendance_month_refresh")
