"""Courts and their clerks' « sortie d'audience » bookings.

A clerk sees only the agendas that the SPIPs linked to its (active) court open to the courts,
books into their slots through the ordinary booking use case, and reads back only its court's
bookings. Nothing here gives a clerk a person's file, another convocation or a timeline.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agendas import service as agenda_service
from app.agendas.errors import AgendaNotFound, SlotNotFound
from app.agendas.schemas import SlotView
from app.appointments import service as appointment_service
from app.appointments.errors import AppointmentNotFound, DuplicateAppointment, StartsInPast
from app.appointments.schemas import AppointmentCreate
from app.core.localtime import zone
from app.core.repository import apply_changes, get_or_raise
from app.courts.errors import (
    CourtDuplicateAppointment,
    CourtNameTaken,
    CourtNotFound,
    CourtSpipUnknown,
    NotACandidate,
)
from app.courts.schemas import (
    CourtAgenda,
    CourtBookingCreate,
    CourtCreate,
    CourtPerson,
    CourtUpdate,
    DayAvailability,
)
from app.models import Agenda, Agent, Appointment, Court, Person, Place, Slot, Spip, court_spip
from app.persons import service as person_service
from app.persons.duplicates import likely_duplicates
from app.persons.schemas import PersonCreate

# The usual type of a « sortie d'audience » convocation, when the agenda accepts every type.
DEFAULT_TYPE = "sortie_audience_spip"

# ------------------------------------------------------------------ courts (national admins)


async def list_courts(session: AsyncSession) -> list[Court]:
    return list((await session.scalars(select(Court).order_by(Court.name, Court.id))).all())


async def get_court(session: AsyncSession, court_id: int) -> Court:
    return await get_or_raise(session, Court, court_id, CourtNotFound)


async def court_spip_ids(session: AsyncSession, court_id: int) -> list[int]:
    stmt = (
        select(court_spip.c.spip_id)
        .where(court_spip.c.court_id == court_id)
        .order_by(court_spip.c.spip_id)
    )
    return list((await session.scalars(stmt)).all())


async def _ensure_name_free(session: AsyncSession, name: str, *, except_id: int | None) -> None:
    existing = await session.scalar(select(Court.id).where(Court.name == name))
    if existing is not None and existing != except_id:
        raise CourtNameTaken(field="name")


async def _set_spips(session: AsyncSession, court: Court, spip_ids: list[int]) -> None:
    wanted = sorted(set(spip_ids))
    known = set(await session.scalars(select(Spip.id).where(Spip.id.in_(wanted))))
    if missing := [i for i in wanted if i not in known]:
        raise CourtSpipUnknown(
            f"SPIP inconnu dans « spip_ids » : {', '.join(map(str, missing))}.", field="spip_ids"
        )
    await session.execute(delete(court_spip).where(court_spip.c.court_id == court.id))
    if wanted:
        await session.execute(
            insert(court_spip), [{"court_id": court.id, "spip_id": i} for i in wanted]
        )


async def create_court(session: AsyncSession, *, data: CourtCreate) -> Court:
    await _ensure_name_free(session, data.name, except_id=None)
    court = Court(name=data.name, active=True)
    session.add(court)
    await session.flush()
    await _set_spips(session, court, data.spip_ids)
    await session.flush()
    return court


async def update_court(session: AsyncSession, *, court: Court, data: CourtUpdate) -> Court:
    """Rename, (de)activate, and replace the linked SPIPs when ``spip_ids`` is sent."""
    changes = data.patch_values()
    spip_ids = changes.pop("spip_ids", None)
    if "name" in changes:
        await _ensure_name_free(session, changes["name"], except_id=court.id)
    apply_changes(court, changes)
    if spip_ids is not None:
        await _set_spips(session, court, spip_ids)
    await session.flush()
    return court


# ------------------------------------------------------------------ what a clerk sees


def _visible_agendas(agent: Agent) -> Select[Agenda, Place, Spip]:
    """Agendas in use, open to the courts, of active places of the SPIPs linked to the clerk's
    active court. Nothing for an agent without a court."""
    return (
        select(Agenda, Place, Spip)
        .join(Place, Place.id == Agenda.place_id)
        .join(Spip, Spip.id == Agenda.spip_id)
        .join(court_spip, court_spip.c.spip_id == Agenda.spip_id)
        .join(Court, Court.id == court_spip.c.court_id)
        .where(
            Court.id == agent.court_id,
            Court.active.is_(True),
            Agenda.active.is_(True),
            Agenda.open_to_courts.is_(True),
            Place.active.is_(True),
        )
    )


async def court_agendas(session: AsyncSession, *, agent: Agent) -> list[CourtAgenda]:
    if agent.court_id is None:
        return []
    stmt = _visible_agendas(agent).order_by(Spip.name, Place.name, Agenda.name, Agenda.id)
    return [CourtAgenda(a, p, s) for a, p, s in (await session.execute(stmt)).all()]


async def get_court_agenda(session: AsyncSession, *, agent: Agent, agenda_id: int) -> CourtAgenda:
    """The agenda if this clerk may book into it; else 404, whether or not it exists."""
    if agent.court_id is None:
        raise AgendaNotFound()
    row = (await session.execute(_visible_agendas(agent).where(Agenda.id == agenda_id))).first()
    if row is None:
        raise AgendaNotFound()
    return CourtAgenda(row[0], row[1], row[2])


def _day_bounds(tz_name: str, first: date, last: date) -> tuple[datetime, datetime]:
    """UTC bounds of local days [first, last]. Midnight exists in every French zone on every
    day (DST changes happen at 01:00 UTC, 02:00 or 03:00 local), so no gap or fold here."""
    tz = zone(tz_name)
    start = datetime.combine(first, time(), tz)
    end = datetime.combine(last + timedelta(days=1), time(), tz)
    return start.astimezone(zone("UTC")), end.astimezone(zone("UTC"))


async def month_availability(
    session: AsyncSession, *, item: CourtAgenda, month: date, now: datetime
) -> list[DayAvailability]:
    """Each local day of ``month`` (the place's zone): free seats in the agenda's bookable slots
    (open, not started) and how many such slots there are, full ones included.

    One query over the month's slots; they are grouped by local day here, because grouping by
    a zone's local date in SQL differs between PostgreSQL (``AT TIME ZONE``) and SQLite (no
    zone database), and a month of one agenda is a few hundred rows at most."""
    first = month.replace(day=1)
    last = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    start, end = _day_bounds(item.place.timezone, first, last)
    rows = await session.execute(
        select(Slot.starts_at, Slot.capacity, Slot.booked).where(
            Slot.agenda_id == item.agenda.id,
            Slot.starts_at >= start,
            Slot.starts_at < end,
            Slot.starts_at > now,
            Slot.closed.is_(False),
        )
    )
    tz = zone(item.place.timezone)
    free: dict[date, int] = defaultdict(int)
    count: dict[date, int] = defaultdict(int)
    for starts_at, capacity, booked in rows:
        day = starts_at.astimezone(tz).date()
        free[day] += max(capacity - booked, 0)
        count[day] += 1
    days = (first + timedelta(days=k) for k in range((last - first).days + 1))
    return [DayAvailability(d, free[d], count[d]) for d in days]


async def day_slots(
    session: AsyncSession, *, item: CourtAgenda, day: date, now: datetime
) -> list[SlotView]:
    """The agenda's open slots of that local day not started yet, full ones included (the page
    says « complet »)."""
    views = await agenda_service.list_slots(
        session, place=item.place, agenda_id=item.agenda.id, first=day, last=day
    )
    return [v for v in views if not v.slot.closed and v.slot.starts_at > now]


# ------------------------------------------------------------------ booking


async def _person_for(
    session: AsyncSession, *, spip: Spip, data: CourtBookingCreate, described: CourtPerson
) -> Person:
    """The person to convoke: created in the slot's SPIP, or the existing file the duplicate
    warning named, which the clerk may take only if it matches the person described."""
    if data.person_id is None:
        return await person_service.create_person(
            session,
            data=PersonCreate(
                spip_id=spip.id,
                first_name=described.first_name,
                last_name=described.last_name,
                birth_date=described.birth_date,
                phone=described.phone,
                phone_status=described.phone_status,
                allow_duplicate=data.allow_duplicate,
            ),
        )
    phone, _ = person_service.resolve_phone(
        spip=spip, raw_phone=described.phone, status=described.phone_status
    )
    candidates = await likely_duplicates(
        session,
        spip_id=spip.id,
        first_name=described.first_name,
        last_name=described.last_name,
        birth_date=described.birth_date,
        phone=phone,
    )
    for candidate in candidates:
        if candidate.id == data.person_id:
            return candidate
    raise NotACandidate(field="person_id")


def _type_code(agenda: Agenda, asked: str | None) -> str:
    if asked is not None:
        return asked
    return agenda.appointment_types[0] if agenda.appointment_types else DEFAULT_TYPE


async def book(
    session: AsyncSession, *, agent: Agent, data: CourtBookingCreate, now: datetime
) -> Appointment:
    """Book the person standing at the clerk's desk into a slot of an agenda open to the court.

    The slot must be visible to this clerk (else 404 ``slot_not_found``); every other check —
    open, not started, a seat left (409 ``slot_full``, race-free), the type accepted — and the
    SMS plan are the ordinary booking's, with the summons sent at once: the SMS confirms the
    paper the person leaves with."""
    assert data.person is not None  # CourtBookingCreate requires it
    slot = await session.get(Slot, data.slot_id)
    if slot is None:
        raise SlotNotFound()
    try:
        item = await get_court_agenda(session, agent=agent, agenda_id=slot.agenda_id)
    except AgendaNotFound:
        raise SlotNotFound() from None
    if slot.starts_at <= now:
        raise StartsInPast(field="slot_id")
    person = await _person_for(session, spip=item.spip, data=data, described=data.person)
    request = AppointmentCreate(
        person_id=person.id,
        appointment_type=_type_code(item.agenda, data.appointment_type),
        slot_id=slot.id,
        send_summons=True,
    )
    try:
        view = await appointment_service.book(
            session, data=request, created_by_id=agent.id, booker_role=agent.role
        )
    except DuplicateAppointment:
        raise CourtDuplicateAppointment() from None
    appointment = view.appointment
    appointment.court_id = agent.court_id
    await session.flush()
    return appointment


async def court_bookings(
    session: AsyncSession, *, agent: Agent, limit: int = 50
) -> list[Appointment]:
    """The clerk's court's bookings, newest first."""
    if agent.court_id is None:
        return []
    stmt = (
        select(Appointment)
        .where(Appointment.court_id == agent.court_id)
        .order_by(Appointment.created_at.desc(), Appointment.id.desc())
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())


async def get_court_booking(
    session: AsyncSession, *, agent: Agent, appointment_id: int
) -> Appointment:
    appointment = await session.get(Appointment, appointment_id)
    if appointment is None or agent.court_id is None or appointment.court_id != agent.court_id:
        raise AppointmentNotFound()
    return appointment
