"""The last seat of a slot booked from two clients at once, through a real server process.

PostgreSQL: the two requests run in two connections at the same time; the seat's conditional
UPDATE makes one wait for the other and then find the slot full. SQLite: the same requests are
serialised by its write lock (BEGIN IMMEDIATE); the answer must be the same.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from app.models import Appointment, Place, Slot, Spip
from tests.agendas.support import make_agenda, make_slot
from tests.factories import make_person
from tests.servers import Server, login

ROUNDS = 5


async def _seed(engine: AsyncEngine) -> tuple[list[int], list[tuple[int, int]]]:
    """ROUNDS slots of one seat in the demo's Hauts-de-Seine (SPIP 1), two persons per slot."""
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    async with sessionmaker() as session:
        place = await session.scalar(select(Place).where(Place.spip_id == 1).order_by(Place.id))
        assert place is not None
        spip = await session.get_one(Spip, place.spip_id)
        agenda = await make_agenda(session, place)
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)
        slots, pairs = [], []
        for n in range(ROUNDS):
            slot = await make_slot(session, agenda, starts_at=start + timedelta(hours=n))
            slots.append(slot.id)
            people = []
            for k in range(2):
                phone = f"+336{70 + n:02d}{k:02d}1234"
                people.append((await make_person(session, spip, phone=phone)).id)
            pairs.append((people[0], people[1]))
        await session.commit()
    return slots, pairs


async def test_two_clients_booking_the_last_seat_get_one_201_and_one_409(
    server: Server,
) -> None:
    slots, pairs = await _seed(server.engine)
    async with (
        httpx.AsyncClient(base_url=server.base, timeout=30) as first,
        httpx.AsyncClient(base_url=server.base, timeout=30) as second,
    ):
        await login(first)
        await login(second)
        for slot_id, (a, b) in zip(slots, pairs, strict=True):
            answers = await asyncio.gather(
                *(
                    client.post(
                        "/api/v1/appointments",
                        json={"person_id": p, "appointment_type": "suivi_spip", "slot_id": slot_id},
                    )
                    for client, p in ((first, a), (second, b))
                )
            )
            statuses = sorted(r.status_code for r in answers)
            assert statuses == [201, 409], [r.text for r in answers]
            refused = next(r for r in answers if r.status_code == 409).json()
            assert refused["error"] == "slot_full"
            assert "complet" in refused["detail"]
    sessionmaker = async_sessionmaker(server.engine)
    async with sessionmaker() as session:
        booked = dict(
            (await session.execute(select(Slot.id, Slot.booked).where(Slot.id.in_(slots)))).all()
        )
        holders = await session.scalars(
            select(Appointment.slot_id).where(Appointment.slot_id.in_(slots))
        )
        assert booked == dict.fromkeys(slots, 1)
        assert sorted(holders) == sorted(slots)
