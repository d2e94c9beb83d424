"""Small factories: each makes one row with sensible defaults, overridable by keyword."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import (
    Agent,
    Appointment,
    AppointmentType,
    Court,
    Person,
    Place,
    Role,
    Spip,
    court_spip,
)

_seq = itertools.count(1)


async def make_spip(session: AsyncSession, **overrides: Any) -> Spip:
    n = next(_seq)
    values: dict[str, Any] = {
        "code": f"SPIP-T{n}",
        "name": f"SPIP de test {n}",
        "timezone": "Europe/Paris",
        "phone_region": "FR",
    }
    spip = Spip(**(values | overrides))
    session.add(spip)
    await session.flush()
    return spip


async def make_place(session: AsyncSession, spip: Spip, **overrides: Any) -> Place:
    values: dict[str, Any] = {
        "spip_id": spip.id,
        "name": f"Antenne {next(_seq)}",
        "address": "1 rue de la Paix",
        "timezone": spip.timezone,
    }
    place = Place(**(values | overrides))
    session.add(place)
    await session.flush()
    return place


async def make_agent(session: AsyncSession, spip: Spip | None, **overrides: Any) -> Agent:
    """An agent of ``spip`` (None: a national administrator)."""
    n = next(_seq)
    values: dict[str, Any] = {
        "spip_id": spip.id if spip else None,
        "name": f"Agent {n}",
        "email": f"agent{n}@test.convoc.fr",
        "role": Role.cpip.value if spip else Role.admin.value,
    }
    agent = Agent(**(values | overrides))
    session.add(agent)
    await session.flush()
    return agent


async def make_court(session: AsyncSession, *spips: Spip, **overrides: Any) -> Court:
    """A court linked to ``spips`` (its clerks book into the agendas they open to courts)."""
    values: dict[str, Any] = {"name": f"Tribunal judiciaire {next(_seq)}", "active": True}
    court = Court(**(values | overrides))
    session.add(court)
    await session.flush()
    if spips:
        await session.execute(
            insert(court_spip), [{"court_id": court.id, "spip_id": s.id} for s in spips]
        )
    return court


async def make_person(session: AsyncSession, spip: Spip, **overrides: Any) -> Person:
    values: dict[str, Any] = {
        "spip_id": spip.id,
        "first_name": "Camille",
        "last_name": f"Personne{next(_seq)}",
        "phone": "+33612345678",
        "phone_status": "valid",
    }
    person = Person(**(values | overrides))
    session.add(person)
    await session.flush()
    return person


async def appointment_type(session: AsyncSession, code: str = "suivi_spip") -> AppointmentType:
    found = await session.scalar(select(AppointmentType).where(AppointmentType.code == code))
    assert found is not None, code
    return found


async def make_appointment(
    session: AsyncSession,
    person: Person,
    place: Place,
    *,
    starts_at: datetime,
    type_code: str = "suivi_spip",
    **overrides: Any,
) -> Appointment:
    kind = await appointment_type(session, type_code)
    values: dict[str, Any] = {
        "spip_id": person.spip_id,
        "person_id": person.id,
        "place_id": place.id,
        "appointment_type_id": kind.id,
        "starts_at": starts_at,
        "duration_minutes": kind.default_duration_minutes,
        "status": "booked",
    }
    appointment = Appointment(**(values | overrides))
    session.add(appointment)
    await session.flush()
    return appointment


def days(n: float) -> timedelta:
    return timedelta(days=n)
