"""The person's page behind the SMS link, in process on SQLite and PostgreSQL (now = Friday
2027-01-15 10:00 UTC): the place's local time written out, no name, nothing indexed or kept,
the same plain 404 for every token that opens nothing, the reschedule and cancellation
stories, the calendar file read back by the iCalendar library, the rate limit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import anyio
import httpx
import pytest
from icalendar import Calendar
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.links import tokens
from app.main import create_app
from app.models import Appointment
from app.web import static
from tests.conftest import FrozenClock
from tests.links.support import ROOT, book, open_page, text_of, token_of
from tests.reminders.conftest import World, build_world

PERSON_HEADERS = {
    "x-robots-tag": "noindex, nofollow",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


def assert_private(response: httpx.Response) -> None:
    for name, value in PERSON_HEADERS.items():
        assert response.headers[name] == value, name
    if response.headers["content-type"].startswith("text/html"):
        assert '<meta name="robots" content="noindex, nofollow">' in response.text


async def test_the_page_says_the_convocation_in_cayenne_time_without_the_name(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await build_world(session, "America/Cayenne", "GF")
    appointment = await book(client, world, "2027-03-29T09:00")
    page = await open_page(client, await token_of(session, appointment["id"]))
    assert page.status_code == 200, page.text
    assert_private(page)
    words = text_of(page.text)
    assert "lundi 29 mars 2027 à 9h00, heure de Cayenne" in words
    assert "Antenne centre" in words and "2 rue du Palais" in words
    assert 'href="tel:0123456789"' in page.text
    assert "https://www.openstreetmap.org/search?query=Antenne+centre%2C+2+rue+du+Palais" in (
        page.text
    )
    assert "Votre présence est obligatoire" in words
    assert "À apporter : une pièce d'identité et cette convocation." in words
    assert "Rendez-vous de suivi SPIP — SPIP de test" in words
    # Nothing of the person beyond what the SMS say: no name, no number.
    person = world.person
    for private in (person.first_name, person.last_name, "0612345678", "06 12 34 56 78"):
        assert private not in page.text


async def test_the_page_is_in_noumea_time_across_the_date_line(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await build_world(session, "Pacific/Noumea", "NC")
    # 9h00 on Monday in Nouméa is 22h00 UTC on Sunday.
    appointment = await book(client, world, "2027-03-29T09:00")
    stored = await session.get_one(Appointment, appointment["id"])
    assert stored.starts_at == datetime(2027, 3, 28, 22, 0, tzinfo=UTC)
    page = await open_page(client, await token_of(session, appointment["id"]))
    assert "lundi 29 mars 2027 à 9h00, heure de Nouméa" in text_of(page.text)


async def test_the_calendar_file_holds_the_right_instant_in_the_place_zone(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await build_world(session, "America/Cayenne", "GF")
    appointment = await book(client, world, "2027-03-29T09:00")
    answer = await open_page(client, await token_of(session, appointment["id"]), "/calendrier.ics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/calendar")
    assert_private(answer)
    calendar = Calendar.from_ical(answer.content)
    [event] = calendar.events
    assert event.start == datetime(2027, 3, 29, 12, 0, tzinfo=UTC)  # 9h00 in Cayenne (UTC−3)
    assert str(event.start.tzinfo) == "America/Cayenne"
    assert event.end - event.start == timedelta(minutes=appointment["duration_minutes"])
    assert [tz.tz_name for tz in calendar.timezones] == ["America/Cayenne"]
    assert str(event["LOCATION"]) == "Antenne centre, 2 rue du Palais"
    assert world.person.last_name not in answer.text


async def _four_dead_ends(
    client: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock, world: World
) -> list[httpx.Response]:
    """An unknown token, a malformed one, a revoked link and an expired one."""
    revoked = await book(client, world, "2027-02-01T09:00")
    token_revoked = await token_of(session, revoked["id"])
    answer = await client.post(f"/appointments/{revoked['id']}/link/revoke")
    assert answer.status_code == 200, answer.text
    expired = await book(client, world, "2027-01-20T09:00")
    token_expired = await token_of(session, expired["id"])
    assert (await open_page(client, token_expired)).status_code == 200
    clock.set(datetime(2027, 1, 27, 8, 1, tzinfo=UTC))  # 7 days and a minute after its start
    unknown = tokens.token_for("not the server's secret", tokens.new_nonce())
    return [
        await open_page(client, unknown),
        await open_page(client, "abc"),
        await open_page(client, token_revoked),
        await open_page(client, token_expired),
    ]


async def test_unknown_revoked_and_expired_links_give_the_same_plain_404(
    client: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock, world: World
) -> None:
    answers = await _four_dead_ends(client, session, clock, world)
    assert {a.status_code for a in answers} == {404}
    assert len({a.text for a in answers}) == 1  # no oracle: one body for all
    assert len({a.headers.get("content-length") for a in answers}) == 1
    for answer in answers:
        assert_private(answer)
        assert "Ce lien n'est pas ou plus actif" in answer.text
    # The calendar and the STOP form of a dead link are the same page.
    dead = tokens.token_for("x", tokens.new_nonce())
    for rest in ("/calendrier.ics", "/stop", "/autre/chose"):
        assert (await open_page(client, dead, rest)).text == answers[0].text


async def test_a_link_works_until_seven_days_after_the_convocation(
    client: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock, world: World
) -> None:
    appointment = await book(client, world, "2027-01-20T09:00")  # 08:00 UTC
    token = await token_of(session, appointment["id"])
    clock.set(datetime(2027, 1, 27, 7, 59, tzinfo=UTC))
    page = await open_page(client, token)
    assert page.status_code == 200 and "Cette date est passée." in page.text
    clock.set(datetime(2027, 1, 27, 8, 1, tzinfo=UTC))
    assert (await open_page(client, token)).status_code == 404


async def test_a_rescheduled_convocation_old_link_shows_the_new_date(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await build_world(session, "America/Cayenne", "GF")
    first = await book(client, world, "2027-03-29T09:00")
    old_token = await token_of(session, first["id"])
    moved = await client.post(
        f"/appointments/{first['id']}/reschedule", json={"starts_at": "2027-04-06T14:30"}
    )
    assert moved.status_code == 201, moved.text
    again = await client.post(
        f"/appointments/{moved.json()['id']}/reschedule", json={"starts_at": "2027-04-07T10:00"}
    )
    assert again.status_code == 201, again.text
    words = text_of((await open_page(client, old_token)).text)
    assert "Votre convocation a été déplacée" in words
    assert "Elle n'a plus lieu le lundi 29 mars 2027 à 9h00." in words
    assert "mercredi 7 avril 2027 à 10h00, heure de Cayenne" in words  # the end of the chain
    new_token = await token_of(session, again.json()["id"])
    assert new_token != old_token
    assert "Votre convocation a été déplacée" not in (await open_page(client, new_token)).text


async def test_a_cancelled_convocation_says_so_and_offers_no_calendar(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    appointment = await book(client, world, "2027-02-01T09:00")
    token = await token_of(session, appointment["id"])
    cancelled = await client.post(
        f"/appointments/{appointment['id']}/cancel", json={"notify": False}
    )
    assert cancelled.status_code == 200, cancelled.text
    page = await open_page(client, token)
    words = text_of(page.text)
    assert "Votre convocation du lundi 1er février 2027 à 9h00 est annulée." in words
    assert "Ne vous déplacez pas." in words
    assert "calendrier.ics" not in page.text and "présence est obligatoire" not in words
    ics = Calendar.from_ical((await open_page(client, token, "/calendrier.ics")).content)
    assert str(ics.events[0]["STATUS"]) == "CANCELLED"


async def test_the_page_fits_a_slow_network(
    client: httpx.AsyncClient, session: AsyncSession, world: World
) -> None:
    """Under 30 KB of HTML and CSS besides DSFR's cached files; the one sheet is DSFR's core
    and the page's components, not the agents' whole DSFR."""
    appointment = await book(client, world, "2027-02-01T09:00")
    page = await open_page(client, await token_of(session, appointment["id"]))
    sheets = [line for line in page.text.splitlines() if 'rel="stylesheet"' in line]
    assert len(sheets) == 1 and "dsfr/convocation.min.css" in sheets[0]
    assert "<style" not in page.text and "<script" not in page.text
    assert len(page.content) < 30 * 1024
    sheet = await anyio.Path(static.FOLDER, "dsfr", "convocation.min.css").stat()
    whole = await anyio.Path(static.FOLDER, "dsfr", "dsfr.min.css").stat()
    assert sheet.st_size < whole.st_size / 2
    css = await client.get(ROOT + static.url("dsfr/convocation.min.css"))
    assert css.status_code == 200 and css.headers["cache-control"] == static.LONG_CACHE


@pytest.fixture
async def strict(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    """An anonymous client of an app allowed 5 page requests per address and window."""
    app = create_app(settings.model_copy(update={"link_rate_limit": 5}))
    app.state.sessionmaker = sessionmaker
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=ROOT) as anonymous:
        yield anonymous


async def test_guessing_is_rate_limited_per_address_wrong_tokens_included(
    client: httpx.AsyncClient, session: AsyncSession, world: World, strict: httpx.AsyncClient
) -> None:
    appointment = await book(client, world, "2027-02-01T09:00")
    token = await token_of(session, appointment["id"])
    guesses = [tokens.token_for("guess", tokens.new_nonce()) for _ in range(5)]
    assert [(await strict.get(f"/c/{g}")).status_code for g in guesses] == [404] * 5
    refused = await strict.get(f"/c/{token}")  # the right one, once the address is spent
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert "Trop de demandes" in refused.text and "Réessayez dans quelques minutes" in refused.text
    assert_private(refused)
