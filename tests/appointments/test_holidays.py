"""A convocation on a public holiday of its place is booked, with a ``public_holiday`` warning
(now = 2027-01-15T10:00Z): 10 June is the abolition of slavery in Guyane, not in Paris."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.appointments.test_api import World, _booking
from tests.factories import make_person, make_place, make_spip

GUYANE_10_JUNE = (
    "Le jeudi 10 juin 2027 est férié en Guyane (Abolition de l'esclavage) : vérifiez que le "
    "service est ouvert."
)


async def _guyane(session: AsyncSession, *, place_territory: str | None = None) -> World:
    spip = await make_spip(
        session, timezone="America/Cayenne", phone_region="GF", holiday_territory="973"
    )
    place = await make_place(session, spip, holiday_territory=place_territory)
    person = await make_person(session, spip)
    await session.commit()
    return World(spip, place, person)


def _holidays(answer: httpx.Response) -> list[dict[str, object]]:
    return [w for w in answer.json()["warnings"] if w["code"] == "public_holiday"]


async def test_booking_on_a_guyane_holiday_is_warned_not_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await _guyane(session)
    booked = await client.post("/appointments", json=_booking(world, "2027-06-10T09:00"))
    assert booked.status_code == 201, booked.text
    assert _holidays(booked) == [
        {"code": "public_holiday", "kind": None, "message": GUYANE_10_JUNE}
    ]
    next_day = await client.post("/appointments", json=_booking(world, "2027-06-11T09:00"))
    assert next_day.status_code == 201, next_day.text
    assert _holidays(next_day) == []


async def test_preview_warns_of_the_holiday_in_the_places_local_day(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await _guyane(session)
    # 22:30 in Cayenne on 10 June is 11 June in UTC: the local day counts.
    late = await client.post("/appointments/preview", json=_booking(world, "2027-06-10T22:30"))
    assert late.status_code == 200, late.text
    assert [w["message"] for w in _holidays(late)] == [GUYANE_10_JUNE]
    after = await client.post("/appointments/preview", json=_booking(world, "2027-06-11T09:00"))
    assert _holidays(after) == []


async def test_a_metropolitan_spip_is_not_warned_on_a_guyane_holiday(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip = await make_spip(session)
    world = World(spip, await make_place(session, spip), await make_person(session, spip))
    await session.commit()
    booked = await client.post("/appointments", json=_booking(world, "2027-06-10T09:00"))
    assert booked.status_code == 201, booked.text
    assert _holidays(booked) == []
    national = await client.post("/appointments/preview", json=_booking(world, "2027-07-14T09:00"))
    assert [w["message"] for w in _holidays(national)] == [
        "Le mercredi 14 juillet 2027 est férié (Fête nationale) : vérifiez que le service est "
        "ouvert."
    ]


async def test_the_places_territory_wins_over_the_spips(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    # A place of the Guyane SPIP told to follow Réunion's holidays (an artificial case: the
    # override is what a SPIP covering Moselle and another département needs).
    world = await _guyane(session, place_territory="974")
    guyane_day = await client.post(
        "/appointments/preview", json=_booking(world, "2027-06-10T09:00")
    )
    assert _holidays(guyane_day) == []
    reunion_day = await client.post(
        "/appointments/preview", json=_booking(world, "2027-12-20T09:00")
    )
    assert [w["message"] for w in _holidays(reunion_day)] == [
        "Le lundi 20 décembre 2027 est férié à La Réunion (Abolition de l'esclavage) : vérifiez "
        "que le service est ouvert."
    ]


async def test_reschedule_onto_a_moselle_holiday_is_warned(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip = await make_spip(session)
    metz = await make_place(session, spip, holiday_territory="57")
    world = World(spip, await make_place(session, spip), await make_person(session, spip))
    await session.commit()
    booked = await client.post("/appointments", json=_booking(world, "2027-12-27T09:00"))
    assert _holidays(booked) == []
    moved = await client.post(
        f"/appointments/{booked.json()['id']}/reschedule",
        json={"starts_at": "2027-12-26T09:00", "place_id": metz.id},
    )
    assert moved.status_code == 201, moved.text
    assert [w["message"] for w in _holidays(moved)] == [
        "Le dimanche 26 décembre 2027 est férié en Moselle (Saint-Étienne) : vérifiez que le "
        "service est ouvert."
    ]
    # The same day at the SPIP's other place (no territory: metropolitan) is a working day.
    again = await client.post(
        f"/appointments/{moved.json()['id']}/reschedule",
        json={"starts_at": "2027-12-26T10:00", "place_id": world.place.id},
    )
    assert again.status_code == 201, again.text
    assert _holidays(again) == []
