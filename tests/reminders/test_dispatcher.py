"""The dispatcher in-process, on both databases: re-checks at send time, retries, expiry, leases."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import Appointment, Notification
from app.reminders import service as reminder_service
from app.reminders.dispatcher import DispatchConfig, claim, tick
from app.sms.base import OutgoingSms, PermanentError, SubmitResult, TemporaryError
from app.sms.providers.console import ConsoleProvider
from tests.conftest import FrozenClock
from tests.factories import make_appointment
from tests.reminders.conftest import World

CONFIG = DispatchConfig(concurrency=1, worker_id="test-worker")  # one shared test connection


class ScriptedSender:
    """A provider twin that fails as told, then accepts."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.sent: list[OutgoingSms] = []

    async def send(self, message: OutgoingSms) -> SubmitResult:
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append(message)
        return SubmitResult(provider="scripted", message_ids=(f"id-{len(self.sent)}",), segments=1)


async def booked(session: AsyncSession, world: World, starts_at: datetime) -> Appointment:
    appointment = await make_appointment(session, world.person, world.place, starts_at=starts_at)
    await reminder_service.on_booked(session, appointment=appointment, send_summons=False)
    await session.commit()
    return appointment


async def rows(session: AsyncSession, appointment: Appointment) -> list[Notification]:
    """The rows as the database has them now (the dispatcher wrote them in other sessions)."""
    stmt = (
        select(Notification)
        .where(Notification.appointment_id == appointment.id)
        .order_by(Notification.id)
        .execution_options(populate_existing=True)
    )
    return list(await session.scalars(stmt))


# Convocation Wednesday 20 January 2027 09:00 Paris; J-2 10:00 is Monday 18th 09:00Z.
START = datetime(2027, 1, 20, 8, 0, tzinfo=UTC)
REMINDER_AT = datetime(2027, 1, 18, 9, 0, tzinfo=UTC)


async def test_due_reminder_is_sent_once_with_current_text(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    clock: FrozenClock,
) -> None:
    appointment = await booked(session, world, START)
    provider = ConsoleProvider()
    assert (await tick(sessionmaker, provider, CONFIG)).claimed == 0  # not due yet
    world.place.name = "Antenne rénovée"
    await session.commit()
    clock.set(REMINDER_AT)
    stats = await tick(sessionmaker, provider, CONFIG)
    assert (stats.claimed, stats.sent) == (1, 1)
    [(message, _)] = provider.sent.messages
    assert message.to == "+33612345678"
    assert "mercredi 20 janvier 2027 à 9h00" in message.body
    assert "Antenne rénovée" in message.body  # rendered at send time from current data
    [row] = await rows(session, appointment)
    assert (row.status, row.provider, row.attempts, row.body) == (
        "sent",
        "console",
        1,
        message.body,
    )
    assert row.sent_at == REMINDER_AT
    assert (await tick(sessionmaker, provider, CONFIG)).claimed == 0


async def test_phone_is_read_again_at_send_time(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    clock: FrozenClock,
) -> None:
    first = await booked(session, world, START)
    world.person.phone = "+262692123456"
    await session.commit()
    sender = ScriptedSender()
    clock.set(REMINDER_AT)
    await tick(sessionmaker, sender, CONFIG)
    assert [m.to for m in sender.sent] == ["+262692123456"]
    second = await booked(session, world, START + timedelta(days=7))
    world.person.phone_status = "refused"
    await session.commit()
    clock.set(REMINDER_AT + timedelta(days=7))
    await tick(sessionmaker, sender, CONFIG)
    [row] = await rows(session, second)
    assert (row.status, row.reason) == ("skipped", "refused")
    third = await booked(session, world, START + timedelta(days=14))
    world.person.phone, world.person.phone_status = None, "none"
    await session.commit()
    clock.set(REMINDER_AT + timedelta(days=14))
    await tick(sessionmaker, sender, CONFIG)
    assert [(r.status, r.reason) for r in await rows(session, third)] == [("skipped", "no_phone")]
    assert len(sender.sent) == 1
    assert (await rows(session, first))[0].status == "sent"


async def test_three_days_of_downtime_send_nothing_late(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    clock: FrozenClock,
) -> None:
    missed_entirely = await booked(session, world, START)  # convocation on the 20th
    still_useful = await booked(
        session, world, START + timedelta(days=3, hours=2)
    )  # the 23rd, 11:00
    sender = ScriptedSender()
    clock.set(datetime(2027, 1, 21, 9, 30, tzinfo=UTC))  # back after three days, 10:30 Paris
    stats = await tick(sessionmaker, sender, CONFIG)
    assert stats.expired == 1
    assert [r.status for r in await rows(session, missed_entirely)] == ["expired"]
    assert [r.status for r in await rows(session, still_useful)] == ["sent"]
    assert len(sender.sent) == 1


async def test_outside_the_window_waits_for_it(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    clock: FrozenClock,
) -> None:
    appointment = await booked(session, world, START)
    clock.set(datetime(2027, 1, 18, 21, 0, tzinfo=UTC))  # 22:00 Paris: the window closed at 20:00
    stats = await tick(sessionmaker, ScriptedSender(), CONFIG)
    assert stats.deferred == 1
    [row] = await rows(session, appointment)
    assert (row.status, row.send_at) == ("planned", datetime(2027, 1, 19, 7, 0, tzinfo=UTC))


async def test_temporary_failures_retry_until_the_deadline(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    clock: FrozenClock,
) -> None:
    appointment = await booked(session, world, START)
    sender = ScriptedSender(TemporaryError("timeout", code="timeout"))
    clock.set(REMINDER_AT)
    assert (await tick(sessionmaker, sender, CONFIG, random.Random(1))).retried == 1
    [row] = await rows(session, appointment)
    assert row.status == "planned" and row.last_error == "timeout"
    assert REMINDER_AT + timedelta(seconds=15) <= row.send_at <= REMINDER_AT + timedelta(seconds=30)
    clock.set(row.send_at)
    assert (await tick(sessionmaker, sender, CONFIG)).sent == 1
    [row] = await rows(session, appointment)
    assert (row.status, row.attempts) == ("sent", 2)
    late = await booked(
        session, world, datetime(2027, 1, 18, 9, 30, tzinfo=UTC) + timedelta(days=7)
    )
    [late_row] = await rows(session, late)
    clock.set(late_row.send_not_after - timedelta(seconds=5))
    await tick(sessionmaker, ScriptedSender(TemporaryError("503", code="http_503")), CONFIG)
    assert [(r.status, r.reason) for r in await rows(session, late)] == [
        ("failed", "retries_exhausted")
    ]


async def test_permanent_failure_is_not_retried(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    clock: FrozenClock,
) -> None:
    appointment = await booked(session, world, START)
    sender = ScriptedSender(PermanentError("invalid destination", code="100"))
    clock.set(REMINDER_AT)
    assert (await tick(sessionmaker, sender, CONFIG)).failed == 1
    [row] = await rows(session, appointment)
    assert (row.status, row.reason, row.last_error) == ("failed", "permanent_error", "100")
    clock.set(REMINDER_AT + timedelta(hours=1))
    assert (await tick(sessionmaker, sender, CONFIG)).claimed == 0


async def test_a_dead_workers_rows_are_taken_over_when_its_lease_runs_out(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    clock: FrozenClock,
) -> None:
    appointment = await booked(session, world, START)
    clock.set(REMINDER_AT)
    dead = DispatchConfig(concurrency=1, worker_id="dead-worker")
    async with sessionmaker() as s:
        assert len(await claim(s, REMINDER_AT, dead)) == 1  # then it dies without sending
        await s.commit()
    sender = ScriptedSender()
    clock.set(REMINDER_AT + timedelta(seconds=30))
    assert (await tick(sessionmaker, sender, CONFIG)).claimed == 0  # lease still held
    clock.set(REMINDER_AT + timedelta(seconds=61))
    assert (await tick(sessionmaker, sender, CONFIG)).sent == 1
    [row] = await rows(session, appointment)
    assert (row.status, row.attempts, len(sender.sent)) == ("sent", 2, 1)


async def test_cancelled_convocation_is_rechecked_before_sending(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    clock: FrozenClock,
) -> None:
    appointment = await booked(session, world, START)
    clock.set(REMINDER_AT)
    async with sessionmaker() as s:
        await claim(s, REMINDER_AT, CONFIG)
        await s.commit()
    appointment.status = "cancelled"  # cancelled while the row was already claimed
    await session.commit()
    from app.reminders.dispatcher import process

    [row] = await rows(session, appointment)
    outcome = await process(sessionmaker, ScriptedSender(), row.id, CONFIG, random.Random(0))
    assert outcome == "cancelled"
    [row] = await rows(session, appointment)
    assert (row.status, row.reason) == ("cancelled", "appointment_cancelled")


class CancellingSender(ScriptedSender):
    """Accepts, and while the first message is out an agent cancels another convocation."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], appointment_id: int) -> None:
        super().__init__()
        self.sessionmaker = sessionmaker
        self.appointment_id = appointment_id

    async def send(self, message: OutgoingSms) -> SubmitResult:
        if not self.sent:
            async with self.sessionmaker() as s:
                appointment = await s.get(Appointment, self.appointment_id)
                assert appointment is not None
                appointment.status = "cancelled"
                await s.commit()
        return await super().send(message)


@pytest.mark.parametrize(("fresh_for", "second"), [(0.0, "cancelled"), (60.0, "sent")])
async def test_a_message_prepared_in_its_claim_is_checked_again_once_it_waited(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    clock: FrozenClock,
    fresh_for: float,
    second: str,
) -> None:
    """The claim reads and checks its batch; a message whose check is older than ``fresh_for``
    when its sending slot comes is read and checked again (a cancellation made meanwhile
    stops it). Within ``fresh_for`` the claim's check stands — the window is that long."""
    first = await booked(session, world, START)
    later = await booked(session, world, START + timedelta(hours=2))
    clock.set(REMINDER_AT + timedelta(hours=2))
    sender = CancellingSender(sessionmaker, later.id)
    config = DispatchConfig(concurrency=1, worker_id="test-worker", fresh_for=fresh_for)
    stats = await tick(sessionmaker, sender, config)
    assert stats.claimed == 2
    assert [r.status for r in await rows(session, first)] == ["sent"]
    assert [r.status for r in await rows(session, later)] == [second]
    assert len(sender.sent) == (1 if second == "cancelled" else 2)


async def test_a_message_settled_in_its_claim_is_counted_as_settled(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    clock: FrozenClock,
) -> None:
    """Settled by the claim's check, a message is not checked again however long it waits."""
    appointment = await booked(session, world, START)
    appointment.status = "cancelled"  # as if cancelled between planning and the claim
    await session.commit()
    clock.set(REMINDER_AT)
    config = DispatchConfig(concurrency=1, worker_id="test-worker", fresh_for=0.0)
    stats = await tick(sessionmaker, ScriptedSender(), config)
    assert (stats.claimed, stats.cancelled, stats.skipped) == (1, 1, 0)
    [row] = await rows(session, appointment)
    assert (row.status, row.reason) == ("cancelled", "appointment_cancelled")


# Issue 13: booked on Friday 15 January in the evening for Saturday 16th 09:00 Paris, with a
# summons. The window opens at 08:00, which is the deadline: the summons goes in the tolerated
# hours (07:00-22:00), and the dispatcher sends it instead of deferring it to 08:00 to expire.
EVENING_START = datetime(2027, 1, 16, 8, 0, tzinfo=UTC)


async def summoned(session: AsyncSession, world: World) -> Appointment:
    appointment = await make_appointment(
        session, world.person, world.place, starts_at=EVENING_START
    )
    await reminder_service.on_booked(session, appointment=appointment, send_summons=True)
    await session.commit()
    return appointment


async def test_summons_planned_at_once_at_21h_is_sent_by_the_next_tick(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    clock: FrozenClock,
) -> None:
    clock.set(datetime(2027, 1, 15, 20, 0, tzinfo=UTC))  # 21:00 Paris
    appointment = await summoned(session, world)
    clock.set(datetime(2027, 1, 15, 20, 0, 4, tzinfo=UTC))  # the tick, a few seconds later
    sender = ScriptedSender()
    stats = await tick(sessionmaker, sender, CONFIG)
    assert (stats.claimed, stats.sent, stats.deferred, stats.expired) == (1, 1, 0, 0)
    assert [(r.kind, r.status) for r in await rows(session, appointment)] == [
        ("summons", "sent"),
        ("reminder", "skipped"),
    ]
    assert "samedi 16 janvier 2027 à 9h00" in sender.sent[0].body


async def test_notice_after_the_tolerated_hours_waits_for_them_then_goes(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    clock: FrozenClock,
) -> None:
    clock.set(datetime(2027, 1, 15, 20, 59, tzinfo=UTC))  # 21:59 Paris: planned at once
    appointment = await summoned(session, world)
    clock.set(datetime(2027, 1, 15, 21, 30, tzinfo=UTC))  # the worker was down until 22:30
    sender = ScriptedSender()
    assert (await tick(sessionmaker, sender, CONFIG)).deferred == 1
    summons = (await rows(session, appointment))[0]
    assert (summons.status, summons.send_at) == (
        "planned",
        datetime(2027, 1, 16, 6, 0, tzinfo=UTC),  # 07:00 Paris, the tolerated opening
    )
    clock.set(datetime(2027, 1, 16, 6, 59, 30, tzinfo=UTC))  # 07:59:30, late but in time
    assert (await tick(sessionmaker, sender, CONFIG)).sent == 1
    assert (await rows(session, appointment))[0].status == "sent"
