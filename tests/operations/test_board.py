"""The blocks of the operations page: the queue, the providers' health, the ticks."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import DispatchTick, Notification, NotificationAttempt
from app.operations import board
from app.reminders import ticks
from app.reminders.dispatcher import TickStats, tick
from app.reminders.jobs import DispatchScheduler
from app.sms.base import PermanentError
from app.sms.providers.console import ConsoleProvider
from tests.conftest import FrozenClock
from tests.operations.test_pauses import CONFIG, REMINDER_AT, booked, row_of
from tests.reminders.conftest import World
from tests.reminders.test_dispatcher import ScriptedSender


async def test_queue_counts_due_late_and_in_flight(session: AsyncSession, world: World) -> None:
    first = await booked(session, world)
    row = await row_of(session, first)
    now = row.send_at + timedelta(minutes=10)  # ten minutes late: a worker is missing
    early = await board.queue(session, row.send_at - timedelta(hours=1))
    assert (early.due, early.later_today) == (0, 1)
    queue = await board.queue(session, now)
    assert (queue.due, queue.late, queue.in_flight) == (1, 1, 0)
    assert queue.oldest_due_at == row.send_at
    assert [(s.spip_id, s.due) for s in queue.spips] == [(world.spip.id, 1)]
    row.status, row.lease_expires_at = "sending", now + timedelta(seconds=30)
    await session.flush()
    queue = await board.queue(session, now)
    assert (queue.due, queue.late, queue.in_flight) == (0, 0, 1)
    queue = await board.queue(session, now + timedelta(minutes=1))  # the lease ran out
    assert (queue.in_flight, queue.late) == (0, 1)


async def test_health_and_failures_read_the_attempts(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    clock: FrozenClock,
) -> None:
    appointment = await booked(session, world)
    clock.set(REMINDER_AT)
    await tick(sessionmaker, ScriptedSender(PermanentError("refused", code="100")), CONFIG)
    row = await row_of(session, appointment)
    row.provider = "http"
    session.add_all(
        [
            NotificationAttempt(
                notification_id=row.id,
                provider="http",
                outcome=outcome,
                latency_ms=latency,
                created_at=REMINDER_AT - ago,
            )
            for outcome, latency, ago in [
                ("temporary", 900, timedelta(minutes=1)),
                ("permanent", 100, timedelta(minutes=2)),
                ("accepted", 300, timedelta(hours=2)),  # not in the last 15 min
                ("accepted", 50, timedelta(hours=30)),  # not in the day
            ]
        ]
    )
    await session.commit()
    now = REMINDER_AT + timedelta(minutes=1)
    health = await board.providers_health(session, now, [("http", 10.0), ("twilio", None)])
    by_name = {h.name: h for h in health}
    assert [(h.name, h.order) for h in health][:2] == [("http", 1), ("twilio", 2)]
    http = by_name["http"]
    assert http.last_15_min == {"temporary": 1, "permanent": 1}
    assert http.last_24_h == {"temporary": 1, "permanent": 1, "accepted": 1}
    assert (http.rate_limit, http.median_latency_ms) == (10.0, 500)
    assert (http.accepted_24_h, http.delivered_24_h) == (1, 0)  # failed since, not delivered
    assert by_name["twilio"].last_24_h == {}
    failures, by_reason = await board.failures(session, now)
    assert [(f.appointment_id, f.status) for f in failures] == [(appointment.id, "failed")]
    assert by_reason == {"permanent_error": 1}
    later = await board.failures(session, now + timedelta(days=2))
    assert later == ([], {})


async def test_ticks_are_written_when_busy_and_once_a_minute_when_idle(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    log = ticks.TickLog("worker-a")
    at = datetime(2027, 1, 15, 10, 0, tzinfo=UTC)
    session.add(DispatchTick(worker_id="gone", started_at=at - timedelta(days=8), duration_ms=1))
    await session.commit()
    for _ in range(3):  # idle: only the first is written (and it prunes the week's end)
        await log.write(sessionmaker, started_at=at, duration_ms=3, stats=TickStats())
    await log.write(sessionmaker, started_at=at, duration_ms=40, stats=TickStats(claimed=2, sent=2))
    await log.write(sessionmaker, started_at=at, duration_ms=5, stats=None, error=ConnectionError())
    rows = await board.last_ticks(session)
    assert sorted((r.worker_id, r.claimed, r.sent, r.error or "") for r in rows) == [
        ("worker-a", 0, 0, ""),
        ("worker-a", 0, 0, "ConnectionError"),
        ("worker-a", 2, 2, ""),
    ]
    assert set(dataclasses.asdict(TickStats())) <= set(DispatchTick.__table__.columns.keys())
    assert await session.scalar(select(func.count()).select_from(Notification)) == 0


async def test_the_scheduler_records_its_ticks(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    clock: FrozenClock,
) -> None:
    scheduler = DispatchScheduler(sessionmaker, ConsoleProvider(), CONFIG, 1.0)
    await scheduler._tick()  # nothing due: an idle row (the proof the worker runs)
    await booked(session, world)
    clock.set(REMINDER_AT)
    await scheduler._tick()
    rows = await board.last_ticks(session)
    assert [(r.worker_id, r.claimed, r.sent) for r in rows] == [
        ("test-worker", 1, 1),
        ("test-worker", 0, 0),
    ]
    assert rows[0].started_at == REMINDER_AT
