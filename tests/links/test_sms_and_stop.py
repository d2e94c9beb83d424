"""The link in the SMS and « ne plus recevoir de SMS », in process on both databases: the
dispatcher writes the convocation's own link (derived, never stored), a convocation without a
live link sends its SMS without that part, the STOP form is bound to the link, and a refusal
made there is audited as the person's, stops the next reminder and shows on the referent's
page."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.passwords import hash_now
from app.config import get_settings
from app.models import AuditEvent, ConvocationLink, NotificationKind, Person
from app.reminders import templates
from app.reminders.dispatcher import DispatchConfig, tick
from app.reminders.schemas import ReminderPolicyBody
from app.sms.providers.console import ConsoleProvider
from app.web.sms_templates import PLACEHOLDERS as EDITOR_PLACEHOLDERS
from tests.conftest import FrozenClock
from tests.factories import make_agent
from tests.links.support import book, open_page, text_of, timeline, token_of
from tests.reminders.conftest import World
from tests.web.test_pages import PASSWORD, log_in
from tests.web.test_pages import web as web

BASE = "https://convoc.test"
# 2027-01-20 09:00 in Paris: the default reminder (J-2 10:00) is due 2027-01-18 09:00 UTC.
STARTS = "2027-01-20T09:00"
REMINDER_DUE = datetime(2027, 1, 18, 9, 0, tzinfo=UTC)
PROOF = re.compile(r'name="proof" value="([0-9a-f]{64})"')


def config() -> DispatchConfig:
    return DispatchConfig(concurrency=1, link_secret=get_settings().secret_key, link_base_url=BASE)


async def _send_due(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> ConsoleProvider:
    clock.set(REMINDER_DUE)
    provider = ConsoleProvider()
    await tick(sessionmaker, provider, config())
    return provider


async def test_the_reminder_carries_the_link_that_opens_the_page(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    world: World,
) -> None:
    appointment = await book(client, world, STARTS)
    token = await token_of(session, appointment["id"])
    provider = await _send_due(sessionmaker, clock)
    [(message, _)] = provider.sent.messages
    assert message.body.endswith(f"Infos : {BASE}/c/{token}")
    sent_token = message.body.rsplit("/", 1)[1]
    assert (await open_page(client, sent_token)).status_code == 200
    # The token is in no column: only its hash and the nonce it is derived from.
    row = await session.scalar(
        select(ConvocationLink).where(ConvocationLink.appointment_id == appointment["id"])
    )
    assert row is not None and token not in (row.nonce, row.token_hash)
    # Nor in the text kept as sent, which agents read: the link without its token.
    [sent] = await timeline(client, appointment["id"])
    assert sent["status"] == "sent" and token not in sent["body"]
    assert sent["body"].endswith(f"Infos : {BASE}/c/…")


async def test_a_convocation_without_a_link_sends_its_sms_without_that_part(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    world: World,
) -> None:
    before = await book(client, world, STARTS)  # as if booked before the links existed
    await session.execute(
        delete(ConvocationLink).where(ConvocationLink.appointment_id == before["id"])
    )
    await session.commit()
    provider = await _send_due(sessionmaker, clock)
    [(message, _)] = provider.sent.messages
    assert "/c/" not in message.body and "Infos" not in message.body
    assert message.body.endswith("appelez le 01 23 45 67 89.")


async def test_a_disabled_link_is_not_sent_and_a_new_one_replaces_it(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    world: World,
) -> None:
    appointment = await book(client, world, STARTS)
    old = await token_of(session, appointment["id"])
    revoked = await client.post(f"/appointments/{appointment['id']}/link/revoke")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["active"] is False
    assert revoked.json()["expires_at"] == "2027-01-27T08:00:00Z"
    events = await session.scalars(
        select(AuditEvent).where(AuditEvent.action == "convocation_link_revoked")
    )
    [event] = list(events)
    assert (event.entity, event.entity_id, event.spip_id) == (
        "appointment",
        appointment["id"],
        world.spip.id,
    )
    assert event.agent_id is not None
    assert (await open_page(client, old)).status_code == 404
    fresh = await client.post(f"/appointments/{appointment['id']}/link")
    assert fresh.status_code == 200 and fresh.json()["active"] is True
    session.expire_all()
    new = await token_of(session, appointment["id"])
    assert new != old
    assert (await open_page(client, old)).status_code == 404
    assert (await open_page(client, new)).status_code == 200
    [(message, _)] = (await _send_due(sessionmaker, clock)).sent.messages
    assert message.body.endswith(f"/c/{new}")


async def test_revoking_a_rescheduled_convocation_disables_the_old_links_too(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    first = await book(client, world, STARTS)
    old = await token_of(session, first["id"])
    moved = await client.post(
        f"/appointments/{first['id']}/reschedule", json={"starts_at": "2027-01-22T09:00"}
    )
    assert moved.status_code == 201, moved.text
    assert (await open_page(client, old)).status_code == 200  # shows the new date
    assert (await client.post(f"/appointments/{moved.json()['id']}/link/revoke")).is_success
    assert (await open_page(client, old)).status_code == 404


async def test_a_convocation_booked_before_the_links_cannot_have_its_link_revoked(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    appointment = await book(client, world, STARTS)
    await session.execute(
        delete(ConvocationLink).where(ConvocationLink.appointment_id == appointment["id"])
    )
    await session.commit()
    answer = await client.post(f"/appointments/{appointment['id']}/link/revoke")
    assert answer.status_code == 409
    assert answer.json()["error"] == "convocation_link_missing"
    assert "n'a pas de lien" in answer.json()["detail"]


async def _stop_form(client: httpx.AsyncClient, token: str) -> str:
    page = await open_page(client, token, "/stop")
    assert page.status_code == 200, page.text
    words = text_of(page.text)
    assert "Vos convocations restent obligatoires" in words
    assert "Ne plus recevoir de SMS ne vous dispense pas de vous présenter." in words
    proof = PROOF.search(page.text)
    assert proof
    return proof.group(1)


async def test_stop_via_the_link_is_audited_and_skips_the_next_reminder(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    world: World,
) -> None:
    person_id, spip_id = world.person.id, world.spip.id
    appointment = await book(client, world, STARTS)
    token = await token_of(session, appointment["id"])
    proof = await _stop_form(client, token)
    url = f"http://test/c/{token}/stop"
    forged = await client.post(url, data={"proof": "0" * 64})
    assert forged.status_code == 403
    assert "n'a pas pu être vérifiée" in text_of(forged.text)
    assert (await session.get_one(Person, person_id)).phone_status == "valid"

    done = await client.post(url, data={"proof": proof})
    assert done.status_code == 303
    assert done.headers["location"] == f"/c/{token}?info=stop"
    assert done.headers["referrer-policy"] == "no-referrer"
    person = await session.get_one(Person, person_id)
    await session.refresh(person)
    assert (person.phone_status, person.sms_refused_via) == ("refused", "link")
    [event] = await session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "sms_refused_by_person", AuditEvent.entity_id == person.id
        )
    )
    assert (event.entity, event.agent_id, event.spip_id) == ("person", None, spip_id)
    assert event.changes == {
        "phone_status": {"old": "valid", "new": "refused"},
        "via": {"new": "link"},
    }
    words = text_of((await client.get(f"http://test{done.headers['location']}")).text)
    assert "Vous ne recevrez plus de SMS" in words
    assert "Votre convocation reste obligatoire" in words
    # The STOP form is gone; asking for it again leads back to the page.
    again = await open_page(client, token, "/stop")
    assert again.status_code == 303 and again.headers["location"] == f"/c/{token}"

    provider = await _send_due(sessionmaker, clock)
    assert provider.sent.messages == []
    [reminder] = await timeline(client, appointment["id"])
    assert (reminder["kind"], reminder["status"], reminder["reason"]) == (
        "reminder",
        "skipped",
        "refused",
    )


async def test_the_referent_sees_the_refusal_made_from_the_link(
    client: httpx.AsyncClient,
    web: httpx.AsyncClient,
    session: AsyncSession,
    world: World,
) -> None:
    referent = await make_agent(session, world.spip, password_hash=hash_now(PASSWORD))
    world.person.referent_agent_id = referent.id
    await session.commit()
    appointment = await book(client, world, STARTS)
    token = await token_of(session, appointment["id"])
    proof = await _stop_form(client, token)
    assert (await client.post(f"http://test/c/{token}/stop", data={"proof": proof})).status_code
    assert (await log_in(web, referent.email)).status_code == 303
    page = await web.get(f"/personnes/{world.person.id}")
    assert page.status_code == 200, page.text
    assert (
        "La personne a refusé les SMS le vendredi 15 janvier 2027, elle-même, depuis le lien "
        "de sa convocation" in text_of(page.text)
    )


# -- wordings ---------------------------------------------------------------------------------


def test_the_link_is_a_placeholder_explained_in_the_editor() -> None:
    assert "rdv.lien" in templates.PLACEHOLDERS
    assert "lien court" in EDITOR_PLACEHOLDERS["rdv.lien"]
    templates.validate("Rappel le {rdv.date}.[ Infos : {rdv.lien}]")


def test_the_default_wordings_with_the_longest_link_keep_within_the_default_cap() -> None:
    defaults = ReminderPolicyBody()
    for kind in (
        NotificationKind.summons,
        NotificationKind.reminder,
        NotificationKind.reschedule,
        NotificationKind.cancellation,
    ):
        body = templates.DEFAULT_TEMPLATES[kind]
        assert "{rdv.lien}]" in body, kind
        worst = templates.worst_rendering(
            body, templates.NATIONAL_LONGEST, gsm7_friendly=defaults.gsm7_friendly
        )
        assert templates.longest_link() is not None
        assert str(templates.longest_link()) in worst.text
        assert worst.info.segments <= defaults.max_segments, kind
    reminder = templates.worst_rendering(
        templates.DEFAULT_TEMPLATES[NotificationKind.reminder],
        templates.NATIONAL_LONGEST,
        gsm7_friendly=True,
    )
    assert (reminder.info.encoding, reminder.info.segments) == ("gsm7", 2)  # the most sent


async def test_the_preview_shows_a_link_of_the_real_length(
    client: httpx.AsyncClient, world: World
) -> None:
    answer = await client.post(
        "/templates/preview", json={"spip_id": world.spip.id, "kind": "reminder"}
    )
    assert answer.status_code == 200, answer.text
    link = templates.longest_link()
    assert link is not None and answer.json()["text"].endswith(f"Infos : {link}")


async def test_after_a_secret_rotation_the_sms_carry_no_dead_link(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    world: World,
) -> None:
    await book(client, world, STARTS)
    clock.set(REMINDER_DUE)
    provider = ConsoleProvider()
    rotated = DispatchConfig(concurrency=1, link_secret="r" * 40, link_base_url=BASE)
    await tick(sessionmaker, provider, rotated)
    [(message, _)] = provider.sent.messages
    assert "/c/" not in message.body
    assert message.body.endswith("appelez le 01 23 45 67 89.")
