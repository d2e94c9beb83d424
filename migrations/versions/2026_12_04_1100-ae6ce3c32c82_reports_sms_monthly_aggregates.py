"""reports: SMS monthly aggregates, notification.spip_id, booked convocations index

The dashboard's SMS figures read every convocation of the SPIP and probed each one's messages
(1.2–1.4 s for a SPIP-year on the 3-million benchmark database): the period is the local date
of ``notification.send_at``, which no index served. Now:

- ``notification.spip_id``, copied from the convocation (filled here for existing rows) with an
  index on (spip_id, send_at): a SPIP's messages of a period are one index range;
- ``sms_monthly`` / ``sms_delay_monthly``: closed months' counts and delivery-delay histogram,
  rebuilt by the daily job beside ``attendance_monthly``; ``attendance_month_refresh`` says
  which months they cover (``sms_refreshed_at``, empty until the next rebuild);
- a partial index on the convocations still waiting for their outcome (« à renseigner »).

Revision ID: ae6ce3c32c82
Revises: 7d4e2b9c1a05
Create Date: 2026-12-03 13:15:51.667096+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.types

revision: str = "ae6ce3c32c82"
down_revision: str | None = "7d4e2b9c1a05"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sms_delay_monthly",
        sa.Column("spip_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("provider", sa.String(length=30), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.ForeignKeyConstraint(
            ["spip_id"],
            ["spip.id"],
            name=op.f("fk_sms_delay_monthly_spip_id_spip"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_delay_monthly")),
    )
    with op.batch_alter_table("sms_delay_monthly", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sms_delay_monthly_month_spip_id", ["month", "spip_id"], unique=False
        )

    op.create_table(
        "sms_monthly",
        sa.Column("spip_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("provider", sa.String(length=30), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.ForeignKeyConstraint(
            ["spip_id"], ["spip.id"], name=op.f("fk_sms_monthly_spip_id_spip"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_monthly")),
    )
    with op.batch_alter_table("sms_monthly", schema=None) as batch_op:
        batch_op.create_index("ix_sms_monthly_month_spip_id", ["month", "spip_id"], unique=False)

    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.create_index(
            "ix_appointment_booked_spip_id_starts_at",
            ["spip_id", "starts_at"],
            unique=False,
            postgresql_where=sa.text("status = 'booked'"),
            sqlite_where=sa.text("status = 'booked'"),
        )

    with op.batch_alter_table("attendance_month_refresh", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sms_refreshed_at", app.core.types.UtcDateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("spip_id", sa.Integer(), nullable=True))
    _backfill_notification_spip()
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.alter_column("spip_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(
            "ix_notification_spip_id_send_at", ["spip_id", "send_at"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_notification_spip_id_spip"),
            "spip",
            ["spip_id"],
            ["id"],
            ondelete="RESTRICT",
        )


def _backfill_notification_spip() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE notification SET spip_id = appointment.spip_id FROM appointment "
            "WHERE appointment.id = notification.appointment_id"
        )
    else:
        op.execute(
            "UPDATE notification SET spip_id = (SELECT appointment.spip_id FROM appointment "
            "WHERE appointment.id = notification.appointment_id)"
        )


def downgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_notification_spip_id_spip"), type_="foreignkey")
        batch_op.drop_index("ix_notification_spip_id_send_at")
        batch_op.drop_column("spip_id")

    with op.batch_alter_table("attendance_month_refresh", schema=None) as batch_op:
        batch_op.drop_column("sms_refreshed_at")

    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_appointment_booked_spip_id_starts_at",
            postgresql_where=sa.text("status = 'booked'"),
            sqlite_where=sa.text("status = 'booked'"),
        )

    with op.batch_alter_table("sms_monthly", schema=None) as batch_op:
        batch_op.drop_index("ix_sms_monthly_month_spip_id")

    op.drop_table("sms_monthly")
    with op.batch_alter_table("sms_delay_monthly", schema=None) as batch_op:
        batch_op.drop_index("ix_sms_delay_monthly_month_spip_id")

    op.drop_table("sms_delay_monthly")
