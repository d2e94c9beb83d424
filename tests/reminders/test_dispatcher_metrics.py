"""What a tick tells Prometheus: messages by disposition, claims and their duration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.reminders import service as reminder_service
from app.reminders.dispatcher import DispatchConfig, tick
from app.sms.base import OutgoingSms, SubmitResult
from tests.conftest import FrozenClock
from tests.factories import make_appointment
from tests.reminders.conftest import World

CONFIG = DispatchConfig(concurrency=1, worker_id="metrics-worker")


class Accepting:
    async def send(self, message: OutgoingSms) -> SubmitResult:
        return SubmitResult(provider="scripted", message_ids=("id-1",), segments=1)


def counts() -> dict[str, float]:
    names = {
        f"disposition_{d}": ("convoc_dispatcher_messages_total", {"disposition": d})
        for d in ("sent", "expired", "failed")
    } | {
        "claimed": ("convoc_dispatcher_claimed_total", {}),
        "claims": ("convoc_dispatcher_claim_duration_seconds_count", {}),
    }
    return {
        key: REGISTRY.get_sample_value(name, labels) or 0.0 for key, (name, labels) in names.items()
    }


async def test_a_tick_counts_what_it_sent_and_what_expired(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    clock: FrozenClock,
) -> None:
    start = datetime(2027, 1, 20, 8, 0, tzinfo=UTC)  # its J-2 reminder is Monday 18th
    for starts_at in (start, start + timedelta(days=3, hours=2)):
        appointment = await make_appointment(
            session, world.person, world.place, starts_at=starts_at
        )
        await reminder_service.on_booked(session, appointment=appointment, send_summons=False)
    await session.commit()
    before = counts()
    clock.set(datetime(2027, 1, 21, 9, 30, tzinfo=UTC))  # back after three days
    stats = await tick(sessionmaker, Accepting(), CONFIG)
    after = counts()
    grew = {key: after[key] - before[key] for key in after}
    assert (stats.sent, stats.expired) == (1, 1)
    assert grew == {
        "disposition_sent": 1,
        "disposition_expired": 1,  # by the sweep of overdue rows
        "disposition_failed": 0,
        "claimed": 1,
        "claims": 1,  # one batch, smaller than the batch size: no second claim
    }
