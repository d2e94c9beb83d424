"""Recording outcomes by group, on both databases: a group whose write fails is recorded
again message by message, so one bad row never loses the others' results."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.reminders import outcomes as recording
from app.reminders.dispatcher import claim
from app.reminders.outcomes import Outcome, Target, record_many
from app.sms.base import SubmitResult
from tests.conftest import FrozenClock
from tests.reminders.conftest import World
from tests.reminders.sending import attempts_of, parts_of
from tests.reminders.test_dispatcher import CONFIG, REMINDER_AT, START, booked, rows


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
