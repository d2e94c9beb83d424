"""Pausing the sending (API and the real dispatcher's tick, on both databases): held messages
keep their windows, expire rather than go late, and go out on resume if still in time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import Appointment, AuditEvent, Notification, SendingPause
from app.reminders import service as reminder_service
from app.reminders.dispatcher import DispatchConfig, tick
from app.sms.providers.console import ConsoleProvider
from tests.conftest import FrozenClock
from tests.factories import make_appointment, make_person, make_place, make_spip
from tests.reminders.conftest import World

CONFIG = DispatchConfig(concurrency=1, worker_id="test-worker")
# Convocation Wednesday 20 January 2027 09:00 Paris; its J-2 reminder is due Monday 09:00Z.
START = datetime(2027, 1, 20, 8, 0, tzinfo=UTC)
REMINDER_AT = datetime(2027, 1, 18, 9, 0, tzinfo=UTC)


async def booked(session: AsyncSession, person_world: World) -> Appointment:
    appointment = await make_appointment(
        session, person_world.person, person_world.place, starts_at=START
    )
    await reminder_service.on_booked(session, appointment=appointment, send_summons=False)
    await session.commit()
    return appointment


async def row_of(session: AsyncSession, appointment: Appointment) -> Notification:
    return await session.scalar(
        select(Notification)
        .where(Notification.appointment_id == appointment.id)
        .execution_options(populate_existing=True)
    )


async def other_world(session: AsyncSession) -> World:
    spip = await make_spip(session, name="SPIP voisin")
    place = await make_place(session, spip, name="Antenne voisine")
    person = await make_person(session, spip)
    await session.commit()
    return World(spip, place, person)


async def test_a_paused_spip_is_held_while_others_go_then_sent_on_resume(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    client: httpx.AsyncClient,
    clock: FrozenClock,
) -> None:
    held = await booked(session, world)
    free = await booked(session, await other_world(session))
    response = await client.post(
        "/operations/pauses", json={"spip_id": world.spip.id, "reason": "Incident fournisseur"}
    )
    assert response.status_code == 201, response.text
    pause_id = response.json()["id"]
    clock.set(REMINDER_AT)
    provider = ConsoleProvider()
    stats = await tick(sessionmaker, provider, CONFIG)
    assert (stats.claimed, stats.sent) == (1, 1)
    assert (await row_of(session, free)).status == "sent"
    assert (await row_of(session, held)).status == "planned"  # kept, with its window

    queue = (await client.get("/operations/queue")).json()
    assert queue["due"] == 1
    assert [(s["spip_id"], s["paused"]) for s in queue["spips"]] == [(world.spip.id, True)]

    response = await client.post(f"/operations/pauses/{pause_id}/resume")
    assert response.status_code == 200, response.text
    assert response.json()["resumed_at"] is not None
    stats = await tick(sessionmaker, provider, CONFIG)
    assert stats.sent == 1
    assert (await row_of(session, held)).status == "sent"
    actions = list(
        await session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.action.like("sending_%"))
            .order_by(AuditEvent.id)
        )
    )
    assert actions == ["sending_paused", "sending_resumed"]


async def test_a_national_pause_holds_every_spip(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    client: httpx.AsyncClient,
    clock: FrozenClock,
) -> None:
    first = await booked(session, world)
    second = await booked(session, await other_world(session))
    response = await client.post("/operations/pauses", json={"reason": "Maintenance"})
    assert response.status_code == 201, response.text
    assert response.json()["spip_id"] is None
    clock.set(REMINDER_AT)
    assert (await tick(sessionmaker, ConsoleProvider(), CONFIG)).claimed == 0
    assert [(await row_of(session, a)).status for a in (first, second)] == ["planned"] * 2
    clock.set(REMINDER_AT + timedelta(minutes=30))  # held, not late: they will expire
    queue = (await client.get("/operations/queue")).json()
    assert queue["national_pause"] is True
    assert (queue["due"], queue["held"], queue["late"]) == (2, 2, 0)
    assert all(s["paused"] for s in queue["spips"])


async def test_a_message_whose_moment_passes_during_a_pause_expires_and_is_never_sent(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    client: httpx.AsyncClient,
    clock: FrozenClock,
) -> None:
    appointment = await booked(session, world)
    not_after = (await row_of(session, appointment)).send_not_after
    response = await client.post(
        "/operations/pauses", json={"spip_id": world.spip.id, "reason": "Incident"}
    )
    pause_id = response.json()["id"]
    provider = ConsoleProvider()
    clock.set(REMINDER_AT)
    await tick(sessionmaker, provider, CONFIG)
    clock.set(not_after + timedelta(minutes=1))
    stats = await tick(sessionmaker, provider, CONFIG)
    assert stats.expired == 1
    assert (await client.post(f"/operations/pauses/{pause_id}/resume")).status_code == 200
    await tick(sessionmaker, provider, CONFIG)
    row = await row_of(session, appointment)
    assert (row.status, row.reason, row.sent_at) == ("expired", "expired", None)
    assert provider.sent.messages == []


async def test_pause_and_resume_refuse_what_makes_no_sense(
    session: AsyncSession, world: World, client: httpx.AsyncClient
) -> None:
    body = {"spip_id": world.spip.id, "reason": "Incident"}
    first = await client.post("/operations/pauses", json=body)
    assert first.status_code == 201
    again = await client.post("/operations/pauses", json=body)
    assert (again.status_code, again.json()["error"]) == (409, "already_paused")
    unknown = await client.post("/operations/pauses", json={"spip_id": 999999, "reason": "x" * 5})
    assert unknown.status_code == 404
    short = await client.post("/operations/pauses", json={"reason": " a "})
    assert short.status_code == 422
    pause_id = first.json()["id"]
    assert (await client.post(f"/operations/pauses/{pause_id}/resume")).status_code == 200
    twice = await client.post(f"/operations/pauses/{pause_id}/resume")
    assert (twice.status_code, twice.json()["error"]) == (409, "pause_already_resumed")
    missing = await client.post("/operations/pauses/999999/resume")
    assert (missing.status_code, missing.json()["error"]) == (404, "pause_not_found")
    # Resumed, the scope may be paused again.
    assert (await client.post("/operations/pauses", json=body)).status_code == 201
    active = await session.scalars(select(SendingPause).where(SendingPause.resumed_at.is_(None)))
    assert len(list(active)) == 1
