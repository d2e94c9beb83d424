"""The dispatcher sending through the real gateway, on both databases: every attempt recorded,
failover, a permanent refusal flagging the person's number, the deadline, the SPIP's sender."""

from __future__ import annotations

import random
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.reminders.dispatcher import tick
from app.reminders.jobs import build_sender, dispatch_config
from app.reminders.references import reference_of
from app.sms.base import (
    Capabilities,
    OutgoingSms,
    Receipt,
    ReceiptRequest,
    SubmitResult,
    TemporaryError,
)
from app.sms.config import SmsSettings
from app.sms.gateway import SmsGateway
from app.sms.providers.http import HttpProvider
from tests.conftest import FrozenClock
from tests.reminders.conftest import World
from tests.reminders.sending import (
    IdsSender,
    attempts_of,
    dead_http_provider,
    fresh_person,
    parts_of,
    simulated_http_provider,
)
from tests.reminders.test_dispatcher import CONFIG, REMINDER_AT, START, booked, rows


async def test_every_attempt_is_recorded_and_a_dead_first_provider_is_failed_over(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    world: World,
    clock: FrozenClock,
) -> None:
    appointment = await booked(session, world, START)
    dead = dead_http_provider("http-secours")
    async with simulated_http_provider() as (live, simulator):
        gateway = SmsGateway([dead, live])
        clock.set(REMINDER_AT)
        assert (await tick(sessionmaker, gateway, CONFIG)).sent == 1
        await gateway.aclose()
    [row] = await rows(session, appointment)
    assert (row.status, row.provider) == ("sent", "http")
    assert dict(simulator.accepted) == {reference_of(row.id, row.reference_nonce): 1}
    assert await attempts_of(session, row.id) == [
        ("http-secours", "temporary", "connection_error"),
        ("http", "accepted", None),
    ]
    assert await parts_of(session, row.id) == [("http", row.provider_message_id, "sent")]

    [shown] = (await client.get(f"/appointments/{appointment.id}/notifications")).json()
    assert [(a["provider"], a["outcome"]) for a in shown["provider_attempts"]] == [
        ("http-secours", "temporary"),
        ("http", "accepted"),
    ]
    assert all(isinstance(a["latency_ms"], int) for a in shown["provider_attempts"])
    assert shown["parts"] == [
        {
            "provider": "http",
            "provider_message_id": row.provider_message_id,
            "status": "sent",
            "error_code": None,
            "status_at": "2027-01-18T09:00:00Z",
        }
    ]
    assert shown["status"] == "sent" and shown["delivered_at"] is None


async def test_each_temporary_failure_is_an_attempt_of_its_own(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    clock: FrozenClock,
) -> None:
    appointment = await booked(session, world, START)
    async with simulated_http_provider(error_5xx=1.0) as (live, simulator):
        gateway = SmsGateway([live])
        clock.set(REMINDER_AT)
        assert (await tick(sessionmaker, gateway, CONFIG, random.Random(1))).retried == 1
        [row] = await rows(session, appointment)
        simulator.config.error_5xx = 0.0
        clock.set(row.send_at)
        assert (await tick(sessionmaker, gateway, CONFIG)).sent == 1
        await gateway.aclose()
    [row] = await rows(session, appointment)
    assert (row.status, row.attempts) == ("sent", 2)
    assert await attempts_of(session, row.id) == [
        ("http", "temporary", "server_error"),
        ("http", "accepted", None),
    ]


class LostFirstAnswer:
    """The provider accepts the first message, but its answer is lost on the way back (a read
    timeout): the dispatcher cannot know the SMS went out."""

    def __init__(self, provider: HttpProvider) -> None:
        self.provider = provider
        self.first: SubmitResult | None = None

    async def send(self, message: OutgoingSms) -> SubmitResult:
        result = await self.provider.send(message)
        if self.first is None:
            self.first = result
            raise TemporaryError("délai de réponse dépassé", code="timeout", provider="http")
        return result


async def test_a_send_whose_answer_was_lost_is_retried_without_a_second_sms(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    clock: FrozenClock,
) -> None:
    """The retry carries the same ``reference``; the provider answers it with the first
    message's id instead of sending again (the ``http`` format's idempotency key)."""
    appointment = await booked(session, world, START)
    async with simulated_http_provider() as (live, simulator):
        sender = LostFirstAnswer(live)
        clock.set(REMINDER_AT)
        assert (await tick(sessionmaker, sender, CONFIG, random.Random(1))).retried == 1
        [row] = await rows(session, appointment)
        clock.set(row.send_at)
        assert (await tick(sessionmaker, sender, CONFIG)).sent == 1
    [row] = await rows(session, appointment)
    assert sender.first is not None
    assert (row.status, row.attempts) == ("sent", 2)
    assert row.provider_message_id == sender.first.message_ids[0]
    reference = reference_of(row.id, row.reference_nonce)  # the same for both tries
    assert dict(simulator.accepted) == {reference: 1}  # one SMS
    assert dict(simulator.replayed) == {reference: 1}


async def test_a_permanent_refusal_flags_the_number_until_it_changes(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    world: World,
    clock: FrozenClock,
) -> None:
    appointment = await booked(session, world, START)
    async with simulated_http_provider(error_permanent=1.0) as (live, _):
        gateway = SmsGateway([live])
        clock.set(REMINDER_AT)
        assert (await tick(sessionmaker, gateway, CONFIG)).failed == 1
        await gateway.aclose()
    [row] = await rows(session, appointment)
    assert (row.status, row.reason, row.last_error) == ("failed", "permanent_error", "rejected")
    assert await attempts_of(session, row.id) == [("http", "permanent", "rejected")]
    person = await fresh_person(session, world.person.id)
    assert (person.phone_problem, person.phone_problem_at) == ("http:rejected", REMINDER_AT)

    url = f"/persons/{world.person.id}"
    shown = (await client.get(url)).json()
    assert (shown["phone_problem"], shown["phone_problem_at"]) == (
        "http:rejected",
        "2027-01-18T09:00:00Z",
    )
    # Another change, or the same number typed again, keeps the flag…
    assert (await client.patch(url, json={"first_name": "Dominique"})).json()["phone_problem"]
    same = await client.patch(url, json={"phone": "06 12 34 56 78"})
    assert same.json()["phone_problem"] == "http:rejected"
    # …a new number clears it.
    changed = (await client.patch(url, json={"phone": "07 98 76 54 32"})).json()
    assert (changed["phone"], changed["phone_problem"], changed["phone_problem_at"]) == (
        "+33798765432",
        None,
        None,
    )


class SlowThenDown:
    """A provider whose failure takes so long that the message's deadline passes meanwhile."""

    capabilities = Capabilities(receipts=False)

    def __init__(self, name: str, clock: FrozenClock, delay: timedelta) -> None:
        self.name = name
        self.clock = clock
        self.delay = delay
        self.calls = 0

    async def send(self, message: OutgoingSms) -> SubmitResult:
        self.calls += 1
        self.clock.set(self.clock.now + self.delay)
        raise TemporaryError("timeout", code="timeout", provider=self.name)

    def verify(self, request: ReceiptRequest) -> bool:
        return False

    def parse_receipts(self, request: ReceiptRequest) -> list[Receipt]:
        return []

    async def aclose(self) -> None:
        return None


async def test_no_attempt_starts_after_send_not_after(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    clock: FrozenClock,
) -> None:
    appointment = await booked(session, world, START + timedelta(hours=4))  # 13:00 Paris
    [row] = await rows(session, appointment)
    clock.set(row.send_not_after - timedelta(seconds=5))  # 11:59:55 Paris, in the window
    slow = SlowThenDown("lent", clock, timedelta(seconds=10))
    never = SlowThenDown("jamais", clock, timedelta(0))
    assert (await tick(sessionmaker, SmsGateway([slow, never]), CONFIG)).expired == 1
    [row] = await rows(session, appointment)
    assert (row.status, row.reason, row.last_error) == ("expired", "expired", "deadline_passed")
    assert (slow.calls, never.calls) == (1, 0)
    assert await attempts_of(session, row.id) == [("lent", "temporary", "timeout")]


async def test_a_message_in_several_parts_keeps_every_id_and_stays_sent_without_receipts(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    clock: FrozenClock,
) -> None:
    appointment = await booked(session, world, START)
    sender = IdsSender("linkmobility", "p-1", "p-2", "p-3")
    clock.set(REMINDER_AT)
    await tick(sessionmaker, sender, CONFIG)
    [row] = await rows(session, appointment)
    assert (row.status, row.provider_message_id, row.delivered_at) == ("sent", "p-1", None)
    assert await parts_of(session, row.id) == [
        ("linkmobility", "p-1", "sent"),
        ("linkmobility", "p-2", "sent"),
        ("linkmobility", "p-3", "sent"),
    ]
    assert await attempts_of(session, row.id) == [("linkmobility", "accepted", None)]


async def test_the_sender_is_the_spips_or_the_default_from_settings(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    world: World,
    clock: FrozenClock,
) -> None:
    sms = SmsSettings(_env_file=None, providers=("console",), default_sender="JUSTICE")
    config = dispatch_config(Settings(env="test", secret_key="k" * 40), sms)
    assert config.default_sender == "JUSTICE"
    gateway = build_sender(Settings(env="test", secret_key="k" * 40), sms)
    assert gateway.provider_names == ("console",)
    await gateway.aclose()
    config = type(CONFIG)(concurrency=1, worker_id=CONFIG.worker_id, default_sender="JUSTICE")

    await booked(session, world, START)
    sender = IdsSender("console")
    clock.set(REMINDER_AT)
    await tick(sessionmaker, sender, config)
    policy_url = f"/spips/{world.spip.id}/reminder-policy"
    refused = await client.put(policy_url, json={"sender": "AB"})
    assert refused.status_code == 422
    assert refused.json()["error"] == "invalid_sender"
    assert "3 à 11 caractères" in refused.json()["detail"]
    assert (await client.put(policy_url, json={"sender": " SPIP 92 "})).json()[
        "sender"
    ] == "SPIP 92"
    await booked(session, world, START + timedelta(days=7))
    clock.set(REMINDER_AT + timedelta(days=7))
    await tick(sessionmaker, sender, config)
    assert [m.sender for m in sender.sent] == ["JUSTICE", "SPIP 92"]
