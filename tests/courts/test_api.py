"""Courts and the court clerk's « sortie d'audience » through the API (now = 2027-01-15T10:00Z).

A national administrator creates a court and links it to a SPIP; the SPIP opens an agenda to
the courts; the court's clerk sees that agenda only, its free seats per local day, books the
person standing there (created in the SPIP, with the duplicate warning) and gets nothing else of
the SPIP.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Agenda, Agent, Appointment, Court, Notification, Person, Place, Slot, Spip
from tests.agendas.support import make_agenda, make_slot
from tests.conftest import FIXED_NOW, ClientFactory
from tests.factories import make_agent, make_court, make_person, make_place, make_spip

# Tuesday 2 February 2027, 14:00 in Paris (winter time).
TUESDAY_14 = datetime(2027, 2, 2, 13, 0, tzinfo=UTC)


@dataclass
class World:
    spip: Spip
    place: Place
    court: Court
    clerk: Agent
    secretariat: Agent
    agenda: Agenda


async def _world(session: AsyncSession, tz: str = "Europe/Paris") -> World:
    spip = await make_spip(session, timezone=tz, name="SPIP des Hauts-de-Seine")
    place = await make_place(session, spip, name="Antenne de Nanterre")
    court = await make_court(session, spip)
    world = World(
        spip,
        place,
        court,
        await make_agent(session, None, role="court_clerk", court_id=court.id),
        await make_agent(session, spip, role="secretariat"),
        await make_agenda(session, place, name="Sortie d'audience", open_to_courts=True),
    )
    await session.commit()
    return world


def _person(**extra: Any) -> dict[str, Any]:
    return {
        "first_name": "Dominique",
        "last_name": "Lefèvre",
        "birth_date": "1990-05-17",
        "phone": "06 12 34 56 78",
    } | extra


async def _book(client: httpx.AsyncClient, slot_id: int, **extra: Any) -> httpx.Response:
    return await client.post(
        "/court/bookings", json={"slot_id": slot_id, "person": _person()} | extra
    )


# ------------------------------------------------------------------ courts and clerks


async def test_national_admin_creates_a_court_links_it_and_gives_it_a_clerk(
    session: AsyncSession, client: httpx.AsyncClient, client_for: ClientFactory
) -> None:
    spip, other = await make_spip(session), await make_spip(session)
    local_admin = await make_agent(session, spip, role="local_admin")
    await session.commit()
    created = await client.post(
        "/courts", json={"name": "Tribunal judiciaire de Nanterre", "spip_ids": [spip.id]}
    )
    assert created.status_code == 201, created.text
    court = created.json()
    assert court["spip_ids"] == [spip.id] and court["active"] is True
    again = await client.post("/courts", json={"name": "Tribunal judiciaire de Nanterre"})
    assert again.status_code == 409 and again.json()["error"] == "court_name_taken"
    unknown = await client.post("/courts", json={"name": "TJ", "spip_ids": [999_999]})
    assert unknown.status_code == 422 and unknown.json()["error"] == "court_spip_unknown"

    patched = await client.patch(f"/courts/{court['id']}", json={"spip_ids": [other.id, spip.id]})
    assert patched.status_code == 200, patched.text
    assert patched.json()["spip_ids"] == sorted([spip.id, other.id])
    assert (await client.get(f"/courts/{court['id']}")).json()["spip_ids"] == sorted(
        [spip.id, other.id]
    )
    assert [c["id"] for c in (await client.get("/courts")).json()] == [court["id"]]
    assert (await client.get("/courts/999999")).json()["error"] == "court_not_found"

    clerk = {"name": "Greffe", "email": "greffe@tj.fr", "role": "court_clerk"}
    missing = await client.post("/agents", json=clerk)
    assert missing.status_code == 422 and missing.json()["error"] == "court_required"
    with_spip = await client.post(
        "/agents", json=clerk | {"court_id": court["id"], "spip_id": spip.id}
    )
    assert with_spip.json()["error"] == "clerk_without_spip"
    not_clerk = await client.post(
        "/agents", json=clerk | {"role": "cpip", "spip_id": spip.id, "court_id": court["id"]}
    )
    assert not_clerk.json()["error"] == "court_not_allowed"
    made = await client.post("/agents", json=clerk | {"court_id": court["id"]})
    assert made.status_code == 201, made.text
    assert made.json()["court_id"] == court["id"] and made.json()["spip_id"] is None
    assert (await client.get(f"/agents/{made.json()['id']}")).json()["court_id"] == court["id"]
    fixed = await client.patch(f"/agents/{made.json()['id']}", json={"role": "cpip"})
    assert fixed.status_code == 422 and fixed.json()["error"] == "clerk_role_fixed"

    async with client_for(local_admin) as local:
        refused = await local.post(
            "/agents", json=clerk | {"email": "g2@tj.fr", "court_id": court["id"]}
        )
        assert refused.status_code == 403
        assert (await local.get("/courts")).status_code == 403


# ------------------------------------------------------------------ what a clerk sees


async def test_clerk_lists_only_the_open_agendas_of_its_courts_spips(
    session: AsyncSession, client_for: ClientFactory
) -> None:
    world = await _world(session)
    await make_agenda(session, world.place, name="Permanence CPIP")  # not opened to courts
    await make_agenda(session, world.place, name="Ancien agenda", open_to_courts=True, active=False)
    closed_place = await make_place(session, world.spip, active=False)
    await make_agenda(session, closed_place, name="Lieu fermé", open_to_courts=True)
    elsewhere = await make_spip(session)
    unlinked = await make_agenda(
        session, await make_place(session, elsewhere), name="Autre SPIP", open_to_courts=True
    )
    await session.commit()
    async with client_for(world.clerk) as clerk:
        listed = await clerk.get("/court/agendas")
        assert listed.status_code == 200, listed.text
        assert [(a["id"], a["place_name"], a["spip_name"]) for a in listed.json()] == [
            (world.agenda.id, "Antenne de Nanterre", "SPIP des Hauts-de-Seine")
        ]
        hidden = await clerk.get(
            f"/court/agendas/{unlinked.id}/slots", params={"day": "2027-02-02"}
        )
        assert hidden.status_code == 404 and hidden.json()["error"] == "agenda_not_found"
        world.court.active = False
        session.add(world.court)
        await session.commit()
        assert (await clerk.get("/court/agendas")).json() == []


async def test_month_availability_counts_local_days_across_the_october_dst_change_in_paris(
    session: AsyncSession, client_for: ClientFactory
) -> None:
    world = await _world(session)
    a = world.agenda
    # 1 October 00:30 in Paris (summer time) is still 30 September in UTC.
    await make_slot(session, a, starts_at=datetime(2027, 9, 30, 22, 30, tzinfo=UTC), capacity=3)
    await make_slot(session, a, starts_at=datetime(2027, 9, 30, 21, 30, tzinfo=UTC))  # 30 Sept
    # 31 October, the change at 01:00 UTC: 01:30 local (summer) and 23:30 local (winter).
    await make_slot(session, a, starts_at=datetime(2027, 10, 30, 23, 30, tzinfo=UTC), capacity=2)
    await make_slot(
        session, a, starts_at=datetime(2027, 10, 31, 22, 30, tzinfo=UTC), capacity=4, booked=1
    )
    await make_slot(session, a, starts_at=datetime(2027, 10, 31, 23, 15, tzinfo=UTC))  # 1 Nov
    full = datetime(2027, 10, 12, 12, 0, tzinfo=UTC)
    await make_slot(session, a, starts_at=full, capacity=2, booked=2)
    await make_slot(session, a, starts_at=datetime(2027, 10, 12, 13, 0, tzinfo=UTC), closed=True)
    await session.commit()
    async with client_for(world.clerk) as clerk:
        answer = await clerk.get(f"/court/agendas/{a.id}/availability", params={"month": "2027-10"})
        assert answer.status_code == 200, answer.text
        days = {d["day"]: (d["free_seats"], d["slots"]) for d in answer.json()}
        bad = await clerk.get(f"/court/agendas/{a.id}/availability", params={"month": "2027-13"})
    assert len(days) == 31 and min(days) == "2027-10-01" and max(days) == "2027-10-31"
    assert days["2027-10-01"] == (3, 1)
    assert days["2027-10-31"] == (2 + 3, 2)
    assert days["2027-10-12"] == (0, 1)  # full: counted as a slot without a free seat
    assert sum(free for free, _ in days.values()) == 8
    assert bad.status_code == 422


async def test_month_availability_reads_local_days_in_cayenne(
    session: AsyncSession, client_for: ClientFactory
) -> None:
    world = await _world(session, tz="America/Cayenne")
    a = world.agenda
    # 1 October 01:00 UTC is still 30 September, 22:00 in Cayenne (UTC−3).
    await make_slot(session, a, starts_at=datetime(2027, 10, 1, 1, 0, tzinfo=UTC))
    # 1 November 02:00 UTC is 31 October, 23:00 in Cayenne.
    await make_slot(session, a, starts_at=datetime(2027, 11, 1, 2, 0, tzinfo=UTC), capacity=5)
    await session.commit()
    async with client_for(world.clerk) as clerk:
        answer = await clerk.get(f"/court/agendas/{a.id}/availability", params={"month": "2027-10"})
    days = {d["day"]: (d["free_seats"], d["slots"]) for d in answer.json()}
    assert days["2027-10-01"] == (0, 0)
    assert days["2027-10-31"] == (5, 1)
    assert sum(free for free, _ in days.values()) == 5


async def test_availability_and_day_slots_leave_out_what_has_started(
    session: AsyncSession, client_for: ClientFactory
) -> None:
    world = await _world(session)
    a = world.agenda
    await make_slot(session, a, starts_at=datetime(2027, 1, 15, 9, 0, tzinfo=UTC))  # started
    later = await make_slot(session, a, starts_at=datetime(2027, 1, 15, 13, 0, tzinfo=UTC))
    full = await make_slot(session, a, starts_at=datetime(2027, 1, 15, 14, 0, tzinfo=UTC), booked=1)
    await make_slot(session, a, starts_at=datetime(2027, 1, 15, 15, 0, tzinfo=UTC), closed=True)
    await session.commit()
    async with client_for(world.clerk) as clerk:
        month = await clerk.get(f"/court/agendas/{a.id}/availability", params={"month": "2027-01"})
        slots = await clerk.get(f"/court/agendas/{a.id}/slots", params={"day": "2027-01-15"})
    day = next(d for d in month.json() if d["day"] == "2027-01-15")
    assert (day["free_seats"], day["slots"]) == (1, 2)
    assert slots.status_code == 200, slots.text
    assert [(s["id"], s["seats_left"]) for s in slots.json()] == [(later.id, 1), (full.id, 0)]
    assert slots.json()[0]["starts_at_local"] == "2027-01-15T14:00:00+01:00"


# ------------------------------------------------------------------ booking


async def test_clerk_books_the_person_who_is_created_and_summoned_at_once(
    session: AsyncSession, client_for: ClientFactory
) -> None:
    world = await _world(session)
    slot = await make_slot(session, world.agenda, starts_at=TUESDAY_14, capacity=2)
    await session.commit()
    async with client_for(world.clerk) as clerk:
        booked = await _book(clerk, slot.id)
        assert booked.status_code == 201, booked.text
        summary = booked.json()
        read_back = await clerk.get(f"/court/bookings/{summary['id']}")
        listed = await clerk.get("/court/bookings")
    assert read_back.status_code == 200 and read_back.json() == summary
    assert [b["id"] for b in listed.json()] == [summary["id"]]
    assert summary["person_last_name"] == "Lefèvre"
    assert summary["date_label"] == "mardi 2 février 2027" and summary["time_label"] == "14h00"
    assert summary["place_name"] == "Antenne de Nanterre"
    assert summary["agenda_name"] == "Sortie d'audience"
    assert summary["appointment_type"] == "sortie_audience_spip"
    assert summary["summons_status"] == "planned"
    assert summary["phone_masked"] is not None and "12345678" not in summary["phone_masked"]
    assert summary["court_id"] == world.court.id

    appointment = await session.get_one(Appointment, summary["id"])
    person = await session.get_one(Person, appointment.person_id)
    assert person.spip_id == world.spip.id and person.phone == "+33612345678"
    assert appointment.court_id == world.court.id and appointment.created_by_id == world.clerk.id
    assert appointment.slot_id == slot.id and appointment.summons_requested is True
    summons = await session.scalar(
        select(Notification).where(
            Notification.appointment_id == appointment.id, Notification.kind == "summons"
        )
    )
    assert summons is not None and summons.status == "planned"
    assert summons.send_at <= FIXED_NOW.replace(minute=5)  # at once, not at reminder time
    await session.refresh(slot)
    assert slot.booked == 1

    # The SPIP sees who booked from the court.
    async with client_for(world.secretariat) as spip_agent:
        seen = await spip_agent.get(f"/appointments/{appointment.id}")
    assert seen.status_code == 200, seen.text
    body = seen.json()
    assert body["court_id"] == world.court.id and body["court_name"] == world.court.name
    assert body["created_by_id"] == world.clerk.id


async def test_likely_duplicate_answers_409_with_candidates_only_then_books_the_candidate(
    session: AsyncSession, client_for: ClientFactory
) -> None:
    world = await _world(session)
    known = await make_person(
        session,
        world.spip,
        first_name="Dominique",
        last_name="LEFEVRE",
        birth_date=datetime(1990, 5, 17).date(),
        phone="+33699999999",
    )
    stranger = await make_person(session, world.spip, phone="+33611111111")
    slot = await make_slot(session, world.agenda, starts_at=TUESDAY_14, capacity=3)
    await session.commit()
    async with client_for(world.clerk) as clerk:
        warned = await _book(clerk, slot.id)
        assert warned.status_code == 409, warned.text
        assert warned.json()["error"] == "person_likely_duplicate"
        assert warned.json()["candidates"] == [known.id]
        assert set(warned.json()) == {"error", "detail", "candidates"}  # nothing of the file
        not_candidate = await _book(clerk, slot.id, person_id=stranger.id)
        assert not_candidate.status_code == 422
        assert not_candidate.json()["error"] == "court_person_not_candidate"
        id_alone = await clerk.post(
            "/court/bookings", json={"slot_id": slot.id, "person_id": known.id}
        )
        assert id_alone.status_code == 422
        taken = await _book(clerk, slot.id, person_id=known.id)
        assert taken.status_code == 201, taken.text
        # Another convocation overlapping: refused without telling when or where the other is.
        overlapping = await _book(clerk, slot.id, person_id=known.id)
        assert overlapping.status_code == 409
        assert overlapping.json()["error"] == "duplicate_appointment"
        assert set(overlapping.json()) == {"error", "detail"}
        confirmed = await _book(clerk, slot.id, allow_duplicate=True)
        assert confirmed.status_code == 201, confirmed.text
    first = await session.get_one(Appointment, taken.json()["id"])
    second = await session.get_one(Appointment, confirmed.json()["id"])
    assert first.person_id == known.id
    assert second.person_id not in (known.id, stranger.id)
    count = await session.scalar(
        select(Person.id).where(Person.spip_id == world.spip.id).order_by(Person.id.desc())
    )
    assert count == second.person_id


async def test_full_slot_answers_409_slot_full(
    session: AsyncSession, client_for: ClientFactory
) -> None:
    world = await _world(session)
    slot = await make_slot(session, world.agenda, starts_at=TUESDAY_14, capacity=1, booked=1)
    await session.commit()
    async with client_for(world.clerk) as clerk:
        full = await _book(clerk, slot.id)
    assert full.status_code == 409 and full.json()["error"] == "slot_full"
    assert "complet" in full.json()["detail"]
    assert await session.scalar(select(Person.id).where(Person.spip_id == world.spip.id)) is None


async def test_slots_outside_the_clerks_agendas_answer_404(
    session: AsyncSession, client_for: ClientFactory
) -> None:
    world = await _world(session)
    own_closed = await make_agenda(session, world.place, name="Permanence CPIP")
    other_spip = await make_spip(session)
    other_agenda = await make_agenda(
        session, await make_place(session, other_spip), open_to_courts=True
    )
    other_court = await make_court(session, other_spip)
    other_clerk = await make_agent(session, None, role="court_clerk", court_id=other_court.id)
    slots = [
        await make_slot(session, own_closed, starts_at=TUESDAY_14),
        await make_slot(session, other_agenda, starts_at=TUESDAY_14),
    ]
    mine = await make_slot(session, world.agenda, starts_at=TUESDAY_14)
    await session.commit()
    async with client_for(world.clerk) as clerk:
        for slot in slots:
            refused = await _book(clerk, slot.id)
            assert refused.status_code == 404 and refused.json()["error"] == "slot_not_found"
        assert (await _book(clerk, 999_999)).status_code == 404
        for agenda in (own_closed, other_agenda):
            month = await clerk.get(
                f"/court/agendas/{agenda.id}/availability", params={"month": "2027-02"}
            )
            assert month.status_code == 404 and month.json()["error"] == "agenda_not_found"
        booked = await _book(clerk, mine.id)
        assert booked.status_code == 201
    async with client_for(other_clerk) as other:
        assert (await other.get(f"/court/bookings/{booked.json()['id']}")).status_code == 404
        assert (await other.get("/court/bookings")).json() == []
    assert await session.scalar(select(Slot.booked).where(Slot.id == slots[1].id)) == 0


async def test_clerk_gets_403_on_everything_of_the_spip(
    session: AsyncSession, client_for: ClientFactory
) -> None:
    world = await _world(session)
    person = await make_person(session, world.spip)
    await session.commit()
    async with client_for(world.clerk) as clerk:
        for path, params in (
            ("/persons", {"spip_id": world.spip.id}),
            ("/persons", None),
            (f"/persons/{person.id}", None),
            (f"/persons/{person.id}/history", None),
            ("/appointments", None),
            ("/reports/attendance", {"spip_id": world.spip.id}),
            ("/audit", None),
            (f"/agendas/{world.agenda.id}", None),
            (f"/spips/{world.spip.id}", None),
            ("/agents", None),
            ("/courts", None),
        ):
            answer = await clerk.get(path, params=params)
            assert answer.status_code == 403, (path, answer.text)
            assert answer.json()["error"] == "forbidden"
        created = await clerk.post(
            "/persons", json={"spip_id": world.spip.id, "first_name": "A", "last_name": "B"}
        )
        assert created.status_code == 403
        me = await clerk.get("/auth/me")
        assert me.status_code == 200 and me.json()["court_id"] == world.court.id


async def test_the_spip_opens_and_closes_an_agenda_to_its_courts(
    session: AsyncSession, client_for: ClientFactory
) -> None:
    world = await _world(session)
    async with client_for(world.secretariat) as spip_agent, client_for(world.clerk) as clerk:
        created = await spip_agent.post(
            f"/places/{world.place.id}/agendas",
            json={"name": "Sortie d'audience SAP", "open_to_courts": True},
        )
        assert created.status_code == 201, created.text
        assert created.json()["open_to_courts"] is True
        agenda_id = created.json()["id"]
        assert agenda_id in [a["id"] for a in (await clerk.get("/court/agendas")).json()]
        closed = await spip_agent.patch(f"/agendas/{agenda_id}", json={"open_to_courts": False})
        assert closed.status_code == 200 and closed.json()["open_to_courts"] is False
        assert agenda_id not in [a["id"] for a in (await clerk.get("/court/agendas")).json()]
        plain = await spip_agent.post(f"/places/{world.place.id}/agendas", json={"name": "CPIP"})
        assert plain.json()["open_to_courts"] is False
