from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.cli import run_migrations
from app.config import Settings
from app.core import clock as app_clock
from app.db import create_engine
from app.models import Person, Place, Spip
from tests.databases import _create_postgres_database, _drop_postgres_database
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


# -- PostgreSQL databases of their own, for tests with several processes ----------------------


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh migrated PostgreSQL database (commits must be visible across processes)."""
    url = _create_postgres_database()
    try:
        run_migrations(url)
        yield url
    finally:
        _drop_postgres_database(url)


@pytest.fixture
async def pg_engine(pg_url: str) -> AsyncIterator[AsyncEngine]:
    app_clock.reset_clock()  # workers run on the real clock: so does the seeding
    engine = create_engine(Settings(env="test", secret_key="k" * 40), pg_url)
    yield engine
    await engine.dispose()
