"""Agendas, slots and booking into them through the API (now = Friday 2027-01-15T10:00Z)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Agent, AuditEvent, Person, Place, Slot, Spip
from tests.agendas.support import make_agenda, make_slot
from tests.conftest import ClientFactory
from tests.factories import make_agent, make_person, make_place, make_spip

# Tuesday 2 February 2027, 9:00 in Paris (winter time).
TUESDAY_9 = datetime(2027, 2, 2, 8, 0, tzinfo=UTC)


@dataclass
class World:
    spip: Spip
    place: Place
    person: Person
    other: Person
    secretariat: Agent
    cpip: Agent


async def _world(session: AsyncSession, tz: str = "Europe/Paris") -> World:
    spip = await make_spip(session, timezone=tz)
    place = await make_place(session, spip)
    world = World(
        spip,
        place,
        await make_person(session, spip),
        await make_person(session, spip, phone="+33612345679"),
        await make_agent(session, spip, role="secretariat"),
        await make_agent(session, spip, role="cpip"),
    )
    await session.commit()
    return world


def _booking(person: Person, slot_id: int, **extra: Any) -> dict[str, Any]:
    return {"person_id": person.id, "appointment_type": "suivi_spip", "slot_id": slot_id} | extra


async def _slot(session: AsyncSession, world: World, **overrides: Any) -> Slot:
    agenda = await make_agenda(session, world.place, **overrides.pop("agenda", {}))
    slot = await make_slot(
        session, agenda, starts_at=overrides.pop("starts_at", TUESDAY_9), **overrides
    )
    await session.commit()
    return slot


async def _seats_left(client: httpx.AsyncClient, slot_id: int) -> int:
    answer = await client.get(f"/slots/{slot_id}")
    assert answer.status_code == 200, answer.text
    return int(answer.json()["seats_left"])


async def test_secretariat_opens_an_agenda_and_a_weekly_slot_type_listed_in_local_time(
    session: AsyncSession, client_for: ClientFactory
) -> None:
    world = await _world(session)
    async with client_for(world.secretariat) as client:
        agenda = await client.post(
            f"/places/{world.place.id}/agendas",
            json={"name": "Permanence du mardi", "appointment_types": ["suivi_spip"]},
        )
        assert agenda.status_code == 201, agenda.text
        agenda_id = agenda.json()["id"]
        created = await client.post(
            f"/agendas/{agenda_id}/slot-types",
            json={
                "weekday": 2,
                "start_time": "09:00",
                "duration_minutes": 20,
                "capacity": 2,
                "from_date": "2027-01-01",
                "to_date": "2027-04-30",
            },
        )
        assert created.status_code == 201, created.text
        assert created.json()["slots_created"] == 15  # Tuesdays 19 January … 27 April
        listed = await client.get(
            f"/agendas/{agenda_id}/slots", params={"from": "2027-03-23", "to": "2027-03-30"}
        )
    assert listed.status_code == 200, listed.text
    slots = listed.json()
    assert [s["starts_at_local"] for s in slots] == [
        "2027-03-23T09:00:00+01:00",
        "2027-03-30T09:00:00+02:00",
    ]
    assert slots[0]["ends_at_local"] == "2027-03-23T09:20:00+01:00"
    assert slots[0]["seats_left"] == 2
    assert slots[0]["agenda_name"] == "Permanence du mardi"
    assert slots[0]["timezone"] == "Europe/Paris"


async def test_a_cpip_reads_agendas_but_may_not_open_slots(
    session: AsyncSession, client_for: ClientFactory
) -> None:
    world = await _world(session)
    slot = await _slot(session, world)
    async with client_for(world.cpip) as client:
        assert (await client.get(f"/agendas/{slot.agenda_id}/slots")).status_code == 200
        refused = await client.post(
            f"/agendas/{slot.agenda_id}/slots",
            json={"dates": ["2027-02-03"], "times": ["10:00"], "duration_minutes": 30},
        )
    assert refused.status_code == 403


async def test_batch_creation_of_dates_times_and_of_an_interval(
    session: AsyncSession, client_for: ClientFactory
) -> None:
    world = await _world(session)
    slot = await _slot(session, world)
    async with client_for(world.secretariat) as client:
        grid = await client.post(
            f"/agendas/{slot.agenda_id}/slots",
            json={
                "dates": ["2027-02-03", "2027-02-04"],
                "times": ["09:00", "14:00"],
                "duration_minutes": 30,
                "capacity": 8,
            },
        )
        series = await client.post(
            f"/agendas/{slot.agenda_id}/slots",
            json={
                "day": "2027-02-05",
                "start": "09:00",
                "end": "12:00",
                "interval_minutes": 20,
                "duration_minutes": 20,
            },
        )
        again = await client.post(
            f"/agendas/{slot.agenda_id}/slots",
            json={"dates": ["2027-02-03"], "times": ["09:00"], "duration_minutes": 30},
        )
        past = await client.post(
            f"/agendas/{slot.agenda_id}/slots",
            json={"dates": ["2027-01-14"], "times": ["09:00"], "duration_minutes": 30},
        )
        both = await client.post(
            f"/agendas/{slot.agenda_id}/slots",
            json={"dates": ["2027-02-03"], "times": ["09:00"], "day": "2027-02-05",
                  "duration_minutes": 30},
        )  # fmt: skip
    assert grid.status_code == 201, grid.text
    assert [s["starts_at_local"] for s in grid.json()["created"]] == [
        "2027-02-03T09:00:00+01:00",
        "2027-02-03T14:00:00+01:00",
        "2027-02-04T09:00:00+01:00",
        "2027-02-04T14:00:00+01:00",
    ]
    assert {s["capacity"] for s in grid.json()["created"]} == {8}
    assert series.status_code == 201, series.text
    assert len(series.json()["created"]) == 9  # 9:00, 9:20 … 11:40
    assert series.json()["created"][-1]["starts_at_local"] == "2027-02-05T11:40:00+01:00"
    assert again.status_code == 201
    assert again.json() == {"created": [], "skipped": 1}
    assert past.status_code == 422
    assert past.json()["error"] == "slot_in_past"
    assert both.status_code == 422


async def test_booking_the_last_seat_then_slot_full_and_cancel_frees_it(
    session: AsyncSession, client_for: ClientFactory
) -> None:
    world = await _world(session)
    slot = await _slot(session, world)
    async with client_for(world.secretariat) as client:
        booked = await client.post("/appointments", json=_booking(world.person, slot.id))
        assert booked.status_code == 201, booked.text
        body = booked.json()
        assert body["slot_id"] == slot.id
        assert body["starts_at_local"] == "2027-02-02T09:00:00+01:00"
        assert body["place_id"] == world.place.id
        assert body["duration_minutes"] == 30  # the slot's, not the type's 45
        assert body["next_notification_at"] is not None  # reminders planned as usual
        assert await _seats_left(client, slot.id) == 0
        full = await client.post("/appointments", json=_booking(world.other, slot.id))
        assert full.status_code == 409, full.text
        assert full.json()["error"] == "slot_full"
        assert "complet" in full.json()["detail"]
        cancelled = await client.post(f"/appointments/{body['id']}/cancel", json={"notify": False})
        assert cancelled.status_code == 200, cancelled.text
        assert await _seats_left(client, slot.id) == 1
        again = await client.post("/appointments", json=_booking(world.other, slot.id))
    assert again.status_code == 201, again.text


async def test_slot_id_with_starts_at_or_place_is_refused(
    session: AsyncSession, client_for: ClientFactory
) -> None:
    world = await _world(session)
    slot = await _slot(session, world)
    async with client_for(world.secretariat) as client:
        mixed = await client.post(
            "/appointments",
            json=_booking(world.person, slot.id, starts_at="2027-02-02T09:00"),
        )
        neither = await client.post(
            "/appointments", json={"person_id": world.person.id, "appointment_type": "tig"}
        )
    assert mixed.status_code == 422
    assert neither.status_code == 422


async def test_raising_capacity_reopens_a_full_slot_and_lowering_below_booked_is_refused(
    session: AsyncSession, client_for: ClientFactory
) -> None:
    world = await _world(session)
    slot = await _slot(session, world)
    async with client_for(world.secretariat) as client:
        assert (
            await client.post("/appointments", json=_booking(world.person, slot.id))
        ).status_code == 201
        assert (
            await client.post("/appointments", json=_booking(world.other, slot.id))
        ).status_code == 409
        raised = await client.patch(f"/slots/{slot.id}", json={"capacity": 2})
        assert raised.status_code == 200, raised.text
        assert raised.json()["seats_left"] == 1
        assert (
            await client.post("/appointments", json=_booking(world.other, slot.id))
        ).status_code == 201
        lowered = await client.patch(f"/slots/{slot.id}", json={"capacity": 1})
    assert lowered.status_code == 409
    assert lowered.json()["error"] == "capacity_below_booked"
    assert lowered.json()["detail"] == (
        "Ce créneau compte déjà 2 convocations : sa capacité ne peut pas descendre en dessous."
    )
    async with client_for(world.secretariat) as client:
        kept = await client.get(f"/places/{world.place.id}/slots", params={"from": "2027-02-01"})
    assert [s["capacity"] for s in kept.json() if s["id"] == slot.id] == [2]


async def test_a_closed_slot_refuses_new_bookings_and_keeps_the_existing_one(
    session: AsyncSession, client_for: ClientFactory
) -> None:
    world = await _world(session)
    slot = await _slot(session, world, capacity=3)
    async with client_for(world.secretariat) as client:
        booked = await client.post("/appointments", json=_booking(world.person, slot.id))
        closed = await client.patch(f"/slots/{slot.id}", json={"closed": True})
        assert closed.status_code == 200, closed.text
        refused = await client.post("/appointments", json=_booking(world.other, slot.id))
        kept = await client.get(f"/appointments/{booked.json()['id']}")
        free = await client.get(
            f"/places/{world.place.id}/slots",
            params={"from": "2027-02-01", "to": "2027-02-07", "free": "true"},
        )
    assert refused.status_code == 409
    assert refused.json()["error"] == "slot_closed"
    assert kept.json()["status"] == "booked"
    assert free.json() == []
    audited = await session.scalar(
        select(AuditEvent.id).where(AuditEvent.entity == "slot", AuditEvent.entity_id == slot.id)
    )
    assert audited is not None  # closing a slot is in the audit trail


async def test_a_type_the_agenda_does_not_accept_is_refused(
    session: AsyncSession, client_for: ClientFactory
) -> None:
    world = await _world(session)
    slot = await _slot(session, world, agenda={"appointment_types": ["sortie_audience_spip"]})
    async with client_for(world.secretariat) as client:
        refused = await client.post("/appointments", json=_booking(world.person, slot.id))
        accepted = await client.post(
            "/appointments",
            json=_booking(world.person, slot.id, appointment_type="sortie_audience_spip"),
        )
    assert refused.status_code == 422
    assert refused.json()["error"] == "appointment_type_not_accepted"
    assert accepted.status_code == 201, accepted.text


async def test_rescheduling_moves_the_seat_out_of_or_into_a_slot(
    session: AsyncSession, client_for: ClientFactory
) -> None:
    world = await _world(session)
    first = await _slot(session, world)
    second = await _slot(session, world, starts_at=datetime(2027, 2, 9, 8, 0, tzinfo=UTC))
    async with client_for(world.secretariat) as client:
        booked = (await client.post("/appointments", json=_booking(world.person, first.id))).json()
        moved = await client.post(
            f"/appointments/{booked['id']}/reschedule", json={"slot_id": second.id, "notify": False}
        )
        assert moved.status_code == 201, moved.text
        assert moved.json()["slot_id"] == second.id
        assert moved.json()["starts_at_local"] == "2027-02-09T09:00:00+01:00"
        assert (await _seats_left(client, first.id), await _seats_left(client, second.id)) == (1, 0)
        out = await client.post(
            f"/appointments/{moved.json()['id']}/reschedule",
            json={"starts_at": "2027-02-10T15:00", "notify": False},
        )
        assert out.status_code == 201, out.text
        assert out.json()["slot_id"] is None
        assert await _seats_left(client, second.id) == 1


async def test_deleting_a_slot_type_keeps_slots_holding_a_convocation(
    session: AsyncSession, client_for: ClientFactory
) -> None:
    world = await _world(session)
    agenda = await make_agenda(session, world.place)
    await session.commit()
    async with client_for(world.secretariat) as client:
        created = await client.post(
            f"/agendas/{agenda.id}/slot-types",
            json={"weekday": 2, "start_time": "09:00", "duration_minutes": 30,
                  "from_date": "2027-01-01", "to_date": "2027-02-28"},
        )  # fmt: skip
        assert created.json()["slots_created"] == 6  # 19 Jan … 23 Feb
        period = {"from": "2027-01-15", "to": "2027-02-28"}
        slots = (await client.get(f"/agendas/{agenda.id}/slots", params=period)).json()
        booked = await client.post("/appointments", json=_booking(world.person, slots[2]["id"]))
        assert booked.status_code == 201, booked.text
        deleted = await client.delete(f"/slot-types/{created.json()['id']}")
        assert deleted.status_code == 204
        assert (await client.delete(f"/slot-types/{created.json()['id']}")).status_code == 204
        left = (await client.get(f"/agendas/{agenda.id}/slots", params=period)).json()
        kept = await client.get(f"/appointments/{booked.json()['id']}")
        types = (await client.get(f"/agendas/{agenda.id}/slot-types")).json()
    assert [s["id"] for s in left] == [slots[2]["id"]]
    assert kept.json()["status"] == "booked"
    assert types[0]["active"] is False


async def test_free_slots_of_a_place_across_its_agendas_in_local_time(
    session: AsyncSession, client_for: ClientFactory
) -> None:
    world = await _world(session, "America/Miquelon")
    # 9:00 in Saint-Pierre on Tuesday 16 March 2027 is 11:00Z (summer time since 14 March).
    full = await _slot(session, world, starts_at=datetime(2027, 3, 16, 11, 0, tzinfo=UTC))
    free = await _slot(
        session, world, starts_at=datetime(2027, 3, 16, 13, 0, tzinfo=UTC), capacity=4,
        agenda={"name": "SAP"},
    )  # fmt: skip
    other_place = await make_place(session, world.spip)
    await make_slot(
        session,
        await make_agenda(session, other_place),
        starts_at=datetime(2027, 3, 16, 12, 0, tzinfo=UTC),
    )
    await session.commit()
    async with client_for(world.cpip) as client:
        assert (
            await client.post("/appointments", json=_booking(world.person, full.id))
        ).status_code == 201
        period = {"from": "2027-03-16", "to": "2027-03-16"}
        every = await client.get(f"/places/{world.place.id}/slots", params=period)
        only_free = await client.get(
            f"/places/{world.place.id}/slots", params=period | {"free": "true"}
        )
    assert [s["id"] for s in every.json()] == [full.id, free.id]
    assert only_free.status_code == 200, only_free.text
    [slot] = only_free.json()
    assert slot["id"] == free.id
    assert slot["starts_at_local"] == "2027-03-16T11:00:00-02:00"
    assert slot["seats_left"] == 4
    assert slot["agenda_name"] == "SAP"


async def test_another_spips_agenda_and_slots_answer_404(
    session: AsyncSession, client_for: ClientFactory
) -> None:
    world = await _world(session)
    other = await _world(session)
    slot = await _slot(session, other)
    async with client_for(world.secretariat) as client:
        agenda = await client.get(f"/agendas/{slot.agenda_id}")
        booking = await client.post("/appointments", json=_booking(world.person, slot.id))
    assert agenda.status_code == 404
    assert booking.status_code == 404


async def test_a_booking_preview_into_a_slot_takes_no_seat(
    session: AsyncSession, client_for: ClientFactory
) -> None:
    world = await _world(session)
    slot = await _slot(session, world)
    async with client_for(world.secretariat) as client:
        preview = await client.post("/appointments/preview", json=_booking(world.person, slot.id))
        assert preview.status_code == 200, preview.text
        assert preview.json()["starts_at_local"] == "2027-02-02T09:00:00+01:00"
        assert await _seats_left(client, slot.id) == 1
