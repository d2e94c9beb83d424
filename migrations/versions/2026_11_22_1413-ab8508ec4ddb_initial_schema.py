"""initial schema: SPIPs, places, agents, persons, convocations, seeded convocation types

Revision ID: ab8508ec4ddb
Revises:
Create Date: 2026-11-22 14:13:24.383437+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.types


revision: str = "ab8508ec4ddb"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The usual SPIP / SAP convocation types. Seeded here so every environment, production included,
# starts with them; agents' labels are French.
APPOINTMENT_TYPES = [
    ("premier_rdv_spip", "1er rendez-vous de suivi SPIP", 60, True),
    ("suivi_spip", "Rendez-vous de suivi SPIP", 45, True),
    ("sortie_audience_spip", "Convocation SPIP en sortie d'audience", 60, True),
    ("sortie_audience_sap", "Convocation SAP en sortie d'audience", 30, True),
    ("rdv_jap", "Rendez-vous avec le juge de l'application des peines", 30, True),
    ("tig", "Travail d'intérêt général (TIG)", 60, True),
    ("surveillance_electronique", "Rendez-vous de surveillance électronique", 45, True),
    ("visite_domicile", "Visite à domicile", 60, False),
]


def upgrade() -> None:
    op.create_table(
        "appointment_type",
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("default_duration_minutes", sa.Integer(), nullable=False),
        sa.Column("sms_enabled", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment_type")),
        sa.UniqueConstraint("code", name=op.f("uq_appointment_type_code")),
    )
    op.create_table(
        "spip",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("phone_region", sa.String(length=2), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("created_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spip")),
        sa.UniqueConstraint("code", name=op.f("uq_spip_code")),
    )
    op.create_table(
        "agent",
        sa.Column("spip_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("created_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('cpip', 'secretariat', 'manager', 'local_admin', 'admin')",
            name=op.f("ck_agent_role_allowed"),
        ),
        sa.ForeignKeyConstraint(
            ["spip_id"], ["spip.id"], name=op.f("fk_agent_spip_id_spip"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent")),
        sa.UniqueConstraint("email", name=op.f("uq_agent_email")),
    )
    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_spip_id"), ["spip_id"], unique=False)

    op.create_table(
        "place",
        sa.Column("spip_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("info_url", sa.String(length=500), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("created_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["spip_id"], ["spip.id"], name=op.f("fk_place_spip_id_spip"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_place")),
    )
    with op.batch_alter_table("place", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_place_spip_id"), ["spip_id"], unique=False)

    op.create_table(
        "person",
        sa.Column("spip_id", sa.Integer(), nullable=False),
        sa.Column("referent_agent_id", sa.Integer(), nullable=True),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("phone_status", sa.String(length=10), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("archived_at", app.core.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("created_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "phone_status <> 'valid' OR phone IS NOT NULL",
            name=op.f("ck_person_valid_phone_present"),
        ),
        sa.CheckConstraint(
            "phone_status IN ('valid', 'none', 'refused')",
            name=op.f("ck_person_phone_status_allowed"),
        ),
        sa.ForeignKeyConstraint(
            ["referent_agent_id"],
            ["agent.id"],
            name=op.f("fk_person_referent_agent_id_agent"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["spip_id"], ["spip.id"], name=op.f("fk_person_spip_id_spip"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
    )
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_person_referent_agent_id"), ["referent_agent_id"], unique=False
        )
        batch_op.create_index("ix_person_spip_id_last_name", ["spip_id", "last_name"], unique=False)

    op.create_table(
        "appointment",
        sa.Column("spip_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("appointment_type_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("starts_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("summons_requested", sa.Boolean(), nullable=False),
        sa.Column("cancelled_at", app.core.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.String(length=20), nullable=True),
        sa.Column("outcome_recorded_at", app.core.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("outcome_recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("rescheduled_from_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("created_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.core.types.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "cancel_reason IS NULL OR cancel_reason IN ('cancelled', 'rescheduled')",
            name=op.f("ck_appointment_cancel_reason_allowed"),
        ),
        sa.CheckConstraint(
            "status IN ('booked', 'cancelled', 'honored', 'missed', 'excused')",
            name=op.f("ck_appointment_status_allowed"),
        ),
        sa.CheckConstraint(
            "duration_minutes > 0 AND duration_minutes <= 1440",
            name=op.f("ck_appointment_duration_range"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agent.id"],
            name=op.f("fk_appointment_agent_id_agent"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["appointment_type_id"],
            ["appointment_type.id"],
            name=op.f("fk_appointment_appointment_type_id_appointment_type"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["agent.id"],
            name=op.f("fk_appointment_created_by_id_agent"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["outcome_recorded_by_id"],
            ["agent.id"],
            name=op.f("fk_appointment_outcome_recorded_by_id_agent"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_appointment_person_id_person"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["place.id"],
            name=op.f("fk_appointment_place_id_place"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["rescheduled_from_id"],
            ["appointment.id"],
            name=op.f("fk_appointment_rescheduled_from_id_appointment"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["spip_id"], ["spip.id"], name=op.f("fk_appointment_spip_id_spip"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment")),
    )
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.create_index(
            "ix_appointment_agent_id_starts_at", ["agent_id", "starts_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_appointment_appointment_type_id"), ["appointment_type_id"], unique=False
        )
        batch_op.create_index(
            "ix_appointment_person_id_starts_at", ["person_id", "starts_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_appointment_place_id"), ["place_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_appointment_rescheduled_from_id"), ["rescheduled_from_id"], unique=False
        )
        batch_op.create_index(
            "ix_appointment_spip_id_starts_at", ["spip_id", "starts_at"], unique=False
        )

    appointment_type = sa.table(
        "appointment_type",
        sa.column("code", sa.String),
        sa.column("label", sa.String),
        sa.column("default_duration_minutes", sa.Integer),
        sa.column("sms_enabled", sa.Boolean),
        sa.column("active", sa.Boolean),
    )
    op.bulk_insert(
        appointment_type,
        [
            {
                "code": code,
                "label": label,
                "default_duration_minutes": minutes,
                "sms_enabled": sms,
                "active": True,
            }
            for code, label, minutes, sms in APPOINTMENT_TYPES
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.drop_index("ix_appointment_spip_id_starts_at")
        batch_op.drop_index(batch_op.f("ix_appointment_rescheduled_from_id"))
        batch_op.drop_index(batch_op.f("ix_appointment_place_id"))
        batch_op.drop_index("ix_appointment_person_id_starts_at")
        batch_op.drop_index(batch_op.f("ix_appointment_appointment_type_id"))
        batch_op.drop_index("ix_appointment_agent_id_starts_at")

    op.drop_table("appointment")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index("ix_person_spip_id_last_name")
        batch_op.drop_index(batch_op.f("ix_person_referent_agent_id"))

    op.drop_table("person")
    with op.batch_alter_table("place", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_place_spip_id"))

    op.drop_table("place")
    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_spip_id"))

    op.drop_table("agent")
    op.drop_table("spip")
    op.drop_table("appointment_type")
