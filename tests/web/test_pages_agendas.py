"""Agendas, in process: a secretariat creates an agenda in a Cayenne place, adds a recurring
opening (« chaque mardi à 9h00 ») and sees the week's slots at 9h00 « heure de Cayenne »; a
wrong opening refused in French with the typed values kept; a slot closed and reopened; an
opening ended (future empty slots gone); a CPIP reads but may not write (403); CSRF."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from html import unescape

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.passwords import hash_now
from app.models import Agenda, Agent, Place, Slot, SlotType, Spip
from tests.factories import appointment_type, make_agent, make_place, make_spip
from tests.web.test_pages import CSRF, PASSWORD, log_in
from tests.web.test_pages import web as web

# FIXED_NOW is Friday 15 January 2027, 10:00 UTC (7h00 in Cayenne).
NEXT_MONDAY = "2027-01-18"


async def _setup(session: AsyncSession, role: str = "secretariat") -> tuple[Spip, Place, Agent]:
    spip = await make_spip(session, timezone="America/Cayenne", phone_region="GF")
    place = await make_place(session, spip, name="Antenne de Kourou", timezone="America/Cayenne")
    agent = await make_agent(session, spip, role=role, password_hash=hash_now(PASSWORD))
    await appointment_type(session)
    await session.commit()
    return spip, place, agent


async def _token(web: httpx.AsyncClient, path: str) -> str:
    page = await web.get(path)
    assert page.status_code == 200, page.text
    found = CSRF.search(page.text)
    assert found
    return found.group(1)


async def _agenda(session: AsyncSession, place: Place, name: str = "Accueil collectif") -> Agenda:
    agenda = Agenda(spip_id=place.spip_id, place_id=place.id, name=name, appointment_types=[])
    session.add(agenda)
    await session.commit()
    return agenda


def _opening(**changes: str) -> dict[str, str]:
    return {
        "jour": "2",
        "heure": "09:00",
        "duree": "20",
        "capacite": "1",
        "debut": "2027-01-15",
        "fin": "2027-03-31",
    } | changes


async def test_a_secretariat_creates_an_agenda_and_sees_its_tuesday_slots_in_cayenne_time(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, place, agent = await _setup(session)
    await log_in(web, agent.email)
    home = await web.get("/")
    assert '<a class="fr-nav__link" href="/agendas"' in home.text
    form = await web.get("/agendas/nouveau")
    assert f'<option value="{place.id}">Antenne de Kourou</option>' in form.text
    assert 'name="types" value="suivi_spip"' in form.text
    created = await web.post(
        "/agendas/nouveau",
        data={
            "csrf": CSRF.search(form.text).group(1),  # type: ignore[union-attr]
            "lieu": str(place.id),
            "nom": "Accueil collectif",
            "agent": str(agent.id),
            "types": ["suivi_spip"],
        },
    )
    assert created.status_code == 303, created.text
    agenda = await session.scalar(select(Agenda).where(Agenda.name == "Accueil collectif"))
    assert agenda is not None and agenda.place_id == place.id
    assert agenda.appointment_types == ["suivi_spip"] and agenda.agent_id == agent.id
    page = await web.get(created.headers["location"])
    assert "L'agenda est créé." in unescape(page.text)

    listing = await web.get("/agendas")
    assert "Antenne de Kourou" in listing.text and "Accueil collectif" in listing.text
    assert f"<td>{agent.name}</td>" in listing.text
    assert "Nouvel agenda" in listing.text

    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    added = await web.post(f"/agendas/{agenda.id}/ouvertures", data={"csrf": token, **_opening()})
    assert added.status_code == 303, added.text
    assert f"semaine={NEXT_MONDAY}" in added.headers["location"]
    slot_type = await session.scalar(select(SlotType).where(SlotType.agenda_id == agenda.id))
    assert slot_type is not None and slot_type.weekday == 2
    assert slot_type.start_time == time(9, 0) and slot_type.to_date == date(2027, 3, 31)
    week = unescape((await web.get(added.headers["location"])).text)
    assert "L'ouverture est enregistrée : 11 créneaux ouverts." in week
    assert "chaque mardi à 9h00, 20 minutes, 1 place, du vendredi 15 janvier 2027" in week
    assert "au mercredi 31 mars 2027 (heure de Cayenne)" in week
    assert "du lundi 18 janvier 2027 au dimanche 24 janvier 2027" in week
    assert "<caption>mardi 19 janvier 2027</caption>" in week
    assert "Heure (heure de Cayenne)" in week
    assert "9h00 – 9h20" in week and "0 / 1" in week
    # The slot's instant is 12:00 UTC: 9h00 in Cayenne (UTC−3), not the agent's nor Paris's.
    first = await session.scalar(
        select(Slot).where(Slot.agenda_id == agenda.id).order_by(Slot.starts_at)
    )
    assert first is not None and first.starts_at.hour == 12
    # « Semaine précédente » goes back to this (empty) week.
    assert "semaine=2027-01-11" in week
    this_week = unescape((await web.get(f"/agendas/{agenda.id}")).text)
    assert "du lundi 11 janvier 2027 au dimanche 17 janvier 2027" in this_week
    assert "Aucun créneau cette semaine." in this_week


async def test_a_wrong_opening_is_refused_in_french_with_the_values_kept(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, place, agent = await _setup(session)
    agenda = await _agenda(session, place)
    await log_in(web, agent.email)
    token = await _token(web, f"/agendas/{agenda.id}")
    refused = await web.post(
        f"/agendas/{agenda.id}/ouvertures",
        data={"csrf": token, **_opening(jour="8", capacite="0", heure="09:30")},
    )
    assert refused.status_code == 422
    text = unescape(refused.text)
    assert "Choisissez un jour de la semaine dans la liste." in text
    assert "Indiquez un nombre de places entre 1 et 1000." in text
    assert 'id="erreurs"' in text and 'href="#jour"' in text and 'href="#capacite"' in text
    assert 'value="09:30"' in text and 'value="2027-03-31"' in text and 'value="0"' in text
    for jour in ("mardi", ""):
        again = await web.post(
            f"/agendas/{agenda.id}/ouvertures", data={"csrf": token, **_opening(jour=jour)}
        )
        assert again.status_code == 422
        assert "Choisissez un jour de la semaine dans la liste." in unescape(again.text)
    backwards = await web.post(
        f"/agendas/{agenda.id}/ouvertures",
        data={"csrf": token, **_opening(fin="2027-01-01")},
    )
    assert backwards.status_code == 422
    assert "La date de fin précède la date de début." in unescape(backwards.text)
    assert await session.scalar(select(func.count()).select_from(SlotType)) == 0


async def test_a_wrong_agenda_form_is_refused_on_its_fields(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, _, agent = await _setup(session)
    await log_in(web, agent.email)
    token = await _token(web, "/agendas/nouveau")
    refused = await web.post(
        "/agendas/nouveau",
        data={"csrf": token, "lieu": "999999", "nom": "Agenda du mardi", "types": ["inconnu"]},
    )
    assert refused.status_code == 422
    text = unescape(refused.text)
    assert "Choisissez un lieu dans la liste." in text
    assert 'value="Agenda du mardi"' in text
    _, place, _ = await _setup(session)  # another SPIP's place is not in the list either
    assert "Choisissez un lieu dans la liste." in unescape(
        (
            await web.post(
                "/agendas/nouveau", data={"csrf": token, "lieu": str(place.id), "nom": "Ailleurs"}
            )
        ).text
    )
    mine = await session.scalar(select(Place).where(Place.spip_id == agent.spip_id))
    assert mine is not None
    unknown = await web.post(
        "/agendas/nouveau",
        data={"csrf": token, "lieu": str(mine.id), "nom": "Agenda du mardi", "types": ["inconnu"]},
    )
    assert unknown.status_code == 422
    assert "Type de convocation inconnu : inconnu." in unescape(unknown.text)
    assert 'href="#types"' in unknown.text
    assert await session.scalar(select(func.count()).select_from(Agenda)) == 0


async def test_closing_a_slot_shows_it_closed_and_it_can_be_reopened(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, place, agent = await _setup(session)
    agenda = await _agenda(session, place)
    await log_in(web, agent.email)
    token = await _token(web, f"/agendas/{agenda.id}")
    added = await web.post(f"/agendas/{agenda.id}/ouvertures", data={"csrf": token, **_opening()})
    assert added.status_code == 303
    slot = await session.scalar(
        select(Slot).where(Slot.agenda_id == agenda.id).order_by(Slot.starts_at)
    )
    assert slot is not None
    closed = await web.post(
        f"/agendas/creneaux/{slot.id}",
        data={"csrf": token, "ferme": "oui", "semaine": NEXT_MONDAY},
    )
    assert closed.status_code == 303
    await session.refresh(slot)
    assert slot.closed
    page = unescape((await web.get(closed.headers["location"])).text)
    assert "Le créneau est fermé" in page
    assert '<p class="fr-badge fr-badge--warning fr-badge--sm">Fermé</p>' in page
    assert "Rouvrir<span" in page
    reopened = await web.post(
        f"/agendas/creneaux/{slot.id}",
        data={"csrf": token, "ferme": "non", "semaine": NEXT_MONDAY},
    )
    assert reopened.status_code == 303
    await session.refresh(slot)
    assert not slot.closed


async def test_ending_an_opening_removes_its_future_empty_slots_and_says_so(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, place, agent = await _setup(session)
    agenda = await _agenda(session, place)
    await log_in(web, agent.email)
    token = await _token(web, f"/agendas/{agenda.id}")
    await web.post(f"/agendas/{agenda.id}/ouvertures", data={"csrf": token, **_opening()})
    slot_type = await session.scalar(select(SlotType).where(SlotType.agenda_id == agenda.id))
    assert slot_type is not None
    page = unescape((await web.get(f"/agendas/{agenda.id}")).text)
    assert "ceux qui ont déjà une convocation sont gardés" in page
    ended = await web.post(
        f"/agendas/{agenda.id}/ouvertures/{slot_type.id}/terminer", data={"csrf": token}
    )
    assert ended.status_code == 303
    count = select(func.count()).select_from(Slot).where(Slot.agenda_id == agenda.id)
    assert await session.scalar(count) == 0
    after = unescape((await web.get(ended.headers["location"])).text)
    assert "L'ouverture est terminée : 11 créneaux à venir sans convocation supprimés" in after
    assert "Terminée" in after


async def test_a_cpip_reads_the_agendas_but_may_not_change_them(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip, place, _ = await _setup(session)
    cpip = await make_agent(session, spip, role="cpip", password_hash=hash_now(PASSWORD))
    await session.commit()
    agenda = await _agenda(session, place)
    slot = Slot(
        agenda_id=agenda.id,
        spip_id=spip.id,
        place_id=place.id,
        starts_at=datetime(2027, 1, 19, 12, 0, tzinfo=UTC),
        duration_minutes=20,
        capacity=1,
        booked=0,
        closed=False,
    )
    slot_type = SlotType(
        agenda_id=agenda.id,
        weekday=2,
        start_time=time(9, 0),
        duration_minutes=20,
        capacity=1,
        from_date=date(2027, 1, 15),
        active=True,
    )
    session.add_all([slot, slot_type])
    await session.commit()
    await log_in(web, cpip.email)
    listing = await web.get("/agendas")
    assert listing.status_code == 200 and "Accueil collectif" in listing.text
    assert "Nouvel agenda" not in listing.text
    assert '<a class="fr-nav__link" href="/agendas" aria-current="page">' in listing.text
    page = await web.get(f"/agendas/{agenda.id}?semaine={NEXT_MONDAY}")
    assert page.status_code == 200 and "9h00 – 9h20" in page.text
    assert "Ajouter l'ouverture" not in page.text and "Fermer<span" not in page.text
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    assert (await web.get("/agendas/nouveau")).status_code == 403
    posts = {
        "/agendas/nouveau": {"lieu": str(place.id), "nom": "Le mien"},
        f"/agendas/{agenda.id}/ouvertures": _opening(),
        f"/agendas/{agenda.id}/ouvertures/{slot_type.id}/terminer": {},
        f"/agendas/creneaux/{slot.id}": {"ferme": "oui"},
    }
    for path, data in posts.items():
        answer = await web.post(path, data={"csrf": token, **data})
        assert answer.status_code == 403, path
        assert "Action impossible" in answer.text
    await session.refresh(slot)
    await session.refresh(slot_type)
    assert not slot.closed and slot_type.active
    assert await session.scalar(select(func.count()).select_from(Agenda)) == 1


async def test_every_agenda_form_needs_its_csrf_token(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, place, agent = await _setup(session)
    agenda = await _agenda(session, place)
    await log_in(web, agent.email)
    for path, data in {
        "/agendas/nouveau": {"lieu": str(place.id), "nom": "Sans jeton"},
        f"/agendas/{agenda.id}/ouvertures": _opening(),
    }.items():
        for token in (None, "f" * 64):
            sent = data | ({"csrf": token} if token else {})
            answer = await web.post(path, data=sent)
            assert answer.status_code == 403, path
            assert "Formulaire refusé" in answer.text
    assert await session.scalar(select(func.count()).select_from(SlotType)) == 0
    assert await session.scalar(select(func.count()).select_from(Agenda)) == 1


async def test_another_spips_agenda_is_introuvable(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, _, agent = await _setup(session)
    other = await make_spip(session)
    elsewhere = await make_place(session, other)
    agenda = await _agenda(session, elsewhere, "Agenda d'ailleurs")
    await log_in(web, agent.email)
    assert (await web.get(f"/agendas/{agenda.id}")).status_code == 404
    listing = await web.get("/agendas")
    assert "Agenda d'ailleurs" not in listing.text


async def test_a_national_administrator_chooses_the_spip_first(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip, place, _ = await _setup(session)
    await _agenda(session, place)
    admin = await make_agent(session, None, password_hash=hash_now(PASSWORD))
    await session.commit()
    await log_in(web, admin.email)
    choice = await web.get("/agendas")
    assert choice.status_code == 200
    assert f'<a href="/agendas?spip={spip.id}">{spip.name}</a>' in choice.text
    listing = await web.get(f"/agendas?spip={spip.id}")
    assert "Accueil collectif" in listing.text
    assert f'href="/agendas/nouveau?spip={spip.id}"' in listing.text
