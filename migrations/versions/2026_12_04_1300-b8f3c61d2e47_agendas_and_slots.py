"""agendas and slots: agendas of a place, recurring slot types, slots with a seat counter

``slot.booked`` counts the seats taken; bookings change it with conditional UPDATEs and a CHECK
keeps it within ``capacity`` (docs/agendas.md). ``appointment.slot_id`` names the slot a
convocation holds a seat in. One slot per agenda and instant makes generation idempotent.

Revision ID: b8f3c61d2e47
Revises: 1539451f7f3c
Create Date: 2026-12-04 13:00:00.000000+00:00
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from app.core.types import UtcDateTime

revision: str = "b8f3c61d2e47"
down_revision: str | None = "1539451f7f3c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agenda",
        sa.Column("spip_id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("appointment_types", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agent.id"], name=op.f("fk_agenda_agent_id_agent"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["place_id"], ["place.id"], name=op.f("fk_agenda_place_id_place"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["spip_id"], ["spip.id"], name=op.f("fk_agenda_spip_id_spip"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agenda")),
    )
    with op.batch_alter_table("agenda", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agenda_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_agenda_place_id"), ["place_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_agenda_spip_id"), ["spip_id"], unique=False)

    op.create_table(
        "slot_type",
        sa.Column("agenda_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("from_date", sa.Date(), nullable=False),
        sa.Column("to_date", sa.Date(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "capacity >= 1 AND capacity <= 1000", name=op.f("ck_slot_type_capacity_range")
        ),
        sa.CheckConstraint(
            "duration_minutes > 0 AND duration_minutes <= 1440",
            name=op.f("ck_slot_type_duration_range"),
        ),
        sa.CheckConstraint(
            "to_date IS NULL OR to_date >= from_date", name=op.f("ck_slot_type_dates_ordered")
        ),
        sa.CheckConstraint("weekday BETWEEN 1 AND 7", name=op.f("ck_slot_type_weekday_range")),
        sa.ForeignKeyConstraint(
            ["agenda_id"],
            ["agenda.id"],
            name=op.f("fk_slot_type_agenda_id_agenda"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slot_type")),
    )
    with op.batch_alter_table("slot_type", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_slot_type_agenda_id"), ["agenda_id"], unique=False)

    op.create_table(
        "slot",
        sa.Column("agenda_id", sa.Integer(), nullable=False),
        sa.Column("spip_id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("slot_type_id", sa.Integer(), nullable=True),
        sa.Column("starts_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "booked >= 0 AND booked <= capacity", name=op.f("ck_slot_booked_within_capacity")
        ),
        sa.CheckConstraint(
            "capacity >= 1 AND capacity <= 1000", name=op.f("ck_slot_capacity_range")
        ),
        sa.CheckConstraint(
            "duration_minutes > 0 AND duration_minutes <= 1440", name=op.f("ck_slot_duration_range")
        ),
        sa.ForeignKeyConstraint(
            ["agenda_id"], ["agenda.id"], name=op.f("fk_slot_agenda_id_agenda"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["place_id"], ["place.id"], name=op.f("fk_slot_place_id_place"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["slot_type_id"],
            ["slot_type.id"],
            name=op.f("fk_slot_slot_type_id_slot_type"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["spip_id"], ["spip.id"], name=op.f("fk_slot_spip_id_spip"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slot")),
        sa.UniqueConstraint("agenda_id", "starts_at", name="uq_slot_agenda_id_starts_at"),
    )
    with op.batch_alter_table("slot", schema=None) as batch_op:
        batch_op.create_index("ix_slot_place_id_starts_at", ["place_id", "starts_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_slot_slot_type_id"), ["slot_type_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_slot_spip_id"), ["spip_id"], unique=False)

    _without_foreign_keys_on_sqlite(_add_appointment_slot_id)


def downgrade() -> None:
    _without_foreign_keys_on_sqlite(_drop_appointment_slot_id)

    with op.batch_alter_table("slot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slot_spip_id"))
        batch_op.drop_index(batch_op.f("ix_slot_slot_type_id"))
        batch_op.drop_index("ix_slot_place_id_starts_at")

    op.drop_table("slot")
    with op.batch_alter_table("slot_type", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slot_type_agenda_id"))

    op.drop_table("slot_type")
    with op.batch_alter_table("agenda", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agenda_spip_id"))
        batch_op.drop_index(batch_op.f("ix_agenda_place_id"))
        batch_op.drop_index(batch_op.f("ix_agenda_agent_id"))

    op.drop_table("agenda")


def _add_appointment_slot_id() -> None:
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slot_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_appointment_slot_id"), ["slot_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_appointment_slot_id_slot"),
            "slot",
            ["slot_id"],
            ["id"],
            ondelete="SET NULL",
        )


def _drop_appointment_slot_id() -> None:
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointment_slot_id"))
        if op.get_bind().dialect.name != "sqlite":
            batch_op.drop_constraint(batch_op.f("fk_appointment_slot_id_slot"), type_="foreignkey")
        batch_op.drop_column("slot_id")


def _without_foreign_keys_on_sqlite(step: Callable[[], None]) -> None:
    """Run ``step`` with SQLite's foreign keys off. SQLite cannot add or drop a foreign key in
    place, so the batch rebuilds ``appointment``: with foreign keys on, the DROP of the old table
    runs an implicit DELETE through ``notification``'s ON DELETE CASCADE and every message is
    lost. The pragma is ignored inside a transaction, so the step runs between two; the
    references are checked before foreign keys come back on."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        step()
        return
    bind.exec_driver_sql("COMMIT")
    bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
    bind.exec_driver_sql("BEGIN IMMEDIATE")
    step()
    broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    assert not broken, f"références invalides après reconstruction : {broken[:5]}"
    bind.exec_driver_sql("COMMIT")
    bind.exec_driver_sql("PRAGMA foreign_keys=ON")
    bind.exec_driver_sql("BEGIN IMMEDIATE")
