"""An id of another SPIP and an id that exists nowhere get the very same answer.

Otherwise an agent could probe ids and learn what other SPIPs hold (the README's "another
SPIP's resources answer 404, never revealing that they exist", applied to ids sent in bodies).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Agent, Appointment, Person, Place, Spip
from tests.conftest import FIXED_NOW, ClientFactory
from tests.factories import days, make_agent, make_appointment, make_person, make_place, make_spip

UNKNOWN = 2_000_000_000


@dataclass
class World:
    spip: Spip
    cpip: Agent
    person: Person
    place: Place
    appointment: Appointment
    foreign_agent: Agent
    foreign_place: Place


@pytest.fixture
async def world(session: AsyncSession) -> World:
    spip, other = await make_spip(session), await make_spip(session)
    cpip = await make_agent(session, spip)
    person = await make_person(session, spip)
    place = await make_place(session, spip)
    appointment = await make_appointment(
        session, person, place, starts_at=FIXED_NOW + days(10), agent_id=cpip.id
    )
    foreign_agent = await make_agent(session, other)
    foreign_place = await make_place(session, other)
    await session.commit()
    return World(spip, cpip, person, place, appointment, foreign_agent, foreign_place)


def answer(response: httpx.Response) -> tuple[int, Any]:
    return response.status_code, response.json()


async def assert_alike(
    client: httpx.AsyncClient, method: str, path: str, foreign: Any, unknown: Any
) -> tuple[int, Any]:
    first = answer(await client.request(method, path, json=foreign))
    second = answer(await client.request(method, path, json=unknown))
    assert first == second, (first, second)
    assert 400 <= first[0] < 500
    return first


async def test_referent_of_another_spip_or_unknown(client_for: ClientFactory, world: World) -> None:
    async with client_for(world.cpip) as cpip:
        status, body = await assert_alike(
            cpip,
            "PATCH",
            f"/persons/{world.person.id}",
            {"referent_agent_id": world.foreign_agent.id},
            {"referent_agent_id": UNKNOWN},
        )
        assert (status, body["error"]) == (422, "agent_not_in_spip")
        assert body["fields"][0]["field"] == "referent_agent_id"
        new = {"spip_id": world.spip.id, "first_name": "Jo", "last_name": "Doe"}
        await assert_alike(
            cpip,
            "POST",
            "/persons",
            new | {"referent_agent_id": world.foreign_agent.id},
            new | {"referent_agent_id": UNKNOWN},
        )


async def test_booking_agent_or_place_of_another_spip_or_unknown(
    client_for: ClientFactory, world: World
) -> None:
    booking = {
        "person_id": world.person.id,
        "place_id": world.place.id,
        "appointment_type": "suivi_spip",
        "starts_at": "2027-02-01T09:00",
    }
    async with client_for(world.cpip) as cpip:
        status, body = await assert_alike(
            cpip,
            "POST",
            "/appointments",
            booking | {"agent_id": world.foreign_agent.id},
            booking | {"agent_id": UNKNOWN},
        )
        assert (status, body["error"]) == (422, "agent_not_in_spip")
        status, _ = await assert_alike(
            cpip,
            "POST",
            "/appointments",
            booking | {"place_id": world.foreign_place.id},
            booking | {"place_id": UNKNOWN},
        )
        assert status == 404
        moved = {"starts_at": "2027-02-02T09:00"}
        await assert_alike(
            cpip,
            "POST",
            f"/appointments/{world.appointment.id}/reschedule",
            moved | {"place_id": world.foreign_place.id},
            moved | {"place_id": UNKNOWN},
        )
        preview = {"spip_id": world.spip.id, "kind": "reminder"}
        await assert_alike(
            cpip,
            "POST",
            "/templates/preview",
            preview | {"place_id": world.foreign_place.id},
            preview | {"place_id": UNKNOWN},
        )


async def test_national_admins_get_the_same_answer_too(
    client: httpx.AsyncClient, world: World
) -> None:
    await assert_alike(
        client,
        "PATCH",
        f"/persons/{world.person.id}",
        {"referent_agent_id": world.foreign_agent.id},
        {"referent_agent_id": UNKNOWN},
    )
