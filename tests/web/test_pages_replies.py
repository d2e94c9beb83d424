"""Replies by SMS on the agents' pages, in process: the referent's home page lists the unread
replies of their persons (« Réponses reçues »), the person's page and the convocation's SMS
timeline show « Réponse reçue le … à … » with the text, « Marquer comme lue » needs its CSRF
token, and an agent of another SPIP sees none of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.passwords import hash_now
from app.models import Agent, Appointment, InboundMessage, Person, Spip
from app.reminders.dispatcher import tick
from app.replies import service as reply_service
from app.sms.base import InboundSms
from tests.conftest import FIXED_NOW, FrozenClock
from tests.factories import make_agent, make_person, make_place, make_spip
from tests.reminders.conftest import World
from tests.reminders.sending import IdsSender
from tests.reminders.test_dispatcher import CONFIG, REMINDER_AT, START, booked
from tests.web.test_pages import CSRF, PASSWORD, log_in
from tests.web.test_pages import web as web

REPLY = "Je serai là mais avec 10 minutes de retard"
RECEIVED = datetime(2027, 1, 18, 9, 30, tzinfo=UTC)  # 10h30 in Paris


async def _world(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> tuple[Spip, Agent, Person, Appointment]:
    """A referent, their person, and a convocation whose reminder went out."""
    spip = await make_spip(session, timezone="Europe/Paris", phone_region="FR")
    place = await make_place(session, spip)
    referent = await make_agent(session, spip, password_hash=hash_now(PASSWORD))
    person = await make_person(
        session, spip, first_name="Inès", last_name="Lefèvre", referent_agent_id=referent.id
    )
    await session.commit()
    appointment = await booked(session, World(spip, place, person), START)
    clock.set(REMINDER_AT)
    assert (await tick(sessionmaker, IdsSender("http", "m-1"), CONFIG)).sent == 1
    clock.set(FIXED_NOW + timedelta(days=3))  # Monday 18th, after the reply
    return spip, referent, person, appointment


async def _receive(session: AsyncSession, text: str, message_id: str = "in-1") -> None:
    sms = InboundSms("http", message_id, "+33612345678", text, RECEIVED)
    await reply_service.receive(session, messages=[sms])
    await session.commit()


async def test_the_referent_sees_the_reply_on_home_person_and_convocation_pages(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    web: httpx.AsyncClient,
    clock: FrozenClock,
) -> None:
    _, referent, person, appointment = await _world(session, sessionmaker, clock)
    await _receive(session, REPLY)
    await log_in(web, referent.email)

    home = await web.get("/")
    assert home.status_code == 200
    assert 'id="reponses-recues"' in home.text and "Réponses reçues" in home.text
    assert "1 réponse par SMS non lue de personnes dont vous êtes référent" in home.text
    assert f'href="/personnes/{person.id}#reponse-' in home.text and "Inès Lefèvre" in home.text
    assert f"« {REPLY} »" in home.text

    fiche = await web.get(f"/personnes/{person.id}")
    assert "SMS reçus de la personne" in fiche.text
    assert "Réponse reçue le lundi 18 janvier 2027 à 10h30" in fiche.text
    assert f"« {REPLY} »" in fiche.text and "Non lue" in fiche.text
    assert f'href="/convocations/{appointment.id}">cette convocation' in fiche.text

    detail = await web.get(f"/convocations/{appointment.id}")
    assert 'id="reponses-recues"' in detail.text
    assert "Réponse reçue le lundi 18 janvier 2027 à 10h30" in detail.text
    assert f"« {REPLY} »" in detail.text


async def test_marking_a_reply_read_needs_csrf_and_takes_it_off_the_home_page(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    web: httpx.AsyncClient,
    clock: FrozenClock,
) -> None:
    _, referent, person, _ = await _world(session, sessionmaker, clock)
    await _receive(session, REPLY)
    [reply] = await session.scalars(select(InboundMessage))
    await log_in(web, referent.email)
    action = f"/personnes/{person.id}/reponses/{reply.id}/lue"

    assert (await web.post(action, data={})).status_code == 403
    home = await web.get("/")
    token = CSRF.search(home.text)
    assert token and action in home.text
    done = await web.post(action, data={"csrf": token.group(1), "retour": "/"})

    assert (done.status_code, done.headers["location"]) == (303, "/")
    read = await session.scalar(select(InboundMessage).execution_options(populate_existing=True))
    assert read is not None and read.read_by_id == referent.id and read.read_at is not None
    assert 'id="reponses-recues"' not in (await web.get("/")).text
    fiche = await web.get(f"/personnes/{person.id}")
    assert f"« {REPLY} »" in fiche.text and "Non lue" not in fiche.text


async def test_only_the_persons_spip_sees_replies_and_only_the_referent_on_the_home_page(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    web: httpx.AsyncClient,
    clock: FrozenClock,
) -> None:
    spip, _, person, _ = await _world(session, sessionmaker, clock)
    colleague = await make_agent(session, spip, password_hash=hash_now(PASSWORD))
    outsider = await make_agent(
        session, await make_spip(session, code="SPIP-LOIN"), password_hash=hash_now(PASSWORD)
    )
    await session.commit()
    await _receive(session, REPLY)
    [reply] = await session.scalars(select(InboundMessage))

    await log_in(web, colleague.email)
    assert 'id="reponses-recues"' not in (await web.get("/")).text  # not their person
    assert REPLY in (await web.get(f"/personnes/{person.id}")).text  # but of their SPIP

    web.cookies.clear()
    await log_in(web, outsider.email)
    fiche = await web.get(f"/personnes/{person.id}")
    assert fiche.status_code == 404 and REPLY not in fiche.text
    token = CSRF.search((await web.get("/")).text)
    assert token
    refused = await web.post(
        f"/personnes/{person.id}/reponses/{reply.id}/lue", data={"csrf": token.group(1)}
    )
    assert refused.status_code == 404
    assert (await session.get(InboundMessage, reply.id)) is not None
    fresh = await session.scalar(
        select(InboundMessage.read_at).where(InboundMessage.id == reply.id)
    )
    assert fresh is None


async def test_a_stop_shows_as_the_refusal_it_recorded(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    web: httpx.AsyncClient,
    clock: FrozenClock,
) -> None:
    _, referent, person, appointment = await _world(session, sessionmaker, clock)
    await _receive(session, "STOP")
    await log_in(web, referent.email)

    fiche = await web.get(f"/personnes/{person.id}")
    assert "STOP reçu le lundi 18 janvier 2027 à 10h30" in fiche.text
    assert "Réponse reçue" not in fiche.text
    assert 'id="reponses-recues"' not in (await web.get("/")).text
    detail = await web.get(f"/convocations/{appointment.id}")
    assert "STOP reçu le lundi 18 janvier 2027" in detail.text
