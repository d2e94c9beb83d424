"""A change of a place: saved by the spips service, then, when its time zone or its public
holidays' territory changes, the unsent reminders of its future convocations planned again.

The convocations keep their instant (the start stored in UTC is what the agent booked); the
reminders are computed on the place's local calendar and clock (« J-2 à 10h00 »), so a new
zone moves them. ``app.spips`` is below the reminders and cannot call them: this use case,
above both, is what the API's ``PATCH /places/{id}`` and the administration page call."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import utcnow
from app.models import Appointment, AppointmentStatus, Place
from app.reminders import service
from app.spips import service as spip_service
from app.spips.schemas import PlaceUpdate


@dataclass(frozen=True)
class PlaceChange:
    place: Place
    replanned: int  # reminder rows cancelled or added by the re-plan (0: nothing moved)


async def change_place(session: AsyncSession, *, place: Place, data: PlaceUpdate) -> PlaceChange:
    before = (place.timezone, place.holiday_territory)
    await spip_service.update_place(session, place=place, data=data)
    if (place.timezone, place.holiday_territory) == before:
        return PlaceChange(place, 0)
    # A new territory moves only the reminders of a SPIP that avoids closed days; re-planning
    # the others changes nothing (a reminder due at the same instant keeps its row).
    return PlaceChange(place, await replan_place(session, place.id))


async def replan_place(session: AsyncSession, place_id: int) -> int:
    """Re-plan the unsent reminders of the place's future booked convocations; return how
    many rows were cancelled or added (``service.replan``: a reminder still due at the same
    instant keeps its row, one already sent is never repeated)."""
    stmt = (
        select(Appointment)
        .where(
            Appointment.place_id == place_id,
            Appointment.status == AppointmentStatus.booked.value,
            Appointment.starts_at > utcnow(),
        )
        .order_by(Appointment.id)
    )
    changed = 0
    for appointment in list(await session.scalars(stmt)):
        changed += await service.replan(session, appointment)
    return changed
