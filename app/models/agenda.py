"""Agendas, their recurring openings (slot types) and the slots convocations are booked into."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Time,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.types import UtcDateTime
from app.models.base import Base, IdMixin, TimestampMixin


class Agenda(IdMixin, TimestampMixin, Base):
    """An agenda of a place: a CPIP's, a collective intake, the SAP's. Its zone is its place's."""

    __tablename__ = "agenda"

    # Denormalised from the place so per-SPIP scoping needs no join.
    spip_id: Mapped[int] = mapped_column(ForeignKey("spip.id", ondelete="RESTRICT"), index=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agent.id", ondelete="SET NULL"), index=True
    )
    # Codes of the appointment types it accepts; empty: every type.
    appointment_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    # « Sortie d'audience »: the clerks of the courts linked to the SPIP may book its slots.
    open_to_courts: Mapped[bool] = mapped_column(default=False, server_default=false())


class SlotType(IdMixin, TimestampMixin, Base):
    """A recurring opening: every ISO ``weekday`` at ``start_time`` (the place's local time)."""

    __tablename__ = "slot_type"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 1 AND 7", name="weekday_range"),
        CheckConstraint("duration_minutes > 0 AND duration_minutes <= 1440", name="duration_range"),
        CheckConstraint("capacity >= 1 AND capacity <= 1000", name="capacity_range"),
        CheckConstraint("to_date IS NULL OR to_date >= from_date", name="dates_ordered"),
    )

    agenda_id: Mapped[int] = mapped_column(ForeignKey("agenda.id", ondelete="RESTRICT"), index=True)
    weekday: Mapped[int]
    start_time: Mapped[time] = mapped_column(Time())
    duration_minutes: Mapped[int]
    capacity: Mapped[int]
    from_date: Mapped[date] = mapped_column(Date())
    to_date: Mapped[date | None] = mapped_column(Date())
    # Deleting a slot type ends it (its past and booked slots keep pointing at it).
    active: Mapped[bool] = mapped_column(default=True)


class Slot(IdMixin, TimestampMixin, Base):
    """A bookable instant of an agenda for ``capacity`` people; ``booked`` seats are taken.

    ``booked`` is a counter changed only by atomic conditional UPDATEs (``app.agendas.seats``);
    the CHECK makes overbooking impossible even for a statement that forgot the condition.
    """

    __tablename__ = "slot"
    __table_args__ = (
        # One slot per agenda and instant (so per slot type and start): generation is idempotent.
        UniqueConstraint("agenda_id", "starts_at", name="uq_slot_agenda_id_starts_at"),
        CheckConstraint("duration_minutes > 0 AND duration_minutes <= 1440", name="duration_range"),
        CheckConstraint("capacity >= 1 AND capacity <= 1000", name="capacity_range"),
        CheckConstraint("booked >= 0 AND booked <= capacity", name="booked_within_capacity"),
        # Free-slot search of a place over a period.
        Index("ix_slot_place_id_starts_at", "place_id", "starts_at"),
    )

    agenda_id: Mapped[int] = mapped_column(ForeignKey("agenda.id", ondelete="RESTRICT"))
    # Denormalised from the agenda so listing a place's slots needs no join.
    spip_id: Mapped[int] = mapped_column(ForeignKey("spip.id", ondelete="RESTRICT"), index=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("place.id", ondelete="RESTRICT"))
    slot_type_id: Mapped[int | None] = mapped_column(
        ForeignKey("slot_type.id", ondelete="SET NULL"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    duration_minutes: Mapped[int]
    capacity: Mapped[int]
    booked: Mapped[int] = mapped_column(default=0)
    closed: Mapped[bool] = mapped_column(default=False)
