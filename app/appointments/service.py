"""Booking and the lifecycle of convocations."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agendas import seats
from app.agendas import service as agenda_service
from app.agents import service as agent_service
from app.appointments import overlaps, rules
from app.appointments.errors import (
    AppointmentNotFound,
    PersonArchived,
    PlaceInactive,
    PlaceNotInSpip,
    RescheduleUnchanged,
    StartsInPast,
    StartsTooFar,
    UnknownAppointmentType,
)
from app.appointments.holidays import holiday_warnings
from app.appointments.schemas import (
    AppointmentCreate,
    AppointmentFilters,
    AppointmentReschedule,
    AppointmentSort,
    AppointmentView,
    BookingPreviewRead,
    PlannedSmsRead,
)
from app.config import get_settings
from app.core.clock import utcnow
from app.core.localtime import to_utc, zone
from app.core.pagination import PageParams
from app.core.repository import get_or_raise
from app.links import service as link_service
from app.models import (
    Agenda,
    Appointment,
    AppointmentStatus,
    AppointmentType,
    CancelReason,
    Court,
    Notification,
    NotificationKind,
    NotificationStatus,
    Person,
    Place,
    ReminderPolicy,
    Slot,
    Spip,
    has_status,
)
from app.persons import service as person_service
from app.persons.errors import PersonNotFound
from app.reminders import policies as reminder_policies
from app.reminders import preview as reminder_preview
from app.reminders import service as reminder_service
from app.spips import service as spip_service
from app.spips.errors import PlaceNotFound


async def list_types(session: AsyncSession) -> list[AppointmentType]:
    stmt = (
        select(AppointmentType).where(AppointmentType.active.is_(True)).order_by(AppointmentType.id)
    )
    return list((await session.scalars(stmt)).all())


async def get_view(session: AsyncSession, appointment_id: int) -> AppointmentView:
    appointment = await get_or_raise(session, Appointment, appointment_id, AppointmentNotFound)
    return (await _views(session, [appointment]))[0]


async def get_appointment(session: AsyncSession, appointment_id: int) -> Appointment:
    return await get_or_raise(session, Appointment, appointment_id, AppointmentNotFound)


async def _views(session: AsyncSession, appointments: list[Appointment]) -> list[AppointmentView]:
    """Attach place zone, type, successor and next SMS to each convocation: four queries."""
    if not appointments:
        return []
    zones = await _pairs(
        session,
        select(Place.id, Place.timezone).where(Place.id.in_({a.place_id for a in appointments})),
    )
    types = {
        t.id: t
        for t in await session.scalars(
            select(AppointmentType).where(
                AppointmentType.id.in_({a.appointment_type_id for a in appointments})
            )
        )
    }
    upcoming = await reminder_service.next_notification_at(session, [a.id for a in appointments])
    successors = await _pairs(
        session,
        select(Appointment.rescheduled_from_id, Appointment.id).where(
            Appointment.rescheduled_from_id.in_([a.id for a in appointments])
        ),
    )
    courts: dict[int, str] = {}
    if court_ids := {a.court_id for a in appointments if a.court_id is not None}:
        courts = await _pairs(session, select(Court.id, Court.name).where(Court.id.in_(court_ids)))
    return [
        AppointmentView(
            appointment=a,
            timezone=zones[a.place_id],
            type_code=types[a.appointment_type_id].code,
            type_label=types[a.appointment_type_id].label,
            rescheduled_to_id=successors.get(a.id),
            next_notification_at=upcoming.get(a.id),
            court_name=courts.get(a.court_id) if a.court_id is not None else None,
        )
        for a in appointments
    ]


async def _pairs(session: AsyncSession, stmt: Select[Any, Any]) -> dict[Any, Any]:
    return {key: value for key, value in await session.execute(stmt)}


async def list_appointments(
    session: AsyncSession,
    *,
    filters: AppointmentFilters,
    page: PageParams,
    sort: AppointmentSort = AppointmentSort.date,
) -> tuple[list[AppointmentView], int]:
    """A page of convocations and how many match: the count is taken on the filtered table
    alone (no join, no order), the page joins only what its order needs."""
    conditions = await _conditions(session, filters)
    total = await session.scalar(select(func.count(Appointment.id)).where(*conditions))
    stmt = select(Appointment).where(*conditions)
    last = (Appointment.starts_at, Appointment.id)
    if sort is AppointmentSort.person:
        stmt = stmt.join(Person, Person.id == Appointment.person_id).order_by(
            Person.last_name, Person.first_name, *last
        )
    elif sort is AppointmentSort.place:
        stmt = stmt.join(Place, Place.id == Appointment.place_id).order_by(Place.name, *last)
    elif sort is AppointmentSort.date_desc:
        stmt = stmt.order_by(Appointment.starts_at.desc(), Appointment.id.desc())
    else:
        stmt = stmt.order_by(*last)
    rows = (await session.scalars(stmt.limit(page.limit).offset(page.offset))).all()
    return await _views(session, list(rows)), int(total or 0)


async def count_appointments(
    session: AsyncSession,
    *,
    filters: AppointmentFilters,
    excluding: AppointmentStatus | None = None,
) -> int:
    """How many convocations ``list_appointments`` would list (less those ``excluding``), counted
    in the database alone: a banner's count needs no rows, names or SMS."""
    conditions = await _conditions(session, filters)
    if excluding is not None:
        conditions.append(Appointment.status != excluding.value)
    return int(await session.scalar(select(func.count(Appointment.id)).where(*conditions)) or 0)


async def _conditions(
    session: AsyncSession, filters: AppointmentFilters
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    for column, value in (
        (Appointment.spip_id, filters.spip_id),
        (Appointment.person_id, filters.person_id),
        (Appointment.agent_id, filters.agent_id),
        (Appointment.place_id, filters.place_id),
    ):
        if value is not None:
            conditions.append(column == value)
    if filters.status is not None:
        conditions.append(has_status(filters.status))
    if filters.appointment_type is not None:
        type_id = select(AppointmentType.id).where(AppointmentType.code == filters.appointment_type)
        conditions.append(Appointment.appointment_type_id == type_id.scalar_subquery())
    if filters.started is not None:
        now = utcnow()
        conditions.append(
            Appointment.starts_at <= now if filters.started else Appointment.starts_at > now
        )
    tz_name = "UTC"
    if filters.spip_id is not None and (filters.starts_from or filters.starts_to):
        tz_name = (await spip_service.get_spip(session, filters.spip_id)).timezone
    if filters.starts_from is not None:
        conditions.append(Appointment.starts_at >= _bound(filters.starts_from, tz_name, "from"))
    if filters.starts_to is not None:
        conditions.append(Appointment.starts_at < _bound(filters.starts_to, tz_name, "to"))
    return conditions


def _bound(value: datetime | date, tz_name: str, field: str) -> datetime:
    """A filter bound: a date is a whole local day (``to`` is inclusive of that day)."""
    if not isinstance(value, datetime):
        day = value + timedelta(days=1) if field == "to" else value
        value = datetime.combine(day, time())
    return to_utc(value, zone(tz_name), field=field)


def _check_start(starts_at: datetime, now: datetime, *, field: str = "starts_at") -> None:
    if starts_at <= now:
        raise StartsInPast(field=field)
    if starts_at > now + timedelta(days=get_settings().max_booking_horizon_days):
        raise StartsTooFar(field=field)


def _check_bookable(place: Place, person: Person) -> Place:
    if place.spip_id != person.spip_id:
        raise PlaceNotInSpip(field="place_id")
    if not place.active:
        raise PlaceInactive(field="place_id")
    return place


async def _bookable_place(session: AsyncSession, place_id: int, person: Person) -> Place:
    return _check_bookable(await spip_service.get_place(session, place_id), person)


@dataclass(frozen=True)
class BookingInputs:
    """What a booking reads before it writes. ``None``: no such place, no active type of that
    code, no policy of the person's SPIP (its defaults apply)."""

    person: Person
    place: Place | None
    appointment_type: AppointmentType | None
    policy: ReminderPolicy | None
    # The person's SPIP's public holidays (a place may override them).
    spip_holiday_territory: str | None = None
    # A booking into an agenda's slot (``slot_id``): the slot gives the place and the start.
    slot: tuple[Slot, Agenda] | None = None


# Built once, with its cache key: this runs for every convocation booked.
_BOOKING_INPUTS = (
    select(Person, Place, AppointmentType, ReminderPolicy, Spip.holiday_territory)
    .select_from(Person)
    .join(Spip, Spip.id == Person.spip_id)
    .outerjoin(Place, Place.id == bindparam("place_id"))
    .outerjoin(
        AppointmentType,
        and_(AppointmentType.code == bindparam("type_code"), AppointmentType.active.is_(True)),
    )
    .outerjoin(ReminderPolicy, ReminderPolicy.spip_id == Person.spip_id)
    .where(Person.id == bindparam("person_id"))
)


async def load_booking_inputs(session: AsyncSession, data: AppointmentCreate) -> BookingInputs:
    """The person, place, type and reminder policy of a booking in one query (one round trip
    instead of four). 404 when the person is unknown; the other checks are left to the caller,
    in their usual order. With ``slot_id``, the slot and its agenda first (404 if unknown)."""
    slot = None
    if data.slot_id is not None:
        slot = await agenda_service.slot_and_agenda(session, data.slot_id)
    params = {
        "person_id": data.person_id,
        "place_id": slot[0].place_id if slot else data.place_id,
        "type_code": data.appointment_type,
    }
    row = (await session.execute(_BOOKING_INPUTS, params)).first()
    if row is None:
        raise PersonNotFound()
    person, place, appointment_type, policy, spip_territory = row
    return BookingInputs(person, place, appointment_type, policy, spip_territory, slot)


async def book(
    session: AsyncSession,
    *,
    data: AppointmentCreate,
    created_by_id: int | None = None,
    booker_role: str | None = None,
    inputs: BookingInputs | None = None,
) -> AppointmentView:
    """Book a convocation and plan its SMS. ``inputs``: from ``load_booking_inputs``, when the
    caller has already loaded them (to check access). Without ``agent_id``, the convocation is
    the booking CPIP's, else the person's referent's (``rules.default_agent_id``)."""
    now = utcnow()
    inputs = inputs or await load_booking_inputs(session, data)
    person = inputs.person
    if person.archived:
        raise PersonArchived()
    if inputs.place is None:
        raise PlaceNotFound()
    place = _check_bookable(inputs.place, person)
    appointment_type = inputs.appointment_type
    if appointment_type is None:
        raise UnknownAppointmentType(field="appointment_type")
    if data.agent_id is not None:
        await agent_service.get_agent_in_spip(session, data.agent_id, spip_id=person.spip_id)
    if inputs.slot is not None:
        slot, agenda = inputs.slot
        agenda_service.check_accepts(agenda, appointment_type.code)
        starts_at, duration = slot.starts_at, slot.duration_minutes
    else:
        assert data.starts_at is not None  # AppointmentCreate: slot_id or starts_at
        starts_at = to_utc(data.starts_at, zone(place.timezone))
        duration = data.duration_minutes or appointment_type.default_duration_minutes
    _check_start(starts_at, now)
    await overlaps.check_no_overlap(
        session,
        person_id=person.id,
        starts_at=starts_at,
        duration_minutes=duration,
        allowed=data.allow_duplicate,
    )
    if inputs.slot is not None:
        await seats.take_seat(session, inputs.slot[0].id)  # last: the seat's lock is short
    agent_id = data.agent_id
    if agent_id is None:
        agent_id = rules.default_agent_id(
            booker_id=created_by_id, booker_role=booker_role, referent_id=person.referent_agent_id
        )
    appointment = Appointment(
        spip_id=person.spip_id,
        person_id=person.id,
        place_id=place.id,
        appointment_type_id=appointment_type.id,
        agent_id=agent_id,
        starts_at=starts_at,
        duration_minutes=duration,
        status=AppointmentStatus.booked.value,
        summons_requested=data.send_summons,
        created_by_id=created_by_id,
        slot_id=inputs.slot[0].id if inputs.slot else None,
    )
    session.add(appointment)
    await session.flush()
    # Before the plan: the SMS rendered from it (previews, the dispatcher) carry the link.
    await link_service.issue(session, appointment_id=appointment.id)
    planned = await reminder_service.on_booked(
        session,
        appointment=appointment,
        send_summons=data.send_summons,
        agent_id=created_by_id,
        policy=reminder_policies.policy_from_row(inputs.policy),
    )
    # The place, type and planned messages are at hand and a new convocation has no successor:
    # its view needs no query.
    holiday = holiday_warnings(starts_at, place, spip_territory=inputs.spip_holiday_territory)
    return AppointmentView(
        appointment=appointment,
        timezone=place.timezone,
        type_code=appointment_type.code,
        type_label=appointment_type.label,
        next_notification_at=planned.first_at,
        warnings=[*holiday, *planned.warnings],
    )


async def cancel(
    session: AsyncSession, *, appointment: Appointment, notify: bool
) -> AppointmentView:
    """Cancel the convocation; its view says if the cancellation SMS asked for will not go."""
    now = utcnow()
    rules.check_can_cancel(AppointmentStatus(appointment.status), appointment.starts_at, now)
    _mark_cancelled(appointment, CancelReason.cancelled, now)
    if appointment.slot_id is not None:
        await seats.release_seat(session, appointment.slot_id)
    await session.flush()
    planned = await reminder_service.on_cancelled(session, appointment=appointment, notify=notify)
    view = (await _views(session, [appointment]))[0]
    return replace(view, warnings=planned.warnings)


def _mark_cancelled(appointment: Appointment, reason: CancelReason, now: datetime) -> None:
    appointment.status = AppointmentStatus.cancelled.value
    appointment.cancel_reason = reason.value
    appointment.cancelled_at = now


async def reschedule(
    session: AsyncSession,
    *,
    appointment: Appointment,
    data: AppointmentReschedule,
    created_by_id: int | None = None,
) -> AppointmentView:
    """Cancel the convocation (reason ``rescheduled``) and book its replacement, linked to it."""
    now = utcnow()
    rules.check_can_reschedule(AppointmentStatus(appointment.status), appointment.starts_at, now)
    person = await person_service.get_person(session, appointment.person_id)
    if person.archived:
        raise PersonArchived()
    slot = None
    duration = appointment.duration_minutes
    if data.slot_id is not None:
        slot, agenda = await agenda_service.slot_and_agenda(session, data.slot_id)
        kind = await session.get_one(AppointmentType, appointment.appointment_type_id)
        agenda_service.check_accepts(agenda, kind.code)
        place = await _bookable_place(session, slot.place_id, person)
        starts_at, duration = slot.starts_at, slot.duration_minutes
    else:
        assert data.starts_at is not None  # AppointmentReschedule: slot_id or starts_at
        place = await _bookable_place(session, data.place_id or appointment.place_id, person)
        starts_at = to_utc(data.starts_at, zone(place.timezone))
    if starts_at == appointment.starts_at and place.id == appointment.place_id:
        raise RescheduleUnchanged(field="slot_id" if slot else "starts_at")
    _check_start(starts_at, now)
    await overlaps.check_no_overlap(
        session,
        person_id=appointment.person_id,
        starts_at=starts_at,
        duration_minutes=duration,
        allowed=data.allow_duplicate,
        exclude_id=appointment.id,
    )
    # The old seat is given back, the new one (if any) taken: the convocation moves out of its
    # slot, or into another one.
    await seats.move_seat(
        session, from_id=appointment.slot_id, to_id=slot.id if slot is not None else None
    )
    _mark_cancelled(appointment, CancelReason.rescheduled, now)
    replacement = Appointment(
        spip_id=appointment.spip_id,
        person_id=appointment.person_id,
        place_id=place.id,
        appointment_type_id=appointment.appointment_type_id,
        agent_id=appointment.agent_id,
        starts_at=starts_at,
        duration_minutes=duration,
        status=AppointmentStatus.booked.value,
        rescheduled_from_id=appointment.id,
        created_by_id=created_by_id,
        slot_id=slot.id if slot else None,
    )
    session.add(replacement)
    await session.flush()
    await link_service.issue(session, appointment_id=replacement.id)
    planned = await reminder_service.on_rescheduled(
        session, old=appointment, new=replacement, notify=data.notify
    )
    view = (await _views(session, [replacement]))[0]
    spip = await session.get_one(Spip, place.spip_id)
    holiday = holiday_warnings(starts_at, place, spip_territory=spip.holiday_territory)
    return replace(view, warnings=[*holiday, *planned.warnings])


async def record_outcome(
    session: AsyncSession,
    *,
    appointment: Appointment,
    outcome: AppointmentStatus,
    notify_missed: bool = False,
    recorded_by_id: int | None = None,
) -> Appointment:
    now = utcnow()
    current = AppointmentStatus(appointment.status)
    if current is outcome:
        return appointment  # recording the same outcome twice is harmless
    rules.check_can_record(current, outcome, appointment.starts_at, now)
    appointment.status = outcome.value
    appointment.outcome_recorded_at = None if outcome is AppointmentStatus.booked else now
    appointment.outcome_recorded_by_id = (
        None if outcome is AppointmentStatus.booked else recorded_by_id
    )
    await session.flush()
    await reminder_service.on_outcome(
        session, appointment=appointment, previous=current, notify_missed=notify_missed
    )
    return appointment


async def preview_booking(
    session: AsyncSession,
    *,
    data: AppointmentCreate,
    created_by_id: int | None = None,
    booker_role: str | None = None,
    inputs: BookingInputs | None = None,
) -> BookingPreviewRead:
    """What ``book`` would store and send, without storing it: the very booking (same checks,
    same errors, same planner) inside a savepoint that is rolled back, its messages rendered by
    the dispatcher's renderer."""
    savepoint = await session.begin_nested()
    try:
        view = await book(
            session,
            data=data,
            created_by_id=created_by_id,
            booker_role=booker_role,
            inputs=inputs,
        )
        appointment = view.appointment
        spip = await session.get_one(Spip, appointment.spip_id)
        place = await session.get_one(Place, appointment.place_id)
        tz = zone(place.timezone)
        rows = await session.scalars(
            select(Notification)
            .where(Notification.appointment_id == appointment.id)
            .order_by(Notification.planned_at, Notification.id)
        )
        messages = []
        for row in rows:
            kind = NotificationKind(row.kind)
            rendered = await reminder_preview.render_planned(
                session,
                spip=spip,
                place=place,
                type_code=view.type_code,
                kind=kind,
                starts_at=appointment.starts_at,
            )
            messages.append(
                PlannedSmsRead(
                    kind=kind,
                    status=NotificationStatus(row.status),
                    reason=row.reason,
                    rule=row.rule,
                    send_at=row.send_at,
                    send_at_local=row.send_at.astimezone(tz).isoformat(),
                    text=rendered.text,
                    encoding=rendered.info.encoding,
                    segments=rendered.info.segments,
                )
            )
        result = BookingPreviewRead(
            starts_at=appointment.starts_at,
            starts_at_local=appointment.starts_at.astimezone(tz).isoformat(),
            timezone=place.timezone,
            messages=messages,
            warnings=list(view.warnings),
        )
    finally:
        await savepoint.rollback()
    return result
