"""What the receipts tell Prometheus: applied, ignored and pending per provider, and the pending
ones applied once their message appears (counted in this process's registry: deltas)."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import FrozenClock
from tests.reminders.conftest import World, build_world
from tests.sms.test_receipts_api import post, receipt, sent


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await build_world(session)


def counts() -> dict[str, float]:
    values = {
        result: REGISTRY.get_sample_value(
            "convoc_receipts_total", {"provider": "http", "result": result}
        )
        for result in ("applied", "ignored", "pending")
    }
    values["applied_later"] = REGISTRY.get_sample_value("convoc_receipts_pending_applied_total")
    return {key: value or 0.0 for key, value in values.items()}


async def test_receipts_are_counted_by_what_became_of_them(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    provider_client: httpx.AsyncClient,
    world: World,
    clock: FrozenClock,
) -> None:
    await sent(session, sessionmaker, world, clock, "m-1")
    before = counts()
    delivered = receipt("m-1", "delivered")
    assert (await post(provider_client, [delivered, delivered])).json() == {
        "applied": 1,
        "ignored": 1,
        "pending": 0,
    }
    early = await post(provider_client, receipt("m-2", "delivered"))  # before its message
    assert early.json()["pending"] == 1
    await sent(session, sessionmaker, world, clock, "m-2", week=1)  # m-2 goes out: applied
    grew = {key: value - before[key] for key, value in counts().items()}
    assert grew == {"applied": 1, "ignored": 1, "pending": 1, "applied_later": 1}
