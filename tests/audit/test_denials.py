"""Refused attempts leave a bounded trace: ids only, in a transaction of their own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import PER_AGENT_LIMIT, SAME_TARGET_WINDOW
from app.models import Agent, AuditEvent, Person, Spip
from tests.conftest import ClientFactory, FrozenClock
from tests.factories import make_agent, make_person, make_spip


@dataclass
class World:
    spip: Spip
    other: Spip
    cpip: Agent
    local_admin: Agent
    foreign_admin: Agent
    foreign_person: Person


@pytest.fixture
async def world(session: AsyncSession) -> World:
    spip, other = await make_spip(session), await make_spip(session)
    cpip = await make_agent(session, spip)
    local_admin = await make_agent(session, spip, role="local_admin")
    foreign_admin = await make_agent(session, other, role="local_admin")
    foreign_person = await make_person(session, other)
    await session.commit()
    return World(spip, other, cpip, local_admin, foreign_admin, foreign_person)


async def denials(session: AsyncSession, agent: Agent) -> list[AuditEvent]:
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.agent_id == agent.id, AuditEvent.action.like("%_denied"))
        .order_by(AuditEvent.id)
        .execution_options(populate_existing=True)
    )
    return list(await session.scalars(stmt))


async def test_a_cross_spip_read_is_recorded_with_ids_only(
    client_for: ClientFactory, session: AsyncSession, world: World
) -> None:
    async with client_for(world.cpip) as cpip:
        response = await cpip.get(f"/persons/{world.foreign_person.id}")
    assert response.status_code == 404
    [row] = await denials(session, world.cpip)
    assert (row.action, row.entity, row.entity_id) == (
        "access_denied",
        "person",
        world.foreign_person.id,
    )
    assert row.spip_id == world.other.id  # the target's trail
    assert row.changes == {"agent_spip_id": world.spip.id}
    assert world.foreign_person.last_name not in str(row.changes)


async def test_the_trail_shows_it_to_the_target_spip_not_to_the_agents_own(
    client_for: ClientFactory, world: World
) -> None:
    async with client_for(world.cpip) as cpip:
        await cpip.get(f"/persons/{world.foreign_person.id}")
    async with client_for(world.foreign_admin) as foreign_admin:
        theirs = (await foreign_admin.get("/audit", params={"entity": "person"})).json()
    assert [e["action"] for e in theirs["items"]] == ["access_denied"]
    async with client_for(world.local_admin) as local_admin:
        own = (await local_admin.get("/audit", params={"agent_id": world.cpip.id})).json()
        assert own["total"] == 0  # else the agent's administrators would learn the id exists
    async with client_for(world.foreign_admin) as foreign_admin:
        history = await foreign_admin.get(f"/persons/{world.foreign_person.id}/history")
    assert history.json()["total"] == 0  # a record's history shows its changes only


async def test_unknown_ids_and_own_resources_are_not_denials(
    client_for: ClientFactory, session: AsyncSession, world: World
) -> None:
    own = await make_person(session, world.spip)
    await session.commit()
    async with client_for(world.cpip) as cpip:
        assert (await cpip.get(f"/persons/{own.id}")).status_code == 200
        assert (await cpip.get("/persons/2000000000")).status_code == 404
    assert await denials(session, world.cpip) == []


async def test_a_flood_leaves_a_bounded_trail(
    client_for: ClientFactory, session: AsyncSession, world: World, clock: FrozenClock
) -> None:
    async with client_for(world.cpip) as cpip:
        for _ in range(100):
            assert (await cpip.get(f"/persons/{world.foreign_person.id}")).status_code == 404
        assert len(await denials(session, world.cpip)) == 1  # one target: one row per window
        clock.set(clock.now + SAME_TARGET_WINDOW + timedelta(seconds=1))
        await cpip.get(f"/persons/{world.foreign_person.id}")
        assert len(await denials(session, world.cpip)) == 2
        others = [await make_person(session, world.other) for _ in range(100)]
        await session.commit()
        for person in others:  # a script walking through ids
            assert (await cpip.get(f"/persons/{person.id}")).status_code == 404
    assert len(await denials(session, world.cpip)) == PER_AGENT_LIMIT
    total = await session.scalar(select(func.count()).select_from(AuditEvent))
    assert total is not None and total < 40


async def test_a_forbidden_action_is_recorded_too(
    client_for: ClientFactory, session: AsyncSession, world: World
) -> None:
    own = await make_person(session, world.spip)
    await session.commit()
    async with client_for(world.cpip) as cpip:
        for _ in range(5):
            assert (await cpip.delete(f"/persons/{own.id}")).status_code == 403
    [row] = await denials(session, world.cpip)
    assert (row.action, row.entity, row.entity_id) == ("permission_denied", "permission", None)
    assert row.changes == {"permission": "person:archive"}
    assert row.spip_id == world.spip.id
