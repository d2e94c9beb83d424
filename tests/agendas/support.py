"""Small factories for agendas and slots (the domain's own, beside ``tests.factories``)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Agenda, Place, Slot, SlotType


async def make_agenda(session: AsyncSession, place: Place, **overrides: Any) -> Agenda:
    values: dict[str, Any] = {
        "spip_id": place.spip_id,
        "place_id": place.id,
        "name": "Accueil collectif",
        "appointment_types": [],
        "active": True,
    }
    agenda = Agenda(**(values | overrides))
    session.add(agenda)
    await session.flush()
    return agenda


async def make_slot_type(session: AsyncSession, agenda: Agenda, **overrides: Any) -> SlotType:
    values: dict[str, Any] = {
        "agenda_id": agenda.id,
        "weekday": 2,
        "start_time": time(9, 0),
        "duration_minutes": 30,
        "capacity": 1,
        "from_date": date(2027, 1, 1),
        "to_date": None,
        "active": True,
    }
    slot_type = SlotType(**(values | overrides))
    session.add(slot_type)
    await session.flush()
    return slot_type


async def make_slot(
    session: AsyncSession, agenda: Agenda, *, starts_at: datetime, **overrides: Any
) -> Slot:
    values: dict[str, Any] = {
        "agenda_id": agenda.id,
        "spip_id": agenda.spip_id,
        "place_id": agenda.place_id,
        "starts_at": starts_at,
        "duration_minutes": 30,
        "capacity": 1,
        "booked": 0,
        "closed": False,
    }
    slot = Slot(**(values | overrides))
    session.add(slot)
    await session.flush()
    return slot
