"""Two court clerks booking the last seat of a « sortie d'audience » slot at once, through a real
server process: one 201, one clear 409 ``slot_full``, and the person of the refused booking is
not left behind. PostgreSQL runs the two requests concurrently (the seat's conditional UPDATE
makes one wait for the other); SQLite serialises them (BEGIN IMMEDIATE), with the same answer.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from app.demo import CLERK_EMAIL
from app.models import Agenda, Agent, Appointment, Person, Slot
from tests.agendas.support import make_slot
from tests.factories import make_agent
from tests.servers import Server, login

ROUNDS = 5
SECOND_CLERK = "greffe-bis@tj-nanterre.demo.convoc.fr"


async def _seed(engine: AsyncEngine) -> list[int]:
    """ROUNDS one-seat slots in the demo's « Sortie d'audience » agenda, and a second clerk of
    the Nanterre court (the demo's password)."""
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    async with sessionmaker() as session:
        clerk = await session.scalar(select(Agent).where(Agent.email == CLERK_EMAIL))
        agenda = await session.scalar(select(Agenda).where(Agenda.open_to_courts.is_(True)))
        assert clerk is not None and agenda is not None
        await make_agent(
            session,
            None,
            role="court_clerk",
            court_id=clerk.court_id,
            email=SECOND_CLERK,
            password_hash=clerk.password_hash,
        )
        # Off the demo's half hours, so no generated slot is already at these instants.
        start = datetime.now(UTC).replace(minute=7, second=0, microsecond=0) + timedelta(days=10)
        slots = [
            (await make_slot(session, agenda, starts_at=start + timedelta(hours=n))).id
            for n in range(ROUNDS)
        ]
        await session.commit()
    return slots


def _person(n: int, k: int) -> dict[str, str]:
    return {"first_name": f"Personne{k}", "last_name": f"Audience{n}", "phone": f"06{n}{k}345678"}


async def test_two_clerks_booking_the_last_seat_get_one_201_and_one_409(server: Server) -> None:
    slots = await _seed(server.engine)
    sessionmaker = async_sessionmaker(server.engine)
    async with sessionmaker() as session:
        persons_before = await session.scalar(select(func.count(Person.id)))
    async with (
        httpx.AsyncClient(base_url=server.base, timeout=30) as first,
        httpx.AsyncClient(base_url=server.base, timeout=30) as second,
    ):
        await login(first, CLERK_EMAIL)
        await login(second, SECOND_CLERK)
        for n, slot_id in enumerate(slots):
            answers = await asyncio.gather(
                *(
                    client.post(
                        "/api/v1/court/bookings",
                        json={"slot_id": slot_id, "person": _person(n, k)},
                    )
                    for k, client in enumerate((first, second))
                )
            )
            statuses = sorted(r.status_code for r in answers)
            assert statuses == [201, 409], [r.text for r in answers]
            refused = next(r for r in answers if r.status_code == 409).json()
            assert refused["error"] == "slot_full"
    async with sessionmaker() as session:
        booked = dict(
            (await session.execute(select(Slot.id, Slot.booked).where(Slot.id.in_(slots)))).all()
        )
        holders = list(
            await session.scalars(
                select(Appointment.court_id).where(Appointment.slot_id.in_(slots))
            )
        )
        persons_after = await session.scalar(select(func.count(Person.id)))
    assert booked == dict.fromkeys(slots, 1)
    assert len(holders) == ROUNDS and None not in holders
    # The refused booking rolled back the person it had created.
    assert persons_after == (persons_before or 0) + ROUNDS
