from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Index,
    String,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.types import UtcDateTime
from app.models.base import Base, IdMixin, TimestampMixin, enum_check


class AppointmentStatus(StrEnum):
    booked = "booked"
    cancelled = "cancelled"
    honored = "honored"
    missed = "missed"
    excused = "excused"


class CancelReason(StrEnum):
    cancelled = "cancelled"  # cancelled by an agent
    rescheduled = "rescheduled"  # replaced by a new convocation (rescheduled_from_id points back)


class AppointmentType(IdMixin, Base):
    __tablename__ = "appointment_type"

    code: Mapped[str] = mapped_column(String(50), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    default_duration_minutes: Mapped[int]
    # Home visits are not announced by SMS by default.
    sms_enabled: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)


class Appointment(IdMixin, TimestampMixin, Base):
    """A convocation. ``starts_at`` is a UTC instant; its local reading is the place's zone."""

    __tablename__ = "appointment"
    __table_args__ = (
        enum_check("status", AppointmentStatus),
        CheckConstraint(
            "cancel_reason IS NULL OR cancel_reason IN ('cancelled', 'rescheduled')",
            name="cancel_reason_allowed",
        ),
        CheckConstraint("duration_minutes > 0 AND duration_minutes <= 1440", name="duration_range"),
        # Agents' lists and reports filter a SPIP's convocations by period.
        Index("ix_appointment_spip_id_starts_at", "spip_id", "starts_at"),
        Index("ix_appointment_person_id_starts_at", "person_id", "starts_at"),
        Index("ix_appointment_agent_id_starts_at", "agent_id", "starts_at"),
        # Convocations still waiting for their outcome: the « à renseigner » counts and lists.
        # Queries compare status with the literal (``has_status``) for PostgreSQL
        # to prove the predicate under a generic prepared plan.
        Index(
            "ix_appointment_booked_spip_id_starts_at",
            "spip_id",
            "starts_at",
            postgresql_where=text("status = 'booked'"),
            sqlite_where=text("status = 'booked'"),
        ),
    )

    # Denormalised from the place so per-SPIP scoping and reports need no join.
    spip_id: Mapped[int] = mapped_column(ForeignKey("spip.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id", ondelete="RESTRICT"), index=True)
    appointment_type_id: Mapped[int] = mapped_column(
        ForeignKey("appointment_type.id", ondelete="RESTRICT"), index=True
    )
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    duration_minutes: Mapped[int]
    status: Mapped[str] = mapped_column(String(12), default=AppointmentStatus.booked.value)
    summons_requested: Mapped[bool] = mapped_column(default=False)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    cancel_reason: Mapped[str | None] = mapped_column(String(20))
    outcome_recorded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    outcome_recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("agent.id", ondelete="SET NULL")
    )
    rescheduled_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment.id", ondelete="SET NULL"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))
    # The slot it holds a seat in (``app.agendas``); a cancelled one keeps it for history.
    slot_id: Mapped[int | None] = mapped_column(
        ForeignKey("slot.id", ondelete="SET NULL"), index=True
    )
    # The court whose clerk booked it (« sortie d'audience »); ``created_by_id`` is the clerk.
    court_id: Mapped[int | None] = mapped_column(
        ForeignKey("court.id", ondelete="RESTRICT"), index=True
    )


def has_status(status: AppointmentStatus) -> ColumnElement[bool]:
    """``appointment.status = 'booked'`` with the value written into the SQL, not bound.

    A partial index (``ix_appointment_booked_spip_id_starts_at``) serves only queries whose WHERE
    implies its predicate; PostgreSQL cannot prove that from ``status = $1`` once it switches a
    prepared statement to a generic plan. The value comes from the enum, never from input.
    """
    return Appointment.status == literal_column(f"'{AppointmentStatus(status).value}'")
