"""A convocation that overlaps another of the same person is most likely a double booking."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments.errors import DuplicateAppointment
from app.core.localtime import zone
from app.models import Appointment, AppointmentStatus
from app.reminders import templates as reminder_templates
from app.spips import service as spip_service

# The longest a convocation may last (``duration_minutes``): how far back an overlap can start.
LONGEST_DURATION = timedelta(minutes=1440)


async def check_no_overlap(
    session: AsyncSession,
    *,
    person_id: int,
    starts_at: datetime,
    duration_minutes: int,
    allowed: bool,
    exclude_id: int | None = None,
) -> None:
    """Refuse (409 ``duplicate_appointment``) a convocation of a person overlapping another of
    their booked ones, unless the agent confirmed it (``allow_duplicate``)."""
    if allowed:
        return
    ends_at = starts_at + timedelta(minutes=duration_minutes)
    candidates = await session.scalars(
        select(Appointment)
        .where(
            Appointment.person_id == person_id,
            Appointment.status == AppointmentStatus.booked.value,
            Appointment.starts_at < ends_at,
            Appointment.starts_at > starts_at - LONGEST_DURATION,
        )
        .order_by(Appointment.starts_at, Appointment.id)
    )
    for other in candidates:
        other_end = other.starts_at + timedelta(minutes=other.duration_minutes)
        if other.id == exclude_id or other_end <= starts_at:
            continue
        place = await spip_service.get_place(session, other.place_id)
        local = other.starts_at.astimezone(zone(place.timezone))
        raise DuplicateAppointment(
            "Cette personne a déjà une convocation qui chevauche ce créneau : le "
            f"{reminder_templates.french_date(local)} à {reminder_templates.french_hour(local)} "
            f"({place.name}). Pour la convoquer quand même, confirmez avec "
            "« allow_duplicate »: true.",
            appointment_id=other.id,
        )
