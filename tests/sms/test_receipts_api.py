"""Delivery receipts through the API route, on both databases.

A provider calls ``/api/v1/sms/receipts/{provider}[/{token}]`` without any agent token; the
receipt must be authentic (signature, token), readable, and then only ever moves a message's
status forward — out of order, duplicated, before its message id is known, in several parts.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import Notification, PendingReceipt
from app.reminders.dispatcher import tick
from app.reminders.references import reference_of
from app.sms.providers.http import SIGNATURE_HEADER, sign
from app.sms.providers.twilio import compute_signature
from tests.conftest import FrozenClock
from tests.reminders.conftest import World, build_world
from tests.reminders.sending import IdsSender, parts_of
from tests.reminders.test_dispatcher import CONFIG, REMINDER_AT, START, booked, rows
from tests.sms.conftest import PUBLIC_BASE, TWILIO_TOKEN, WEBHOOK_SECRET
from tests.sms.support import RECEIPT_TOKEN

HTTP_URL = f"/sms/receipts/http/{RECEIPT_TOKEN}"


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await build_world(session)


async def sent(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    clock: FrozenClock,
    *ids: str,
    provider: str = "http",
    week: int = 0,
) -> Notification:
    """A reminder sent through the real dispatcher; the provider answered ``ids``."""
    appointment = await booked(session, world, START + timedelta(days=7 * week))
    clock.set(REMINDER_AT + timedelta(days=7 * week))
    assert (await tick(sessionmaker, IdsSender(provider, *ids), CONFIG)).sent == 1
    [row] = await rows(session, appointment)
    return row


async def fresh(session: AsyncSession, notification_id: int) -> Notification:
    row = await session.scalar(
        select(Notification)
        .where(Notification.id == notification_id)
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


def receipt(message_id: str | None, status: str, **extra: Any) -> dict[str, Any]:
    return {"id": message_id, "status": status, "occurred_at": "2027-01-18T09:00:05+00:00"} | extra


async def post(
    client: httpx.AsyncClient,
    payload: Any,
    *,
    url: str = HTTP_URL,
    secret: str = WEBHOOK_SECRET,
    raw: bytes | None = None,
) -> httpx.Response:
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {"content-type": "application/json", SIGNATURE_HEADER: sign(secret, body)}
    return await client.post(url, content=body, headers=headers)


async def pending_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(PendingReceipt)) or 0)


async def test_a_signed_receipt_shows_the_message_delivered_in_the_timeline(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    provider_client: httpx.AsyncClient,
    world: World,
    clock: FrozenClock,
) -> None:
    row = await sent(session, sessionmaker, world, clock, "m-1")
    response = await post(provider_client, receipt("m-1", "delivered", reference=str(row.id)))
    assert response.status_code == 200, response.text
    assert response.json() == {"applied": 1, "ignored": 0, "pending": 0}

    [shown] = (await client.get(f"/appointments/{row.appointment_id}/notifications")).json()
    assert (shown["status"], shown["delivered_at"]) == ("delivered", "2027-01-18T09:00:05Z")
    assert [(p["provider_message_id"], p["status"]) for p in shown["parts"]] == [
        ("m-1", "delivered")
    ]


async def test_forged_malformed_or_misaddressed_receipts_change_nothing(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    provider_client: httpx.AsyncClient,
    world: World,
    clock: FrozenClock,
) -> None:
    row = await sent(session, sessionmaker, world, clock, "m-1")
    delivered = receipt("m-1", "delivered")

    forged = [
        await post(provider_client, delivered, secret="x" * 40),  # wrong key
        await post(provider_client, delivered, url=f"/sms/receipts/http/{'b' * 44}"),  # token
        await post(provider_client, delivered, url="/sms/receipts/http"),  # token missing
        await provider_client.post(HTTP_URL, json=delivered),  # no signature at all
    ]
    for response in forged:
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "receipt_not_authenticated"
        assert "signature ou jeton invalide" in response.json()["detail"]

    malformed = [
        await post(provider_client, None, raw=b"{not json"),
        await post(provider_client, receipt("m-1", "lu")),  # unknown status
        await post(provider_client, {"status": "delivered"}),  # neither id nor reference
        await post(provider_client, [delivered, {"id": "m-1", "status": 3}]),  # one bad item
        await post(provider_client, receipt("m-1", "delivered", occurred_at="2027-01-18 09:00")),
        await post(provider_client, None, raw=b"[" + b" " * 70_000 + b"]"),  # too large
    ]
    for response in malformed:
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_receipt"
        assert response.json()["detail"].startswith("Accusé de réception illisible")

    for response in (
        await post(provider_client, delivered, url=f"/sms/receipts/nexmo/{RECEIPT_TOKEN}"),
        await provider_client.get("/sms/receipts/nexmo"),
        await post(provider_client, delivered, url="/sms/receipts/linkmobility"),  # not ours
    ):
        assert response.status_code == 404, response.text
        assert response.json()["error"] == "unknown_provider"

    assert (await fresh(session, row.id)).status == "sent"
    assert await parts_of(session, row.id) == [("http", "m-1", "sent")]
    assert await pending_count(session) == 0


async def test_statuses_only_move_forward_whatever_the_order_of_receipts(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    provider_client: httpx.AsyncClient,
    world: World,
    clock: FrozenClock,
) -> None:
    first = await sent(session, sessionmaker, world, clock, "m-1")
    assert (await post(provider_client, receipt("m-1", "delivered"))).json()["applied"] == 1
    late = [
        await post(provider_client, receipt("m-1", "sent")),  # a late "sent"
        await post(provider_client, receipt("m-1", "delivered")),  # a duplicate
        await post(provider_client, receipt("m-1", "undelivered")),  # an older failure report
    ]
    assert [r.json() for r in late] == [{"applied": 0, "ignored": 1, "pending": 0}] * 3
    row = await fresh(session, first.id)
    assert (row.status, row.delivered_at) == (
        "delivered",
        datetime(2027, 1, 18, 9, 0, 5, tzinfo=UTC),
    )

    # Out of order the other way: a failure report, then the proof of delivery.
    second = await sent(session, sessionmaker, world, clock, "m-2", week=1)
    await post(provider_client, receipt("m-2", "undelivered", error_code="absent_subscriber"))
    assert (await fresh(session, second.id)).status == "undelivered"
    await post(provider_client, receipt("m-2", "delivered"))
    assert (await fresh(session, second.id)).status == "delivered"

    # Between two failure reports, the first one stays.
    third = await sent(session, sessionmaker, world, clock, "m-3", week=2)
    await post(provider_client, receipt("m-3", "failed", error_code="blocked"))
    await post(provider_client, receipt("m-3", "expired"))
    row = await fresh(session, third.id)
    assert (row.status, row.last_error) == ("failed", "blocked")


async def test_a_batch_is_applied_in_order_as_if_posted_one_by_one(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    provider_client: httpx.AsyncClient,
    world: World,
    clock: FrozenClock,
) -> None:
    one = await sent(session, sessionmaker, world, clock, "m-1")
    two = await sent(session, sessionmaker, world, clock, "a", "b", week=1)
    batch = [
        receipt("m-1", "undelivered", error_code="absent_subscriber"),
        receipt("m-1", "delivered", occurred_at="2027-01-18T09:02:00Z"),  # proof wins
        receipt("m-1", "sent"),  # late news: ignored
        receipt("a", "delivered"),
        receipt("b", "failed", error_code="blocked"),
        receipt("b", "expired"),  # a second failure report: the first stays
        receipt("m-unknown", "delivered"),  # not recorded yet: kept
        {"reference": str(two.id), "status": "delivered"},  # every part of `two`
    ]
    answer = await post(provider_client, batch)
    assert answer.json() == {"applied": 5, "ignored": 2, "pending": 1}
    row = await fresh(session, one.id)
    assert (row.status, row.delivered_at) == ("delivered", datetime(2027, 1, 18, 9, 2, tzinfo=UTC))
    assert await parts_of(session, two.id) == [
        ("http", "a", "delivered"),
        ("http", "b", "delivered"),
    ]
    row = await fresh(session, two.id)
    assert row.status == "delivered"
    assert await pending_count(session) == 1


async def test_the_worst_part_of_a_message_wins(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    provider_client: httpx.AsyncClient,
    world: World,
    clock: FrozenClock,
) -> None:
    whole = await sent(session, sessionmaker, world, clock, "a", "b")
    await post(provider_client, receipt("a", "delivered"))
    assert (await fresh(session, whole.id)).status == "sent"  # part b has no news yet
    await post(provider_client, receipt("b", "delivered", occurred_at="2027-01-18T09:01:00Z"))
    row = await fresh(session, whole.id)
    assert (row.status, row.delivered_at) == ("delivered", datetime(2027, 1, 18, 9, 1, tzinfo=UTC))

    broken = await sent(session, sessionmaker, world, clock, "c", "d", week=1)
    await post(provider_client, receipt("c", "expired"))
    row = await fresh(session, broken.id)
    assert (row.status, row.reason) == ("undelivered", "network_expired")
    await post(provider_client, receipt("d", "delivered"))
    assert (await fresh(session, broken.id)).status == "undelivered"
    assert await parts_of(session, broken.id) == [
        ("http", "c", "expired"),
        ("http", "d", "delivered"),
    ]


async def test_a_receipt_before_its_message_id_is_kept_then_applied(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    provider_client: httpx.AsyncClient,
    world: World,
    clock: FrozenClock,
) -> None:
    early = await post(provider_client, receipt("m-early", "delivered"))
    assert early.json() == {"applied": 0, "ignored": 0, "pending": 1}
    assert await pending_count(session) == 1
    row = await sent(session, sessionmaker, world, clock, "m-early")
    # Applied by the very transaction that recorded the send.
    assert (await fresh(session, row.id)).status == "delivered"
    assert await pending_count(session) == 0

    # A receipt carrying only our reference (the notification id), before the send too.
    appointment = await booked(session, world, START + timedelta(days=7))
    [planned] = await rows(session, appointment)
    assert planned.reference_nonce is not None
    reference = reference_of(planned.id, planned.reference_nonce)  # as the provider saw it
    by_reference = {"reference": reference, "status": "undelivered"}
    assert (await post(provider_client, by_reference)).json()["pending"] == 1
    clock.set(REMINDER_AT + timedelta(days=7))
    await tick(sessionmaker, IdsSender("http", "m-later"), CONFIG)
    assert (await fresh(session, planned.id)).status == "undelivered"
    assert await pending_count(session) == 0


async def test_a_receipt_that_raced_the_send_record_is_applied_by_the_next_tick(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    clock: FrozenClock,
) -> None:
    row = await sent(session, sessionmaker, world, clock, "m-1")
    # As if the receipt had been stored as pending just after the dispatcher looked for it.
    session.add_all(
        [
            PendingReceipt(
                provider="http",
                provider_message_id="m-1",
                status="delivered",
                received_at=clock.now,
            ),
            PendingReceipt(  # nobody ever claims this one: dropped after the retention
                provider="http",
                provider_message_id="m-unknown",
                status="delivered",
                received_at=clock.now - timedelta(days=8),
            ),
        ]
    )
    await session.commit()
    stats = await tick(sessionmaker, IdsSender("http"), CONFIG)
    assert stats.receipts == 1
    assert (await fresh(session, row.id)).status == "delivered"
    assert await pending_count(session) == 0


async def test_twilio_status_callbacks_by_post_or_get(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    provider_client: httpx.AsyncClient,
    world: World,
    clock: FrozenClock,
) -> None:
    row = await sent(session, sessionmaker, world, clock, "SM1", provider="twilio")
    path = f"/api/v1/sms/receipts/twilio/{RECEIPT_TOKEN}"
    params = {"MessageSid": "SM1", "MessageStatus": "sent"}
    form = urlencode(params)
    signature = compute_signature(TWILIO_TOKEN, PUBLIC_BASE + path, sorted(params.items()))
    response = await provider_client.post(
        f"/sms/receipts/twilio/{RECEIPT_TOKEN}",
        content=form,
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "x-twilio-signature": signature,
        },
    )
    assert response.json() == {"applied": 0, "ignored": 1, "pending": 0}

    query = urlencode({"MessageSid": "SM1", "MessageStatus": "delivered"})
    signature = compute_signature(TWILIO_TOKEN, f"{PUBLIC_BASE}{path}?{query}", [])
    response = await provider_client.get(
        f"/sms/receipts/twilio/{RECEIPT_TOKEN}?{query}", headers={"x-twilio-signature": signature}
    )
    assert response.status_code == 200, response.text
    assert response.json()["applied"] == 1
    assert (await fresh(session, row.id)).status == "delivered"
    forged = await provider_client.get(
        f"/sms/receipts/twilio/{RECEIPT_TOKEN}?{query}", headers={"x-twilio-signature": "AAAA"}
    )
    assert forged.status_code == 401
