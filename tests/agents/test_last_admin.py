"""Nobody can leave Convoc, or a SPIP, without an active administrator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.agents import service
from app.agents.schemas import AgentUpdate
from app.cli import run_migrations
from app.config import Settings
from app.db import create_engine
from app.models import Agent, Role
from tests.conftest import (
    BACKENDS,
    ClientFactory,
    _create_postgres_database,
    _drop_postgres_database,
)
from tests.factories import make_agent, make_spip


def refused(response: httpx.Response, code: str) -> None:
    assert response.status_code == 409, response.text
    assert response.json()["error"] == code
    assert "dernier administrateur" in response.json()["detail"]


async def test_the_last_national_admin_cannot_deactivate_itself(
    client: httpx.AsyncClient, admin: Agent
) -> None:
    refused(
        await client.patch(f"/agents/{admin.id}", json={"active": False}), "last_national_admin"
    )
    assert (await client.get(f"/agents/{admin.id}")).json()["active"] is True


async def test_the_last_national_admin_cannot_demote_itself(
    client_for: ClientFactory, session: AsyncSession
) -> None:
    spip = await make_spip(session)
    only = await make_agent(session, spip, role=Role.admin.value)  # a national admin in a SPIP
    await session.commit()
    async with client_for(only) as as_admin:
        demote = await as_admin.patch(f"/agents/{only.id}", json={"role": "local_admin"})
        refused(demote, "last_national_admin")
        second = await make_agent(session, None)
        await session.commit()
        allowed = await as_admin.patch(f"/agents/{only.id}", json={"role": "local_admin"})
        assert allowed.status_code == 200, allowed.text
        assert second.role == Role.admin.value


async def test_another_national_admin_may_go_while_one_remains(
    client: httpx.AsyncClient, session: AsyncSession, admin: Agent
) -> None:
    other = await make_agent(session, None)
    inactive = await make_agent(session, None, active=False)
    await session.commit()
    gone = await client.patch(f"/agents/{other.id}", json={"active": False})
    assert gone.status_code == 200, gone.text
    # The inactive one does not count: the fixture's admin is now the last.
    refused(
        await client.patch(f"/agents/{admin.id}", json={"active": False}), "last_national_admin"
    )
    assert (
        await client.patch(f"/agents/{inactive.id}", json={"name": "Renommé"})
    ).status_code == 200


async def test_the_last_local_admin_of_a_spip_stays(
    client: httpx.AsyncClient, client_for: ClientFactory, session: AsyncSession
) -> None:
    spip, other_spip = await make_spip(session), await make_spip(session)
    local = await make_agent(session, spip, role=Role.local_admin.value)
    await make_agent(session, other_spip, role=Role.local_admin.value)  # another SPIP's: no help
    await make_agent(session, spip, role=Role.local_admin.value, active=False)  # inactive: no help
    await session.commit()
    async with client_for(local) as as_local:
        for change in ({"active": False}, {"role": "manager"}, {"role": "cpip", "active": True}):
            refused(await as_local.patch(f"/agents/{local.id}", json=change), "last_local_admin")
    # A national administrator is held to the same rule: it would lock the SPIP out.
    refused(await client.patch(f"/agents/{local.id}", json={"active": False}), "last_local_admin")
    renamed = await client.patch(f"/agents/{local.id}", json={"name": "Toujours là"})
    assert renamed.status_code == 200
    deputy = await make_agent(session, spip, role=Role.local_admin.value)
    await session.commit()
    async with client_for(local) as as_local:
        stepped_down = await as_local.patch(f"/agents/{local.id}", json={"role": "manager"})
        assert stepped_down.status_code == 200, stepped_down.text
    refused(await client.patch(f"/agents/{deputy.id}", json={"active": False}), "last_local_admin")


# ------------------------------------------------------------------ concurrency (PostgreSQL)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A database of its own: the two transactions must commit for real."""
    if "postgres" not in BACKENDS:
        pytest.skip("PostgreSQL n'est pas dans CONVOC_TEST_BACKENDS")
    url = _create_postgres_database()
    try:
        run_migrations(url)
        yield url
    finally:
        _drop_postgres_database(url)


@pytest.fixture
async def pg_engine(pg_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(Settings(env="test", secret_key="k" * 40), pg_url)
    yield engine
    await engine.dispose()


@pytest.mark.postgres_only
async def test_two_concurrent_deactivations_leave_one_national_admin(
    pg_engine: AsyncEngine,
) -> None:
    """Each of the last two admins deactivates the other at the same moment: one must lose."""
    sessions = async_sessionmaker(pg_engine, expire_on_commit=False)
    async with sessions() as setup:
        a, b = (
            Agent(name="A", email="a@t.fr", role="admin"),
            Agent(name="B", email="b@t.fr", role="admin"),
        )
        setup.add_all([a, b])
        await setup.commit()
    off = AgentUpdate(active=False)
    async with sessions() as first, sessions() as second:
        await service.update_agent(first, agent=await first.get_one(Agent, a.id), data=off)
        await first.flush()
        racing = asyncio.create_task(
            service.update_agent(second, agent=await second.get_one(Agent, b.id), data=off)
        )
        await asyncio.sleep(0.5)
        assert not racing.done(), "the second count did not wait for the first transaction"
        await first.commit()
        with pytest.raises(service.LastNationalAdmin):
            await racing
        await second.rollback()
    async with sessions() as check:
        assert (await check.get_one(Agent, b.id)).active is True
        assert (await check.get_one(Agent, a.id)).active is False
