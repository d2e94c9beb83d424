"""A court's bookings as its clerk reads them: the printable summary handed to the person."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.localtime import zone
from app.courts.schemas import CourtBookingRead
from app.models import (
    Agenda,
    Appointment,
    AppointmentType,
    Notification,
    NotificationKind,
    NotificationStatus,
    Person,
    Place,
    Slot,
    Spip,
)
from app.persons.phones import mask_phone
from app.reminders.templates import french_date, french_hour


async def booking_reads(
    session: AsyncSession, appointments: list[Appointment]
) -> list[CourtBookingRead]:
    """One query for the convocations' person, place, SPIP, type and agenda, one for their
    summons SMS."""
    if not appointments:
        return []
    ids = [a.id for a in appointments]
    rows = await session.execute(
        select(Appointment.id, Person, Place, Spip, AppointmentType, Agenda)
        .join(Person, Person.id == Appointment.person_id)
        .join(Place, Place.id == Appointment.place_id)
        .join(Spip, Spip.id == Appointment.spip_id)
        .join(AppointmentType, AppointmentType.id == Appointment.appointment_type_id)
        .outerjoin(Slot, Slot.id == Appointment.slot_id)
        .outerjoin(Agenda, Agenda.id == Slot.agenda_id)
        .where(Appointment.id.in_(ids))
    )
    parts = {row[0]: row[1:] for row in rows}
    summons = {
        n.appointment_id: n
        for n in await session.scalars(
            select(Notification)
            .where(
                Notification.appointment_id.in_(ids),
                Notification.kind == NotificationKind.summons.value,
            )
            .order_by(Notification.sequence)
        )
    }
    return [_read(a, *parts[a.id], summons.get(a.id)) for a in appointments]


def _read(
    a: Appointment,
    person: Person,
    place: Place,
    spip: Spip,
    kind: AppointmentType,
    agenda: Agenda | None,
    summons: Notification | None,
) -> CourtBookingRead:
    local = a.starts_at.astimezone(zone(place.timezone))
    assert a.court_id is not None
    return CourtBookingRead(
        id=a.id,
        status=a.status,
        person_first_name=person.first_name,
        person_last_name=person.last_name,
        starts_at=a.starts_at,
        starts_at_local=local.isoformat(),
        date_label=french_date(local),
        time_label=french_hour(local),
        timezone=place.timezone,
        duration_minutes=a.duration_minutes,
        place_name=place.name,
        place_address=place.address,
        place_phone=place.phone,
        place_info_url=place.info_url,
        agenda_id=agenda.id if agenda else None,
        agenda_name=agenda.name if agenda else None,
        spip_name=spip.name,
        appointment_type=kind.code,
        appointment_type_label=kind.label,
        summons_status=NotificationStatus(summons.status) if summons else None,
        summons_reason=summons.reason if summons else None,
        phone_masked=mask_phone(person.phone) if person.phone else None,
        court_id=a.court_id,
        created_by_id=a.created_by_id,
        created_at=a.created_at,
    )
