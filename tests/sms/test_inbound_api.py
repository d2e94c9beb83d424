"""Received SMS through the API route, on both databases: authenticated like receipts, stored
once, a STOP recorded as the person's refusal (audited, and the next reminder skipped by the
real dispatcher), a reply attached to the latest convocation whose SMS went out, listed for
the agents of the person's SPIP only — and neither the text nor the number in the logs."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.main import create_app
from app.models import AuditEvent, InboundMessage, Notification, Person
from app.reminders.dispatcher import tick
from app.sms.config import SmsSettings
from app.sms.gateway import SmsGateway
from app.sms.providers.http import SIGNATURE_HEADER, sign
from app.sms.providers.twilio import compute_signature
from tests.conftest import ClientFactory, FrozenClock
from tests.factories import make_agent, make_person, make_spip
from tests.reminders.conftest import World, build_world
from tests.reminders.sending import IdsSender
from tests.reminders.test_dispatcher import CONFIG, REMINDER_AT, START, booked, rows
from tests.sms.conftest import PUBLIC_BASE, TWILIO_SID, TWILIO_TOKEN, WEBHOOK_SECRET
from tests.sms.support import RECEIPT_TOKEN

PHONE = "+33612345678"  # the factories' number
HTTP_URL = f"/sms/inbound/http/{RECEIPT_TOKEN}"
TWILIO_PATH = f"/api/v1/sms/inbound/twilio/{RECEIPT_TOKEN}"
REPLY = "Bonjour, je serai en retard de dix minutes"


@pytest.fixture
async def world(session: AsyncSession) -> World:
    return await build_world(session)


@pytest.fixture
async def provider(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    """A provider calling the server (no agent token); http, Twilio and Brevo configured, and
    LINK Mobility, which forwards no SMS."""
    app = create_app(settings)
    app.state.sessionmaker = sessionmaker
    app.state.sms_gateway = gateway = SmsGateway.from_settings(
        SmsSettings(
            _env_file=None,
            providers=("http", "twilio", "brevo", "linkmobility"),
            http_api_key="http-api-key",
            http_webhook_secret=WEBHOOK_SECRET,
            twilio_account_sid=TWILIO_SID,
            twilio_auth_token=TWILIO_TOKEN,
            brevo_api_key="xkeysib-123",
            linkmobility_username="lm-user",
            linkmobility_password="lm-password",
            public_base_url=PUBLIC_BASE,
            receipt_token=RECEIPT_TOKEN,
        )
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as client:
        yield client
    await gateway.aclose()


def inbound(text: str, *, message_id: str = "in-1", sender: str = PHONE) -> dict[str, Any]:
    item = {"id": message_id, "from": sender, "to": "SPIP", "text": text}
    return {"inbound": [item | {"received_at": "2027-01-18T10:00:00Z"}]}


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


async def stored(session: AsyncSession) -> list[InboundMessage]:
    stmt = (
        select(InboundMessage).order_by(InboundMessage.id).execution_options(populate_existing=True)
    )
    return list(await session.scalars(stmt))


async def fresh_person(session: AsyncSession, person_id: int) -> Person:
    person = await session.scalar(
        select(Person).where(Person.id == person_id).execution_options(populate_existing=True)
    )
    assert person is not None
    return person


async def send_reminder(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    clock: FrozenClock,
    week: int,
) -> Notification:
    appointment = await booked(session, world, START + timedelta(days=7 * week))
    clock.set(REMINDER_AT + timedelta(days=7 * week))
    assert (await tick(sessionmaker, IdsSender("http", f"m-{week}"), CONFIG)).sent == 1
    [row] = await rows(session, appointment)
    return row


async def test_a_reply_is_kept_once_on_the_latest_convocation_and_never_logged(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    provider: httpx.AsyncClient,
    client_for: ClientFactory,
    world: World,
    clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await send_reminder(session, sessionmaker, world, clock, week=0)
    latest = await send_reminder(session, sessionmaker, world, clock, week=1)
    caplog.set_level(logging.INFO)  # the level servers run at

    first = await post(provider, inbound(REPLY))
    again = await post(provider, inbound(REPLY))  # the provider retries

    assert (first.status_code, first.json()) == (200, {"accepted": 1, "duplicates": 0})
    assert (again.status_code, again.json()) == (200, {"accepted": 0, "duplicates": 1})
    [reply] = await stored(session)
    assert (reply.kind, reply.body, reply.person_id, reply.appointment_id, reply.spip_id) == (
        "reply",
        REPLY,
        world.person.id,
        latest.appointment_id,
        world.spip.id,
    )
    assert (await fresh_person(session, world.person.id)).phone_status == "valid"
    assert "sms.inbound provider=http kind=reply matched=true" in caplog.text
    assert REPLY not in caplog.text and "dix minutes" not in caplog.text
    assert PHONE not in caplog.text and PHONE[1:] not in caplog.text

    agent = await make_agent(session, world.spip)
    other_spip = await make_spip(session, code="SPIP-AUTRE")
    outsider = await make_agent(session, other_spip)
    await session.commit()
    async with client_for(agent) as colleague:
        shown = await colleague.get(f"/persons/{world.person.id}/replies")
    assert shown.status_code == 200, shown.text
    [item] = shown.json()
    assert (item["kind"], item["text"], item["appointment_id"], item["read_at"]) == (
        "reply",
        REPLY,
        latest.appointment_id,
        None,
    )
    async with client_for(outsider) as stranger:
        refused = await stranger.get(f"/persons/{world.person.id}/replies")
    assert refused.status_code == 404
    assert refused.json()["error"] == "person_not_found"


async def test_stop_by_sms_refuses_audits_and_the_next_reminder_is_skipped(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    provider: httpx.AsyncClient,
    world: World,
    clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await send_reminder(session, sessionmaker, world, clock, week=0)
    planned = await booked(session, world, START + timedelta(days=14))
    caplog.set_level(logging.INFO)

    response = await post(provider, inbound(" Stop. "))

    assert response.status_code == 200, response.text
    [stop] = await stored(session)
    assert (stop.kind, stop.body, stop.person_id) == ("stop", None, world.person.id)
    person = await fresh_person(session, world.person.id)
    assert (person.phone_status, person.sms_refused_via) == ("refused", "sms")
    [event] = await session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "sms_refused_by_person", AuditEvent.entity_id == person.id
        )
    )
    assert (event.agent_id, event.spip_id, event.entity) == (None, world.spip.id, "person")
    assert "kind=stop matched=true" in caplog.text

    clock.set(REMINDER_AT + timedelta(days=14))
    await tick(sessionmaker, IdsSender("http", "never"), CONFIG)
    [reminder] = await rows(session, planned)
    assert (reminder.status, reminder.reason) == ("skipped", "refused")


async def test_stop_refuses_every_file_of_the_number_and_an_unknown_number_is_kept_unmatched(
    session: AsyncSession,
    provider: httpx.AsyncClient,
    world: World,
    caplog: pytest.LogCaptureFixture,
) -> None:
    elsewhere = await make_person(session, await make_spip(session, code="SPIP-2"))
    archived = await make_person(session, world.spip, archived=True)
    await session.commit()
    caplog.set_level(logging.INFO)

    assert (await post(provider, inbound("ARRÊT"))).status_code == 200
    unknown = await post(
        provider, inbound("Qui êtes-vous ?", message_id="in-2", sender="+33698765432")
    )

    assert unknown.json() == {"accepted": 1, "duplicates": 0}
    statuses = {
        p.id: (await fresh_person(session, p.id)).phone_status
        for p in (world.person, elsewhere, archived)
    }
    assert statuses == {world.person.id: "refused", elsewhere.id: "refused", archived.id: "valid"}
    stop, orphan = await stored(session)
    assert stop.person_id == elsewhere.id  # the latest file, no SMS having gone out
    assert (orphan.kind, orphan.person_id, orphan.spip_id, orphan.sender_phone) == (
        "reply",
        None,
        None,
        "+33698765432",
    )
    assert "kind=reply matched=false" in caplog.text
    assert "98765432" not in caplog.text


async def test_twilio_incoming_message_answers_empty_twiml_and_opt_out_is_a_stop(
    session: AsyncSession, provider: httpx.AsyncClient, world: World
) -> None:
    params = {
        "MessageSid": "SM" + "c" * 32,
        "AccountSid": TWILIO_SID,
        "From": PHONE,
        "To": "+33757000000",
        "Body": "Je ne veux plus de messages",
        "NumMedia": "0",
        "OptOutType": "STOP",
    }
    signature = compute_signature(TWILIO_TOKEN, PUBLIC_BASE + TWILIO_PATH, list(params.items()))
    form = {"content-type": "application/x-www-form-urlencoded"}
    response = await provider.post(
        TWILIO_PATH.removeprefix("/api/v1"),
        content=urlencode(params),
        headers=form | {"X-Twilio-Signature": signature},
    )
    forged = await provider.post(
        TWILIO_PATH.removeprefix("/api/v1"),
        content=urlencode(params | {"Body": "x"}),
        headers=form | {"X-Twilio-Signature": signature},
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    assert response.text == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    assert forged.status_code == 401
    [stop] = await stored(session)
    assert (stop.provider, stop.kind, stop.body) == ("twilio", "stop", None)
    assert (await fresh_person(session, world.person.id)).phone_status == "refused"


async def test_brevo_reply_needs_the_path_token(
    session: AsyncSession, provider: httpx.AsyncClient, world: World
) -> None:
    event = {
        "to": PHONE.removeprefix("+"),
        "messageId": 123,
        "msg_status": "replied",
        "reply": "D'accord",
        "ts_event": 1800000000,
    }
    refused = await provider.post("/sms/inbound/brevo/" + "b" * 44, json=event)
    missing = await provider.post("/sms/inbound/brevo", json=event)
    accepted = await provider.post(f"/sms/inbound/brevo/{RECEIPT_TOKEN}", json=event)

    assert (refused.status_code, missing.status_code) == (401, 401)
    assert refused.json()["error"] == "inbound_not_authenticated"
    assert (accepted.status_code, accepted.json()) == (200, {"accepted": 1, "duplicates": 0})
    [reply] = await stored(session)
    assert (reply.provider, reply.body, reply.person_id) == ("brevo", "D'accord", world.person.id)


async def test_forged_unreadable_or_misaddressed_inbound_sms_write_nothing(
    session: AsyncSession, provider: httpx.AsyncClient, world: World
) -> None:
    stop = inbound("STOP")
    for response in (
        await post(provider, stop, secret="x" * 40),
        await post(provider, stop, url=f"/sms/inbound/http/{'b' * 44}"),
        await post(provider, stop, url="/sms/inbound/http"),
        await provider.post(HTTP_URL, json=stop),
    ):
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "inbound_not_authenticated"
        assert "signature ou jeton invalide" in response.json()["detail"]
    for response in (
        await post(provider, None, raw=b"{not json"),
        await post(provider, [stop["inbound"][0]]),
        await post(provider, {"inbound": [*stop["inbound"], {"id": "x"}]}),  # one bad item
        await post(provider, None, raw=b'{"inbound": [' + b" " * 70_000 + b"]}"),
    ):
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_inbound"
        assert response.json()["detail"].startswith("SMS reçu illisible")
    for response in (
        await post(provider, stop, url=f"/sms/inbound/nexmo/{RECEIPT_TOKEN}"),
        await post(provider, stop, url=f"/sms/inbound/linkmobility/{RECEIPT_TOKEN}"),
        await post(provider, stop, url=f"/sms/inbound/console/{RECEIPT_TOKEN}"),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["error"] == "unknown_provider"

    assert await stored(session) == []
    assert (
        int(
            await session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "sms_refused_by_person")
            )
            or 0
        )
        == 0
    )
    assert (await fresh_person(session, world.person.id)).phone_status == "valid"
