"""Helpers for tests that send through the dispatcher: senders, an in-process simulator."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import NotificationAttempt, NotificationPart, Person
from app.sms.base import Attempt, OutgoingSms, SubmitResult
from app.sms.providers.http import HttpProvider
from app.sms.simulator.app import SimulatorConfig, SimulatorState
from app.sms.simulator.app import create_app as create_simulator
from tests.sms.support import provider_config

API_KEY = "sim-api-key"
WEBHOOK_SECRET = "s" * 40


class IdsSender:
    """A provider twin that accepts everything, answering the ids it is given."""

    def __init__(self, provider: str, *ids: str, attempts: tuple[Attempt, ...] = ()) -> None:
        self.provider = provider
        self.ids = ids or ("m-1",)
        self.attempts = attempts
        self.sent: list[OutgoingSms] = []

    async def send(self, message: OutgoingSms) -> SubmitResult:
        self.sent.append(message)
        return SubmitResult(
            provider=self.provider, message_ids=self.ids, segments=1, attempts=self.attempts
        )


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def simulated_http_provider(
    name: str = "http", **settings: Any
) -> AsyncIterator[tuple[HttpProvider, SimulatorState]]:
    """The real ``http`` provider talking to the real simulator app, in-process (no receipts).

    The simulator's state is yielded too: tests change its error rates and read its counts.
    """
    config = SimulatorConfig(api_key=API_KEY, seed=3, **settings)
    simulator = create_simulator(config)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=simulator)) as client:
        provider = HttpProvider(
            provider_config("http", "http://simulator.test"),
            api_key=API_KEY,
            webhook_secret=WEBHOOK_SECRET,
            client=client,
        )
        provider.name = name
        yield provider, simulator.state.simulator


def dead_http_provider(name: str) -> HttpProvider:
    """The real ``http`` provider pointed at a closed loopback port."""
    provider = HttpProvider(
        provider_config("http", f"http://127.0.0.1:{closed_port()}", connect_timeout=0.5),
        api_key=API_KEY,
        webhook_secret=WEBHOOK_SECRET,
    )
    provider.name = name
    return provider


async def attempts_of(session: AsyncSession, notification_id: int) -> list[tuple[str, str, Any]]:
    rows = await session.scalars(
        select(NotificationAttempt)
        .where(NotificationAttempt.notification_id == notification_id)
        .order_by(NotificationAttempt.id)
    )
    return [(a.provider, a.outcome, a.error_code) for a in rows]


async def parts_of(session: AsyncSession, notification_id: int) -> list[tuple[str, str, str]]:
    rows = await session.scalars(
        select(NotificationPart)
        .where(NotificationPart.notification_id == notification_id)
        .order_by(NotificationPart.id)
        .execution_options(populate_existing=True)
    )
    return [(p.provider, p.provider_message_id, p.status) for p in rows]


async def fresh_person(session: AsyncSession, person_id: int) -> Person:
    person = await session.scalar(
        select(Person).where(Person.id == person_id).execution_options(populate_existing=True)
    )
    assert person is not None
    return person
