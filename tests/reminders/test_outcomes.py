"""Recording outcomes, on both databases: a group whose write fails is recorded again message
by message, and a failed claim never abandons the messages already out."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.reminders import dispatcher
from app.reminders import outcomes as recording
from app.reminders.dispatcher import claim
from app.reminders.outcomes import Outcome, Target, record_many
from app.sms.base import SubmitResult
from tests.conftest import FrozenClock
from tests.reminders.conftest import World
from tests.reminders.sending import attempts_of, parts_of
from tests.reminders.test_dispatcher import (
    CONFIG,
    REMINDER_AT,
    START,
    ScriptedSender,
    booked,
    rows,
)


async def test_a_failed_group_write_is_retried_one_message_at_a_time(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    clock: FrozenClock,
) -> None:
    first = await booked(session, world, START)
    second = await booked(session, world, START + timedelta(hours=1))
    clock.set(REMINDER_AT + timedelta(hours=1))
    async with sessionmaker() as s:
        assert len(await claim(s, clock.now, CONFIG)) == 2
        await s.commit()
    [good] = await rows(session, first)
    [bad] = await rows(session, second)

    def outcome(notification_id: int, values: dict[str, object], message_id: str) -> Outcome:
        sent = SubmitResult(provider="http", message_ids=(message_id,), segments=1)
        target = Target(notification_id, CONFIG.worker_id, world.person.id, "+33612345678")
        values = {"status": "sent", **values}
        return Outcome(target, values, attempts=recording.attempts_of(sent), sent=sent)

    results = await record_many(
        sessionmaker,
        [
            outcome(good.id, {}, "m-good"),
            # A value the database refuses (status check): the whole group's write fails.
            outcome(bad.id, {"status": "perdu"}, "m-bad"),
        ],
    )

    assert results[0] is True
    assert isinstance(results[1], Exception)
    [good] = await rows(session, first)
    [bad] = await rows(session, second)
    assert (good.status, good.lease_owner) == ("sent", None)
    assert await parts_of(session, good.id) == [("http", "m-good", "sent")]
    assert await attempts_of(session, good.id) == [("http", "accepted", None)]
    # The refused one keeps its lease: when it runs out, another tick takes the row again.
    assert (bad.status, bad.lease_owner) == ("sending", CONFIG.worker_id)
    assert await parts_of(session, bad.id) == []


async def test_a_failed_claim_lets_the_messages_already_out_finish(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The database goes away between two claims: the messages claimed before must still be
    recorded as sent, never abandoned mid-way (their leases would send them twice)."""
    appointments = [await booked(session, world, START + timedelta(hours=h)) for h in range(3)]
    clock.set(REMINDER_AT + timedelta(hours=3))
    calls = 0

    async def claim_then_fail(*args: Any, **kwargs: Any) -> list[int]:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise OSError("la base ne répond plus")
        return await claim(*args, **kwargs)

    monkeypatch.setattr(dispatcher, "claim", claim_then_fail)
    sender = ScriptedSender()
    config = replace(CONFIG, batch_size=2)  # two claimed, then the claim of the third fails
    with pytest.raises(OSError):
        await dispatcher.tick(sessionmaker, sender, config)

    assert len(sender.sent) == 2
    statuses = [[row.status for row in await rows(session, a)] for a in appointments]
    assert sorted(statuses) == [["planned"], ["sent"], ["sent"]]
