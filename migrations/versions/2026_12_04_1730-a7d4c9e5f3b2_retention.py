"""retention: the counts of purged convocations and SMS; a sanctioned way to prune the audit trail

Three new tables (``attendance_purged``, ``sms_purged``, ``sms_delay_purged``) keep, with the
monthly aggregates' dimensions, the counts of what the retention job deletes, so that rebuilding
the aggregates never loses them. New tables only: nothing referenced by a foreign key is rebuilt.

On PostgreSQL the audit trail's append-only trigger now lets a DELETE through when the job's
transaction set ``convoc.audit_retention`` to ``on`` (``SET LOCAL``): nothing else can. SQLite's
triggers are unchanged; the job drops and recreates the DELETE one inside its own transaction
(DDL is transactional there).

Revision ID: a7d4c9e5f3b2
Revises: e5b2a7c3d1f0
Create Date: 2026-12-04 17:20:00.000000+00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import app.core.types

revision: str = "a7d4c9e5f3b2"
down_revision: str | None = "e5b2a7c3d1f0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _common(table: str) -> list[Any]:
    return [
        sa.Column("purged_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.ForeignKeyConstraint(
            ["spip_id"], ["spip.id"], name=op.f(f"fk_{table}_spip_id_spip"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        "attendance_purged",
        sa.Column("spip_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("appointment_type_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("place_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("reminder_outcome", sa.String(length=20), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_type_id"],
            ["appointment_type.id"],
            name=op.f("fk_attendance_purged_appointment_type_id_appointment_type"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agent.id"],
            name=op.f("fk_attendance_purged_agent_id_agent"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["place.id"],
            name=op.f("fk_attendance_purged_place_id_place"),
            ondelete="SET NULL",
        ),
        *_common("attendance_purged"),
    )
    op.create_index(
        "ix_attendance_purged_month_spip_id", "attendance_purged", ["month", "spip_id"]
    )
    op.create_table(
        "sms_purged",
        sa.Column("spip_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("provider", sa.String(length=30), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        *_common("sms_purged"),
    )
    op.create_index("ix_sms_purged_month_spip_id", "sms_purged", ["month", "spip_id"])
    op.create_table(
        "sms_delay_purged",
        sa.Column("spip_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("provider", sa.String(length=30), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        *_common("sms_delay_purged"),
    )
    op.create_index(
        "ix_sms_delay_purged_month_spip_id", "sms_delay_purged", ["month", "spip_id"]
    )
    if op.get_bind().dialect.name == "postgresql":
        # Only a transaction that said SET LOCAL convoc.audit_retention = 'on' (the retention
        # job) may delete; UPDATE stays refused for everyone.
        op.execute(
            """
            CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'DELETE'
                   AND current_setting('convoc.audit_retention', true) = 'on' THEN
                    RETURN OLD;
                END IF;
                RAISE EXCEPTION 'audit_event is append-only';
            END;
            $$ LANGUAGE plpgsql
            """
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'audit_event is append-only';
            END;
            $$ LANGUAGE plpgsql
            """
        )
    op.drop_index("ix_sms_delay_purged_month_spip_id", table_name="sms_delay_purged")
    op.drop_table("sms_delay_purged")
    op.drop_index("ix_sms_purged_month_spip_id", table_name="sms_purged")
    op.drop_table("sms_purged")
    op.drop_index("ix_attendance_purged_month_spip_id", table_name="attendance_purged")
    op.drop_table("attendance_purged")
