"""LINK Mobility's delivery reports through the receipts route and the real dispatcher: its
messages reach ``delivered`` and ``undelivered`` like the others' (v2.4 wire format)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.main import create_app
from app.sms.config import SmsSettings
from app.sms.gateway import SmsGateway
from tests.conftest import FrozenClock
from tests.reminders.conftest import World, build_world
from tests.sms.conftest import PUBLIC_BASE
from tests.sms.support import RECEIPT_TOKEN
from tests.sms.test_receipts_api import fresh, sent

URL = f"/sms/receipts/linkmobility/{RECEIPT_TOKEN}"


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await build_world(session)


@pytest.fixture
async def link_client(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    """LINK Mobility calling back, as its support configured our URL: no agent token."""
    app = create_app(settings)
    app.state.sessionmaker = sessionmaker
    app.state.sms_gateway = gateway = SmsGateway.from_settings(
        SmsSettings(
            _env_file=None,
            providers=("linkmobility",),
            linkmobility_username="spip",
            linkmobility_password="p" * 20,
            public_base_url=PUBLIC_BASE,
            receipt_token=RECEIPT_TOKEN,
        )
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as client:
        yield client
    await gateway.aclose()


def report(report_id: str, code: int, at: str = "2027-01-18T09:01:00Z") -> dict[str, Any]:
    return {
        "refId": None,
        "id": report_id,
        "operator": "fr.orange",
        "sentTimestamp": "2027-01-18T09:00:00Z",
        "timestamp": at,
        "resultCode": code,
        "operatorResultCode": "X",
        "segments": 1,
    }


async def post(client: httpx.AsyncClient, body: Any, url: str = URL) -> httpx.Response:
    return await client.post(
        url, content=json.dumps(body), headers={"content-type": "application/json"}
    )


async def test_per_part_reports_fold_into_delivered_with_the_operators_instant(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    link_client: httpx.AsyncClient,
    world: World,
    clock: FrozenClock,
) -> None:
    # The send answered one id, the network reports each of the two parts as {id}$n.
    row = await sent(session, sessionmaker, world, clock, "abc", provider="linkmobility")
    first = await post(link_client, report("abc$0", 1001))
    assert first.status_code == 200, first.text
    assert first.json()["applied"] == 1
    assert (await fresh(session, row.id)).status == "delivered"
    later = await post(link_client, report("abc$1", 1001, at="2027-01-18T09:02:00Z"))
    assert later.status_code == 200
    stored = await fresh(session, row.id)
    assert stored.status == "delivered"
    assert stored.delivered_at == datetime(2027, 1, 18, 9, 1, tzinfo=UTC)


async def test_an_undelivered_report_shows_the_message_undelivered(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    link_client: httpx.AsyncClient,
    world: World,
    clock: FrozenClock,
) -> None:
    row = await sent(session, sessionmaker, world, clock, "p1", "p2", provider="linkmobility")
    await post(link_client, report("p1", 1001))
    assert (await fresh(session, row.id)).status == "sent"  # part p2 has no news yet
    await post(link_client, report("p2", 1006))
    stored = await fresh(session, row.id)
    assert stored.status == "undelivered"


async def test_a_report_without_the_secret_token_changes_nothing(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    link_client: httpx.AsyncClient,
    world: World,
    clock: FrozenClock,
) -> None:
    row = await sent(session, sessionmaker, world, clock, "q1", provider="linkmobility")
    forged = await post(
        link_client, report("q1", 1001), url="/sms/receipts/linkmobility/" + "x" * 43
    )
    assert forged.status_code == 401
    bare = await post(link_client, report("q1", 1001), url="/sms/receipts/linkmobility")
    assert bare.status_code == 401
    unreadable = await post(link_client, {"id": "q1"})
    assert unreadable.status_code == 400
    assert (await fresh(session, row.id)).status == "sent"
