from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Person, Place, Spip
from tests.factories import make_person, make_place, make_spip


@dataclass
class World:
    spip: Spip
    place: Place
    person: Person


async def build_world(
    session: AsyncSession, tz: str = "Europe/Paris", region: str = "FR", **place: object
) -> World:
    spip = await make_spip(session, timezone=tz, phone_region=region, name="SPIP de test")
    where = await make_place(
        session,
        spip,
        name="Antenne centre",
        address="2 rue du Palais",
        phone="01 23 45 67 89",
        **place,
    )
    person = await make_person(session, spip)
    await session.commit()
    return World(spip, where, person)


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await build_world(session)
