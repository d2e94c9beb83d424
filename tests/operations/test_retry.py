"""Retrying a failed batch: each message through the agents' resend, once; what cannot go is
counted with its reason."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import Agent, AuditEvent, Notification, Person
from app.operations import retry
from app.reminders.dispatcher import tick
from app.sms.base import PermanentError
from tests.conftest import FrozenClock
from tests.factories import make_person
from tests.operations.test_pauses import CONFIG, REMINDER_AT, booked, row_of
from tests.reminders.conftest import World
from tests.reminders.test_dispatcher import ScriptedSender


async def test_a_failed_batch_is_replanned_once_and_refusals_are_counted(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    admin: Agent,
    clock: FrozenClock,
) -> None:
    refused = await booked(session, world)  # its number will be refused by the provider
    world.person = await make_person(session, world.spip, phone="+33687654321")
    await session.commit()
    retried = await booked(session, world)
    clock.set(REMINDER_AT)
    sender = ScriptedSender(PermanentError("invalid destination", code="100"))
    await tick(sessionmaker, sender, CONFIG)  # one refused for good, the other sent
    first = await row_of(session, refused)
    assert (first.status, first.reason) == ("failed", "permanent_error")
    # The person has declined SMS since: a resend would be skipped at once.
    refuser = await session.get_one(Person, refused.person_id)
    refuser.phone_status = "refused"
    # The other one failed after its retries (as a provider outage would leave it).
    second = await row_of(session, retried)
    second.status, second.reason, second.provider = "failed", "retries_exhausted", "http"
    await session.commit()

    clock.set(REMINDER_AT + timedelta(hours=1))
    now = REMINDER_AT + timedelta(hours=1)
    everything = retry.RetryFilter()
    assert sorted(await retry.candidates(session, now, everything)) == sorted([first.id, second.id])
    only_http = retry.RetryFilter(provider="http")
    assert await retry.candidates(session, now, only_http) == [second.id]

    result = await retry.retry_failed(session, now, everything, agent=admin)
    await session.commit()
    assert result.replanned == 1
    assert dict(result.refused) == {"resend_pointless": 1}  # the number is flagged now
    again = list(
        await session.scalars(
            select(Notification)
            .where(Notification.appointment_id == retried.id)
            .order_by(Notification.id)
        )
    )
    assert [(n.status, n.rule) for n in again][-1] == ("planned", "renvoi")

    # A second batch does not send the replanned one twice.
    result = await retry.retry_failed(session, now, everything, agent=admin)
    assert (result.replanned, sum(result.refused.values())) == (0, 1)
    events = list(
        await session.scalars(select(AuditEvent).where(AuditEvent.action == "sending_retried"))
    )
    assert events[0].changes["replanned"] == 1


async def test_a_failure_whose_convocation_passed_is_not_retried(
    session: AsyncSession, world: World, admin: Agent, clock: FrozenClock
) -> None:
    appointment = await booked(session, world)
    row = await row_of(session, appointment)
    row.status, row.reason = "failed", "retries_exhausted"
    await session.commit()
    after = appointment.starts_at + timedelta(hours=1)
    clock.set(after)
    assert await retry.candidates(session, after, retry.RetryFilter()) == []


async def test_the_api_retries_a_batch_and_says_what_happened(
    session: AsyncSession, world: World, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    appointment = await booked(session, world)
    row = await row_of(session, appointment)
    row.status, row.reason, row.provider = "failed", "retries_exhausted", "http"
    await session.commit()  # failed now (FIXED_NOW): within the last 24 h
    other = await client.post("/operations/retries", json={"provider": "twilio"})
    assert other.json() == {"replanned": 0, "refused": {}, "summary": "0 message replanifié."}
    done = await client.post("/operations/retries", json={"reason": "retries_exhausted"})
    assert done.status_code == 200, done.text
    assert done.json() == {"replanned": 1, "refused": {}, "summary": "1 message replanifié."}
    bad = await client.post("/operations/retries", json={"spip_id": "x", "extra": 1})
    assert bad.status_code == 422
    unknown = await client.post("/operations/retries", json={"spip_id": 987654})
    assert unknown.status_code == 404, unknown.text  # found by schemathesis: was a 409
    assert unknown.json()["error"] == "spip_not_found"
