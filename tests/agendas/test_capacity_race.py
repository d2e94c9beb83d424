"""The last seat of a slot booked from two clients at once, through a real server process.

PostgreSQL: the two requests run in two connections at the same time; the seat's conditional
UPDATE makes one wait for the other and then find the slot full. SQLite: the same requests are
serialised by its write lock (BEGIN IMMEDIATE); the answer must be the same.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from app.agendas import seats, service
from app.agendas.errors import CapacityBelowBooked
from app.agendas.schemas import SlotUpdate
from app.models import Appointment, Place, Slot, Spip
from tests.agendas.support import make_agenda, make_slot
from tests.factories import make_person, make_place, make_spip
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


async def test_a_lower_capacity_racing_a_booking_is_refused_in_words_not_by_the_check(
    fresh_engine: AsyncEngine,
) -> None:
    """A booking holds a slot's last seat but one, uncommitted, while the secretariat lowers the
    capacity to the seats taken before it. Read-then-write would pass the check on the old
    count and then break ``booked <= capacity`` (an IntegrityError, a 500); the conditional
    UPDATE waits for the booking and refuses with ``capacity_below_booked``, the count in words.
    PostgreSQL only: SQLite serialises whole write transactions (BEGIN IMMEDIATE), so the
    secretariat's could not even read while the booking writes; there is no race to lose
    (``tests/agendas/test_api.py`` has the refusal on both databases)."""
    if fresh_engine.dialect.name != "postgresql":
        pytest.skip("SQLite : les écritures sont sérialisées, pas de course possible")
    sessionmaker = async_sessionmaker(fresh_engine, expire_on_commit=False)
    async with sessionmaker() as session:
        spip = await make_spip(session)
        agenda = await make_agenda(session, await make_place(session, spip))
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)
        slot = await make_slot(session, agenda, starts_at=start, capacity=3, booked=1)
        await session.commit()
    async with sessionmaker() as booking, sessionmaker() as secretariat:
        await seats.take_seat(booking, slot.id)  # booked 2, not committed yet
        stale = await secretariat.get_one(Slot, slot.id)
        assert stale.booked == 1

        async def lower() -> None:
            await service.update_slot(secretariat, slot=stale, data=SlotUpdate(capacity=1))

        lowering = asyncio.create_task(lower())
        await asyncio.sleep(0.3)
        await booking.commit()
        with pytest.raises(CapacityBelowBooked) as refused:
            await lowering
        await secretariat.rollback()
    assert refused.value.detail == (
        "Ce créneau compte déjà 2 convocations : sa capacité ne peut pas descendre en dessous."
    )
    async with sessionmaker() as session:
        kept = await session.get_one(Slot, slot.id)
        assert (kept.capacity, kept.booked) == (3, 2)
