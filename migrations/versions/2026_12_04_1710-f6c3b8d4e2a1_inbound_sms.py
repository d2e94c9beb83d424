"""inbound_sms: SMS received from persons (a STOP, or a reply shown to the referent)

A new table, and an index on ``person.phone`` (an SMS received is matched by its sender's
number across SPIPs). ``CREATE INDEX`` needs no rebuild of ``person`` on SQLite.

Revision ID: f6c3b8d4e2a1
Revises: d4a1f0c2b7e9
Create Date: 2026-12-04 17:10:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.core.types import UtcDateTime

revision: str = "f6c3b8d4e2a1"
down_revision: str | None = "d4a1f0c2b7e9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_sms",
        sa.Column("provider", sa.String(length=30), nullable=False),
        sa.Column("provider_message_id", sa.String(length=100), nullable=False),
        sa.Column("received_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("sender_phone", sa.String(length=20), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("spip_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("read_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("read_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.CheckConstraint("kind IN ('stop', 'reply')", name=op.f("ck_inbound_sms_kind_allowed")),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_inbound_sms_appointment_id_appointment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_inbound_sms_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["read_by_id"],
            ["agent.id"],
            name=op.f("fk_inbound_sms_read_by_id_agent"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["spip_id"], ["spip.id"], name=op.f("fk_inbound_sms_spip_id_spip"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_sms")),
        sa.UniqueConstraint(
            "provider", "provider_message_id", name=op.f("uq_inbound_sms_provider")
        ),
    )
    op.create_index(
        op.f("ix_inbound_sms_appointment_id"), "inbound_sms", ["appointment_id"], unique=False
    )
    op.create_index(
        "ix_inbound_sms_person_id_received_at",
        "inbound_sms",
        ["person_id", "received_at"],
        unique=False,
    )
    op.create_index(
        "ix_inbound_sms_spip_id_read_at", "inbound_sms", ["spip_id", "read_at"], unique=False
    )
    op.create_index("ix_person_phone", "person", ["phone"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_person_phone", table_name="person")
    op.drop_index("ix_inbound_sms_spip_id_read_at", table_name="inbound_sms")
    op.drop_index("ix_inbound_sms_person_id_received_at", table_name="inbound_sms")
    op.drop_index(op.f("ix_inbound_sms_appointment_id"), table_name="inbound_sms")
    op.drop_table("inbound_sms")
