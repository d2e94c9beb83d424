"""Agendas, their slot types and slots: opening, closing and listing them."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.agendas import generation
from app.agendas.errors import (
    AgendaInactive,
    AgendaNotFound,
    CapacityBelowBooked,
    InvalidPeriod,
    SlotInPast,
    SlotNotFound,
    SlotTypeNotFound,
    TooManySlots,
    TypeNotAccepted,
    UnknownTypes,
)
from app.agendas.schemas import (
    AgendaCreate,
    AgendaUpdate,
    SlotBatchCreate,
    SlotCursor,
    SlotTypeCreate,
    SlotUpdate,
    SlotView,
)
from app.agents import service as agent_service
from app.audit import service as audit_service
from app.config import get_settings
from app.core.clock import utcnow
from app.core.localtime import to_utc, zone
from app.core.repository import apply_changes, get_or_raise
from app.core.upsert import insert_for
from app.models import Agenda, AppointmentType, Place, Slot, SlotType
from app.spips import service as spip_service

log = logging.getLogger("convoc.agendas")
MAX_BATCH = 500
MAX_PERIOD = timedelta(days=366)


async def get_agenda(session: AsyncSession, agenda_id: int) -> Agenda:
    return await get_or_raise(session, Agenda, agenda_id, AgendaNotFound)


async def get_slot_type(session: AsyncSession, slot_type_id: int) -> SlotType:
    return await get_or_raise(session, SlotType, slot_type_id, SlotTypeNotFound)


async def get_slot(session: AsyncSession, slot_id: int) -> Slot:
    return await get_or_raise(session, Slot, slot_id, SlotNotFound)


# ------------------------------------------------------------------ agendas


async def _known_types(session: AsyncSession, codes: list[str]) -> list[str]:
    unique = list(dict.fromkeys(codes))
    known = set(
        await session.scalars(
            select(AppointmentType.code).where(
                AppointmentType.code.in_(unique), AppointmentType.active.is_(True)
            )
        )
    )
    if missing := [c for c in unique if c not in known]:
        raise UnknownTypes(
            f"Type de convocation inconnu : {', '.join(missing)}.", field="appointment_types"
        )
    return unique


async def create_agenda(session: AsyncSession, *, place: Place, data: AgendaCreate) -> Agenda:
    if data.agent_id is not None:
        await agent_service.get_agent_in_spip(session, data.agent_id, spip_id=place.spip_id)
    agenda = Agenda(
        spip_id=place.spip_id,
        place_id=place.id,
        name=data.name,
        agent_id=data.agent_id,
        appointment_types=await _known_types(session, data.appointment_types),
        active=True,
        open_to_courts=data.open_to_courts,
    )
    session.add(agenda)
    await session.flush()
    return agenda


async def list_agendas(session: AsyncSession, *, place_id: int) -> list[Agenda]:
    stmt = select(Agenda).where(Agenda.place_id == place_id).order_by(Agenda.name, Agenda.id)
    return list((await session.scalars(stmt)).all())


async def update_agenda(session: AsyncSession, *, agenda: Agenda, data: AgendaUpdate) -> Agenda:
    changes = data.patch_values(nullable=frozenset({"agent_id"}))
    if changes.get("agent_id") is not None:
        await agent_service.get_agent_in_spip(session, changes["agent_id"], spip_id=agenda.spip_id)
    if "appointment_types" in changes:
        changes["appointment_types"] = await _known_types(session, changes["appointment_types"])
    apply_changes(agenda, changes)
    await session.flush()
    return agenda


def check_accepts(agenda: Agenda, type_code: str) -> None:
    """A booking into one of the agenda's slots: the agenda is in use and takes this type."""
    if not agenda.active:
        raise AgendaInactive()
    if agenda.appointment_types and type_code not in agenda.appointment_types:
        raise TypeNotAccepted(field="appointment_type")


async def slot_and_agenda(session: AsyncSession, slot_id: int) -> tuple[Slot, Agenda]:
    row = (
        await session.execute(
            select(Slot, Agenda).join(Agenda, Agenda.id == Slot.agenda_id).where(Slot.id == slot_id)
        )
    ).first()
    if row is None:
        raise SlotNotFound()
    return row[0], row[1]


# ------------------------------------------------------------------ slot types and generation


def _place_today(place: Place, now: datetime) -> date:
    return now.astimezone(zone(place.timezone)).date()


async def create_slot_type(
    session: AsyncSession, *, agenda: Agenda, data: SlotTypeCreate
) -> tuple[SlotType, int]:
    """The slot type, and how many slots it opened up to the horizon at once."""
    slot_type = SlotType(agenda_id=agenda.id, active=True, **data.model_dump())
    session.add(slot_type)
    await session.flush()
    place = await session.get_one(Place, agenda.place_id)
    created = await generate(session, slot_type=slot_type, agenda=agenda, place=place)
    if created:
        audit_service.record(
            session, "generate_slots", "slot_type", slot_type.id, changes={"slots": created}
        )
    return slot_type, created


async def list_slot_types(session: AsyncSession, *, agenda_id: int) -> list[SlotType]:
    stmt = select(SlotType).where(SlotType.agenda_id == agenda_id).order_by(SlotType.id)
    return list((await session.scalars(stmt)).all())


async def generate(
    session: AsyncSession,
    *,
    slot_type: SlotType,
    agenda: Agenda,
    place: Place,
    now: datetime | None = None,
    months: int | None = None,
) -> int:
    """Open the slot type's slots from today up to ``months`` ahead (local days of the place);
    those already there stay as they are. Returns how many were opened."""
    if not (slot_type.active and agenda.active):
        return 0
    now = now or utcnow()
    months = months or get_settings().slot_horizon_months
    today = _place_today(place, now)
    recurrence = generation.Recurrence(
        slot_type.weekday, slot_type.start_time, slot_type.from_date, slot_type.to_date
    )
    instants = generation.occurrences(
        recurrence,
        first=today,
        last=generation.add_months(today, months),
        territory=await spip_service.place_holiday_territory(session, place),
        tz=zone(place.timezone),
    )
    rows = [
        _slot_row(agenda, slot_type.duration_minutes, slot_type.capacity, at, slot_type.id)
        for at in instants
        if at > now
    ]
    return await _insert_missing(session, rows)


def _slot_row(
    agenda: Agenda, duration: int, capacity: int, starts_at: datetime, type_id: int | None
) -> dict[str, Any]:
    at = utcnow()
    return {
        "agenda_id": agenda.id,
        "spip_id": agenda.spip_id,
        "place_id": agenda.place_id,
        "slot_type_id": type_id,
        "starts_at": starts_at,
        "duration_minutes": duration,
        "capacity": capacity,
        "booked": 0,
        "closed": False,
        "created_at": at,
        "updated_at": at,
    }


async def _insert_missing(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Insert the slots whose (agenda, start) is free: a rerun, or a generation racing another,
    opens nothing twice (the unique constraint decides, not a prior read)."""
    if not rows:
        return 0
    table = cast(Table, Slot.__table__)
    stmt = (
        insert_for(session, table)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["agenda_id", "starts_at"])
        .returning(table.c.id)
    )
    return len((await session.execute(stmt)).all())


async def delete_slot_type(session: AsyncSession, *, slot_type: SlotType) -> int:
    """End the slot type: its future slots that hold no convocation go; past slots and slots
    with a seat taken stay (they no longer get new siblings). Repeating it is harmless."""
    now = utcnow()
    removed = await session.execute(
        delete(Slot)
        .where(Slot.slot_type_id == slot_type.id, Slot.starts_at > now, Slot.booked == 0)
        .returning(Slot.id)
        .execution_options(synchronize_session=False)
    )
    count = len(removed.all())
    slot_type.active = False
    await session.flush()
    if count:
        audit_service.record(
            session, "delete_slots", "slot_type", slot_type.id, changes={"slots": count}
        )
    return count


async def extend_horizon(session: AsyncSession, *, now: datetime, months: int) -> int:
    """The worker's daily job: open every active slot type's slots up to the horizon."""
    stmt = (
        select(SlotType, Agenda, Place)
        .join(Agenda, Agenda.id == SlotType.agenda_id)
        .join(Place, Place.id == Agenda.place_id)
        .where(SlotType.active.is_(True), Agenda.active.is_(True))
        .order_by(SlotType.id)
    )
    total = 0
    for slot_type, agenda, place in (await session.execute(stmt)).all():
        if slot_type.to_date is not None and slot_type.to_date < _place_today(place, now):
            continue
        # One slot type's failure must not stop the others (its savepoint is rolled back).
        slot_type_id = slot_type.id
        try:
            async with session.begin_nested():
                total += await generate(
                    session, slot_type=slot_type, agenda=agenda, place=place, now=now, months=months
                )
        except Exception:
            log.exception("agendas.generation_failed slot_type_id=%s", slot_type_id)
    return total


# ------------------------------------------------------------------ one-off slots


async def create_slots(
    session: AsyncSession, *, agenda: Agenda, data: SlotBatchCreate
) -> tuple[list[Slot], int]:
    """Open one-off slots; the starts where the agenda already has a slot are skipped."""
    starts = data.local_starts()
    if len(starts) > MAX_BATCH:
        raise TooManySlots()
    place = await session.get_one(Place, agenda.place_id)
    tz, now = zone(place.timezone), utcnow()
    instants = [to_utc(local, tz, field="times") for local in starts]
    if any(at <= now for at in instants):
        raise SlotInPast(field="dates")
    existing = set(
        await session.scalars(
            select(Slot.starts_at).where(Slot.agenda_id == agenda.id, Slot.starts_at.in_(instants))
        )
    )
    slots = [
        Slot(**_slot_row(agenda, data.duration_minutes, data.capacity, at, None))
        for at in instants
        if at not in existing
    ]
    session.add_all(slots)
    await session.flush()
    return slots, len(instants) - len(slots)


async def update_slot(session: AsyncSession, *, slot: Slot, data: SlotUpdate) -> Slot:
    """Close or reopen a slot, change its capacity (never below the seats taken; raising it
    reopens a full slot).

    The capacity is written by a conditional UPDATE (``WHERE booked <= :capacity``), as
    ``seats.take_seat`` takes a seat: a booking that takes a seat between a read of ``booked``
    and the write cannot slip under the new capacity (on PostgreSQL the UPDATE waits for that
    booking's row lock, then re-reads the committed count)."""
    changes = data.patch_values()
    capacity = changes.pop("capacity", None)
    if capacity is not None:
        written = await session.execute(
            update(Slot)
            .where(Slot.id == slot.id, Slot.booked <= capacity)
            .values(capacity=capacity, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        await session.refresh(slot, ["booked", "capacity", "updated_at"])
        if written.rowcount != 1:  # type: ignore[attr-defined]
            raise CapacityBelowBooked.of(slot.booked)
    apply_changes(slot, changes)
    await session.flush()
    return slot


# ------------------------------------------------------------------ listing


def period(place: Place, first: date | None, last: date | None) -> tuple[datetime, datetime]:
    """UTC bounds of local days [first, last] (default: the week from today)."""
    tz = zone(place.timezone)
    first = first or _place_today(place, utcnow())
    last = last or first + timedelta(days=6)
    if last < first or last - first > MAX_PERIOD:
        raise InvalidPeriod(field="to")
    start = to_utc(datetime.combine(first, time()), tz, field="from")
    end = to_utc(datetime.combine(last + timedelta(days=1), time()), tz, field="to")
    return start, end


async def list_slots(
    session: AsyncSession,
    *,
    place: Place,
    agenda_id: int | None = None,
    first: date | None = None,
    last: date | None = None,
    free: bool = False,
    limit: int | None = None,
    after: SlotCursor | None = None,
) -> list[SlotView]:
    """The slots of an agenda (or of every agenda of the place) over local days, in order of
    start then agenda; ``free``: only those still bookable (open, a seat left, not started,
    agenda in use); ``limit`` and ``after``: at most that many, from after that cursor."""
    start, end = period(place, first, last)
    # Columns, not entities: a month of a busy place is a thousand rows, and building ORM
    # objects for them cost more than the query (bench/slots.py).
    stmt = (
        select(*_SLOT_COLUMNS, Agenda.name.label("agenda_name"))
        .join(Agenda, Agenda.id == Slot.agenda_id)
        .where(Slot.starts_at >= start, Slot.starts_at < end)
    )
    if agenda_id is not None:
        stmt = stmt.where(Slot.agenda_id == agenda_id)
    else:
        stmt = stmt.where(Slot.place_id == place.id)
    if free:
        stmt = stmt.where(
            Slot.closed.is_(False),
            Slot.booked < Slot.capacity,
            Slot.starts_at > utcnow(),
            Agenda.active.is_(True),
        )
    if after is not None:
        # Spelled out rather than a row comparison: the plain ``>=`` bounds the index range.
        stmt = stmt.where(
            Slot.starts_at >= after.starts_at,
            or_(Slot.starts_at > after.starts_at, Slot.agenda_id > after.agenda_id),
        )
    stmt = stmt.order_by(Slot.starts_at, Slot.agenda_id)
    if limit is not None:
        stmt = stmt.limit(limit)
    # Through the session's connection (same transaction): columns need none of the ORM's
    # loading, which cost ~1.5 ms a thousand rows. Rows become plain named tuples: reading a
    # ``Row``'s attributes cost ~1 µs each, ten per slot (bench/slots.py).
    rows = await (await session.connection()).execute(stmt)
    return [SlotView(SlotRow._make(row), place.timezone, row[-1]) for row in rows]


class SlotRow(NamedTuple):
    """A listed slot's columns (``SlotFields``), then its agenda's name."""

    id: int
    agenda_id: int
    place_id: int
    slot_type_id: int | None
    starts_at: datetime
    duration_minutes: int
    capacity: int
    booked: int
    closed: bool
    agenda_name: str


_SLOT_COLUMNS = (
    Slot.id,
    Slot.agenda_id,
    Slot.place_id,
    Slot.slot_type_id,
    Slot.starts_at,
    Slot.duration_minutes,
    Slot.capacity,
    Slot.booked,
    Slot.closed,
)
