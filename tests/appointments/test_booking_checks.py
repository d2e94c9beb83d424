"""Who a convocation is for, and the likely mistakes a booking refuses (issue 13).

Now = 2027-01-15T10:00Z; through the API on both databases.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import ClientFactory
from tests.factories import make_agent, make_person, make_place
from tests.reminders.conftest import World, build_world


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await build_world(session)


def _booking(world: World, starts_at: str, **extra: Any) -> dict[str, Any]:
    return {
        "person_id": world.person.id,
        "place_id": world.place.id,
        "appointment_type": "suivi_spip",
        "starts_at": starts_at,
    } | extra


async def _notifications(client: httpx.AsyncClient, appointment_id: int) -> list[dict[str, Any]]:
    return (await client.get(f"/appointments/{appointment_id}/notifications")).json()


# -- who follows the convocation --------------------------------------------------------------


async def test_a_cpip_booking_without_agent_books_for_themselves(
    client_for: ClientFactory, session: AsyncSession, world: World
) -> None:
    cpip = await make_agent(session, world.spip, role="cpip")
    referent = await make_agent(session, world.spip, role="cpip")
    other = await make_person(session, world.spip, referent_agent_id=referent.id)
    await session.commit()
    async with client_for(cpip) as client:
        own = await client.post("/appointments", json=_booking(world, "2027-02-01T09:00"))
        assert own.status_code == 201, own.text
        assert own.json()["agent_id"] == cpip.id
        followed = await client.post(
            "/appointments", json=_booking(world, "2027-02-01T11:00", person_id=other.id)
        )
        assert followed.json()["agent_id"] == cpip.id  # the CPIP who books, not the referent
        named = await client.post(
            "/appointments", json=_booking(world, "2027-02-02T09:00", agent_id=referent.id)
        )
        assert named.json()["agent_id"] == referent.id


async def test_a_secretariat_booking_goes_to_the_referent_or_nobody(
    client_for: ClientFactory, session: AsyncSession, world: World
) -> None:
    secretariat = await make_agent(session, world.spip, role="secretariat")
    referent = await make_agent(session, world.spip, role="cpip")
    followed = await make_person(session, world.spip, referent_agent_id=referent.id)
    await session.commit()
    async with client_for(secretariat) as client:
        with_referent = await client.post(
            "/appointments", json=_booking(world, "2027-02-01T09:00", person_id=followed.id)
        )
        assert with_referent.status_code == 201, with_referent.text
        assert with_referent.json()["agent_id"] == referent.id
        without = await client.post("/appointments", json=_booking(world, "2027-02-01T11:00"))
        assert without.json()["agent_id"] is None
        assert without.json()["created_by_id"] == secretariat.id


# -- the same person twice at the same time ---------------------------------------------------


async def test_an_overlapping_convocation_of_the_same_person_needs_confirmation(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    first = await client.post("/appointments", json=_booking(world, "2027-02-01T09:00"))
    assert first.status_code == 201, first.text
    assert first.json()["duration_minutes"] == 45
    same = await client.post("/appointments", json=_booking(world, "2027-02-01T09:00"))
    assert same.status_code == 409
    assert same.json()["error"] == "duplicate_appointment"
    assert same.json()["appointment_id"] == first.json()["id"]
    assert same.json()["detail"] == (
        "Cette personne a déjà une convocation qui chevauche ce créneau : le lundi 1er février "
        "2027 à 9h00 (Antenne centre). Pour la convoquer quand même, confirmez avec "
        "« allow_duplicate »: true."
    )
    inside = await client.post("/appointments", json=_booking(world, "2027-02-01T09:30"))
    assert inside.json()["error"] == "duplicate_appointment"
    # Before it and ending as it starts, or starting as it ends: no overlap.
    before = await client.post(
        "/appointments", json=_booking(world, "2027-02-01T08:15", duration_minutes=45)
    )
    assert before.status_code == 201, before.text
    after = await client.post("/appointments", json=_booking(world, "2027-02-01T09:45"))
    assert after.status_code == 201, after.text
    other_person = await make_person(session, world.spip)
    await session.commit()
    someone_else = await client.post(
        "/appointments", json=_booking(world, "2027-02-01T09:00", person_id=other_person.id)
    )
    assert someone_else.status_code == 201
    confirmed = await client.post(
        "/appointments", json=_booking(world, "2027-02-01T09:00", allow_duplicate=True)
    )
    assert confirmed.status_code == 201, confirmed.text
    # A cancelled convocation is no obstacle.
    await client.post(f"/appointments/{confirmed.json()['id']}/cancel", json={"notify": False})
    await client.post(f"/appointments/{first.json()['id']}/cancel", json={"notify": False})
    again = await client.post("/appointments", json=_booking(world, "2027-02-01T09:00"))
    assert again.status_code == 201, again.text


async def test_rescheduling_onto_another_convocation_needs_confirmation(
    client: httpx.AsyncClient, world: World
) -> None:
    morning = (await client.post("/appointments", json=_booking(world, "2027-02-01T09:00"))).json()
    later = (await client.post("/appointments", json=_booking(world, "2027-02-03T14:00"))).json()
    onto = await client.post(
        f"/appointments/{later['id']}/reschedule", json={"starts_at": "2027-02-01T09:15"}
    )
    assert onto.status_code == 409
    assert onto.json()["appointment_id"] == morning["id"]
    # Moving a convocation by a few minutes overlaps only itself: allowed.
    itself = await client.post(
        f"/appointments/{morning['id']}/reschedule", json={"starts_at": "2027-02-01T09:15"}
    )
    assert itself.status_code == 201, itself.text
    confirmed = await client.post(
        f"/appointments/{later['id']}/reschedule",
        json={"starts_at": "2027-02-01T09:15", "allow_duplicate": True},
    )
    assert confirmed.status_code == 201, confirmed.text


# -- a reschedule that changes nothing --------------------------------------------------------


async def test_rescheduling_to_the_same_time_and_place_is_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await build_world(session, "America/Cayenne", "GF")
    other_place = await make_place(session, world.spip, timezone="America/Cayenne")
    await session.commit()
    booked = (await client.post("/appointments", json=_booking(world, "2027-02-01T09:00"))).json()
    for body in (
        {"starts_at": "2027-02-01T09:00"},
        {"starts_at": "2027-02-01T12:00:00Z", "place_id": world.place.id},  # the same instant
    ):
        response = await client.post(f"/appointments/{booked['id']}/reschedule", json=body)
        assert response.status_code == 422, body
        assert response.json()["error"] == "reschedule_unchanged"
        assert response.json()["detail"].startswith("La convocation est déjà à cette date")
    current = (await client.get(f"/appointments/{booked['id']}")).json()
    assert current["status"] == "booked"
    assert [n["kind"] for n in await _notifications(client, booked["id"])] == ["reminder"]
    moved = await client.post(
        f"/appointments/{booked['id']}/reschedule",
        json={"starts_at": "2027-02-01T09:00", "place_id": other_place.id},
    )
    assert moved.status_code == 201, moved.text
