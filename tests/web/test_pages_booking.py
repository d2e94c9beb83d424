"""Convoquer, in process: the preview is the booking's own plan (nothing stored), the booking
stores through the appointments service, a failed form comes back filled with French field
errors, the changes of time are explained, another SPIP's person is « introuvable »."""

from __future__ import annotations

import re
from html import unescape

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.passwords import hash_now
from app.models import Appointment, Notification, Person, Spip
from tests.factories import make_agent, make_person, make_place, make_spip
from tests.web.test_pages import CSRF, PASSWORD, log_in
from tests.web.test_pages import web as web


async def _setup(session: AsyncSession, tz: str = "America/Cayenne") -> tuple[Spip, Person, int]:
    spip = await make_spip(
        session, timezone=tz, phone_region="GF" if tz != "Europe/Paris" else "FR"
    )
    place = await make_place(session, spip, timezone=tz)
    agent = await make_agent(session, spip, password_hash=hash_now(PASSWORD))
    person = await make_person(session, spip, phone="+594694123456")
    await session.commit()
    return spip, person, place.id, agent.email  # type: ignore[return-value]


async def _token(web: httpx.AsyncClient, person_id: int) -> str:
    page = await web.get(f"/personnes/{person_id}/convoquer")
    assert page.status_code == 200, page.text
    token = CSRF.search(page.text)
    assert token
    return token.group(1)


def _form(token: str, place_id: int, **over: str) -> dict[str, str]:
    return {
        "csrf": token,
        "type": "suivi_spip",
        "lieu": str(place_id),
        "date": "2027-03-29",
        "heure": "09:00",
        "envoyer": "oui",
        "action": "verifier",
    } | over


async def _count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_preview_shows_the_plan_in_the_places_time_and_stores_nothing(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, person, place_id, email = await _setup(session)
    await log_in(web, email)
    token = await _token(web, person.id)
    answer = await web.post(f"/personnes/{person.id}/convoquer", data=_form(token, place_id))
    assert answer.status_code == 200, answer.text
    assert 'Heure <span id="heure-zone">(heure de Cayenne)</span>' in answer.text
    assert "Rappel" in answer.text and "Convocation" in answer.text
    assert "(heure de Cayenne)" in answer.text
    assert re.search(r"\d SMS \((GSM-7|UCS-2|gsm7|ucs2)", answer.text, re.I), answer.text
    assert await _count(session, Appointment) == 0
    assert await _count(session, Notification) == 0


async def test_booking_stores_09h00_cayenne_as_12h00_utc_and_redirects(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, person, place_id, email = await _setup(session)
    await log_in(web, email)
    token = await _token(web, person.id)
    answer = await web.post(
        f"/personnes/{person.id}/convoquer", data=_form(token, place_id, action="convoquer")
    )
    assert answer.status_code == 303, answer.text
    stored = (await session.scalars(select(Appointment))).one()
    assert answer.headers["location"] == f"/convocations/{stored.id}?nouvelle=1"
    assert stored.starts_at.isoformat() == "2027-03-29T12:00:00+00:00"
    assert await _count(session, Notification) >= 2


async def test_a_past_date_comes_back_filled_with_a_french_field_error(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, person, place_id, email = await _setup(session)
    await log_in(web, email)
    token = await _token(web, person.id)
    answer = await web.post(
        f"/personnes/{person.id}/convoquer",
        data=_form(token, place_id, date="2026-12-01", action="convoquer"),
    )
    assert answer.status_code == 422
    assert "fr-alert--error" in answer.text and 'href="#date"' in answer.text
    assert "La date de convocation est déjà passée." in answer.text
    assert 'value="2026-12-01"' in answer.text and 'value="09:00"' in answer.text
    assert await _count(session, Appointment) == 0


async def test_the_spring_gap_in_paris_is_explained_in_words(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, person, place_id, email = await _setup(session, "Europe/Paris")
    await log_in(web, email)
    token = await _token(web, person.id)
    answer = await web.post(
        f"/personnes/{person.id}/convoquer",
        data=_form(token, place_id, date="2027-03-28", heure="02:30"),
    )
    assert answer.status_code == 422
    assert (
        "2h30 n&#39;existe pas le dimanche 28 mars 2027 à Paris : cette nuit-là, les horloges "
        "passent directement de 2h00 à 3h00" in answer.text
    )


async def test_another_spips_person_is_introuvable(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, _, _, email = await _setup(session)
    other = await make_spip(session)
    stranger = await make_person(session, other)
    await session.commit()
    await log_in(web, email)
    assert (await web.get(f"/personnes/{stranger.id}/convoquer")).status_code == 404


async def test_the_preview_warns_of_a_guyane_holiday_apart_from_the_sms(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip, person, place_id, email = await _setup(session)
    spip.holiday_territory = "973"
    await session.commit()
    await log_in(web, email)
    token = await _token(web, person.id)
    url = f"/personnes/{person.id}/convoquer"
    holiday = await web.post(url, data=_form(token, place_id, date="2027-06-10"))
    assert holiday.status_code == 200, holiday.text
    text = unescape(holiday.text)
    assert '<h2 class="fr-alert__title">Jour férié</h2>' in text
    assert (
        "Le jeudi 10 juin 2027 est férié en Guyane (Abolition de l'esclavage) : vérifiez que "
        "le service est ouvert." in text
    )
    assert "Des SMS ne partiront pas" not in text  # the SMS all go: no SMS alert
    after = await web.post(url, data=_form(token, place_id, date="2027-06-11"))
    assert "Jour férié" not in after.text
    # Warned, not refused: « Convoquer » books it.
    booked = await web.post(url, data=_form(token, place_id, date="2027-06-10", action="convoquer"))
    assert booked.status_code == 303, booked.text
    assert await _count(session, Appointment) == 1
