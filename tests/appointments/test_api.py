"""Booking and managing convocations through the API (now = 2027-01-15T10:00Z)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Person, Place, Spip
from tests.conftest import FIXED_NOW, FrozenClock
from tests.factories import make_agent, make_appointment, make_person, make_place, make_spip


@dataclass
class World:
    spip: Spip
    place: Place
    person: Person


async def _world(session: AsyncSession, tz: str = "Europe/Paris", region: str = "FR") -> World:
    spip = await make_spip(session, timezone=tz, phone_region=region)
    place = await make_place(session, spip)
    person = await make_person(session, spip)
    await session.commit()
    return World(spip, place, person)


def _booking(world: World, starts_at: str, **extra: object) -> dict[str, object]:
    return {
        "person_id": world.person.id,
        "place_id": world.place.id,
        "appointment_type": "suivi_spip",
        "starts_at": starts_at,
    } | extra


async def test_appointment_types_are_listed(client: httpx.AsyncClient) -> None:
    types = {t["code"]: t for t in (await client.get("/appointment-types")).json()}
    assert types["tig"]["label"] == "Travail d'intérêt général (TIG)"
    assert types["visite_domicile"]["sms_enabled"] is False


async def test_guyane_booking_keeps_its_local_offset(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await _world(session, "America/Cayenne", "GF")
    response = await client.post("/appointments", json=_booking(world, "2027-03-29T09:00"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["starts_at"] == "2027-03-29T12:00:00Z"
    assert body["starts_at_local"] == "2027-03-29T09:00:00-03:00"
    assert body["timezone"] == "America/Cayenne"
    assert body["duration_minutes"] == 45
    assert body["status"] == "booked"
    fetched = (await client.get(f"/appointments/{body['id']}")).json()
    assert fetched["starts_at"] == "2027-03-29T12:00:00Z"
    assert fetched["starts_at_local"] == "2027-03-29T09:00:00-03:00"


async def test_offset_given_is_respected_and_shown_in_place_zone(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await _world(session, "Pacific/Noumea", "NC")
    response = await client.post("/appointments", json=_booking(world, "2027-03-28T21:00:00Z"))
    assert response.json()["starts_at_local"] == "2027-03-29T08:00:00+11:00"


@pytest.mark.parametrize(
    ("local", "code"),
    [("2027-03-28T02:30", "nonexistent_local_time"), ("2027-10-31T02:30", "ambiguous_local_time")],
)
async def test_dst_gap_and_fold_are_refused(
    client: httpx.AsyncClient, session: AsyncSession, local: str, code: str
) -> None:
    world = await _world(session)
    response = await client.post("/appointments", json=_booking(world, local))
    assert response.status_code == 422
    assert response.json()["error"] == code
    assert response.json()["fields"][0]["field"] == "starts_at"


async def test_fold_with_offset_is_accepted(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await _world(session)
    response = await client.post("/appointments", json=_booking(world, "2027-10-31T02:30+01:00"))
    assert response.status_code == 201
    assert response.json()["starts_at"] == "2027-10-31T01:30:00Z"
    assert response.json()["starts_at_local"] == "2027-10-31T02:30:00+01:00"


async def test_booking_in_the_past_or_too_far_is_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await _world(session)
    past = await client.post("/appointments", json=_booking(world, "2027-01-15T10:59"))
    assert past.status_code == 422  # 10:59 in Paris is 09:59Z, before now (10:00Z)
    assert past.json()["error"] == "starts_in_past"
    far = await client.post("/appointments", json=_booking(world, "2207-01-15T10:00"))
    assert far.json()["error"] == "starts_too_far"
    garbage = await client.post("/appointments", json=_booking(world, "demain 9h"))
    assert garbage.status_code == 422
    assert garbage.json()["fields"][0]["field"] == "body.starts_at"


async def test_booking_checks_references(client: httpx.AsyncClient, session: AsyncSession) -> None:
    world = await _world(session)
    other = await make_spip(session)
    foreign_place = await make_place(session, other)
    foreign_agent = await make_agent(session, other)
    archived = await make_person(session, world.spip, archived=True)
    await session.commit()
    cases = [
        (_booking(world, "2027-02-01T09:00", person_id=999999), 404, "person_not_found"),
        (_booking(world, "2027-02-01T09:00", place_id=999999), 404, "place_not_found"),
        (_booking(world, "2027-02-01T09:00", place_id=foreign_place.id), 422, "place_not_in_spip"),
        (_booking(world, "2027-02-01T09:00", agent_id=foreign_agent.id), 422, "agent_not_in_spip"),
        (
            _booking(world, "2027-02-01T09:00", appointment_type="rdv_lune"),
            422,
            "unknown_appointment_type",
        ),
        (_booking(world, "2027-02-01T09:00", person_id=archived.id), 409, "person_archived"),
        (_booking(world, "2027-02-01T09:00", duration_minutes=0), 422, "validation_error"),
    ]
    for body, status, code in cases:
        response = await client.post("/appointments", json=body)
        assert (response.status_code, response.json()["error"]) == (status, code), body


async def test_booking_defaults_agent_to_referent(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await _world(session)
    agent = await make_agent(session, world.spip)
    world.person.referent_agent_id = agent.id
    await session.commit()
    body = (
        await client.post(
            "/appointments", json=_booking(world, "2027-02-01T09:00", send_summons=True)
        )
    ).json()
    assert body["agent_id"] == agent.id
    assert body["send_summons"] is True


async def test_cancel_rules(
    client: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock
) -> None:
    world = await _world(session)
    booked = (await client.post("/appointments", json=_booking(world, "2027-02-01T09:00"))).json()
    cancelled = await client.post(f"/appointments/{booked['id']}/cancel", json={"notify": False})
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancel_reason"] == "cancelled"
    again = await client.post(f"/appointments/{booked['id']}/cancel", json={})
    assert again.status_code == 409
    assert again.json()["error"] == "invalid_transition"
    started = (await client.post("/appointments", json=_booking(world, "2027-02-02T09:00"))).json()
    clock.set(datetime(2027, 2, 2, 8, 0, tzinfo=UTC))  # 09:00 Paris
    late = await client.post(f"/appointments/{started['id']}/cancel")
    assert late.status_code == 409
    assert (await client.post("/appointments/999999/cancel")).status_code == 404


async def test_reschedule_links_old_and_new(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await _world(session)
    second_place = await make_place(session, world.spip, timezone="Europe/Paris")
    await session.commit()
    old = (await client.post("/appointments", json=_booking(world, "2027-02-01T09:00"))).json()
    response = await client.post(
        f"/appointments/{old['id']}/reschedule",
        json={"starts_at": "2027-02-03T14:30", "place_id": second_place.id, "notify": True},
    )
    assert response.status_code == 201, response.text
    new = response.json()
    assert new["rescheduled_from_id"] == old["id"]
    assert new["place_id"] == second_place.id
    assert new["starts_at_local"] == "2027-02-03T14:30:00+01:00"
    old_now = (await client.get(f"/appointments/{old['id']}")).json()
    assert old_now["status"] == "cancelled"
    assert old_now["cancel_reason"] == "rescheduled"
    assert old_now["rescheduled_to_id"] == new["id"]
    twice = await client.post(
        f"/appointments/{old['id']}/reschedule", json={"starts_at": "2027-02-04T09:00"}
    )
    assert twice.status_code == 409


async def test_failed_reschedule_leaves_the_old_convocation_booked(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await _world(session)
    old = (await client.post("/appointments", json=_booking(world, "2027-02-01T09:00"))).json()
    response = await client.post(
        f"/appointments/{old['id']}/reschedule", json={"starts_at": "2027-03-28T02:30"}
    )
    assert response.json()["error"] == "nonexistent_local_time"
    assert (await client.get(f"/appointments/{old['id']}")).json()["status"] == "booked"


async def test_outcome_rules(
    client: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock
) -> None:
    world = await _world(session)
    appt = (await client.post("/appointments", json=_booking(world, "2027-02-01T09:00"))).json()
    url = f"/appointments/{appt['id']}/outcome"
    early = await client.post(url, json={"outcome": "honored"})
    assert early.status_code == 409
    excused = await client.post(url, json={"outcome": "excused"})
    assert excused.json()["status"] == "excused"
    clock.set(datetime(2027, 2, 1, 9, 0, tzinfo=UTC))
    honored = await client.post(url, json={"outcome": "honored"})
    assert honored.json()["status"] == "honored"
    assert honored.json()["outcome_recorded_at"] == "2027-02-01T09:00:00Z"
    corrected = await client.post(url, json={"outcome": "missed"})
    assert corrected.json()["status"] == "missed"
    withdrawn = await client.post(url, json={"outcome": "booked"})
    assert withdrawn.json()["status"] == "booked"
    assert withdrawn.json()["outcome_recorded_at"] is None
    clock.set(datetime(2027, 8, 2, 9, 0, tzinfo=UTC))
    too_late = await client.post(url, json={"outcome": "missed"})
    assert too_late.status_code == 409
    bad = await client.post(url, json={"outcome": "cancelled"})
    assert bad.status_code == 422


async def test_no_outcome_on_a_cancelled_convocation(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await _world(session)
    appt = await make_appointment(
        session,
        world.person,
        world.place,
        starts_at=FIXED_NOW - timedelta(days=1),
        status="cancelled",
    )
    await session.commit()
    response = await client.post(f"/appointments/{appt.id}/outcome", json={"outcome": "honored"})
    assert response.status_code == 409


async def test_list_filters_and_pagination(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await _world(session, "America/Cayenne", "GF")
    agent = await make_agent(session, world.spip)
    other = await _world(session)
    await session.commit()
    # 23:30 on 31 January in Cayenne is 02:30Z on 1 February: it belongs to January locally.
    late_january = await make_appointment(
        session,
        world.person,
        world.place,
        starts_at=datetime(2027, 2, 1, 2, 30, tzinfo=UTC),
        agent_id=agent.id,
    )
    february = await make_appointment(
        session,
        world.person,
        world.place,
        starts_at=datetime(2027, 2, 10, 12, 0, tzinfo=UTC),
        status="cancelled",
    )
    await make_appointment(
        session, other.person, other.place, starts_at=datetime(2027, 2, 1, 8, 0, tzinfo=UTC)
    )
    await session.commit()

    async def ids(**params: object) -> list[int]:
        response = await client.get("/appointments", params=params)
        assert response.status_code == 200, response.text
        return [a["id"] for a in response.json()["items"]]

    assert await ids(spip_id=world.spip.id) == [late_january.id, february.id]
    assert await ids(spip_id=world.spip.id, **{"from": "2027-01-01", "to": "2027-01-31"}) == [
        late_january.id
    ]
    assert await ids(spip_id=world.spip.id, **{"from": "2027-02-01"}) == [february.id]
    assert await ids(person_id=world.person.id, status="cancelled") == [february.id]
    assert await ids(agent_id=agent.id) == [late_january.id]
    page = (
        await client.get(
            "/appointments", params={"spip_id": world.spip.id, "limit": 1, "offset": 1}
        )
    ).json()
    assert page["total"] == 2 and [a["id"] for a in page["items"]] == [february.id]
    bad = await client.get("/appointments", params={"status": "lost"})
    assert bad.status_code == 422
    too_big = await client.get("/appointments", params={"limit": 10_000})
    assert too_big.status_code == 422


async def test_unknown_appointment_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/appointments/999999")
    assert response.status_code == 404
    assert response.json()["error"] == "appointment_not_found"
    huge = await client.get("/appointments/99999999999999")
    assert huge.status_code == 422
