"""The secretariat's agenda pages, in process: « Convoquer » from a slot of the week (choose the
person, then the booking page set on that slot); « Dans un créneau d'un agenda » on the booking
page (free slots in the place's time, the agenda's types, ``slot_id``, a slot that filled
meanwhile); one-off slots in batches; editing an agenda; a slot's capacity (never below the
convocations it holds); CSRF, permissions and another SPIP's slot « introuvable »."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.passwords import hash_now
from app.models import Agenda, Agent, Appointment, Person, Place, Slot, Spip
from tests.agendas.support import make_agenda, make_slot
from tests.factories import make_agent, make_person, make_place, make_spip
from tests.web.test_pages import CSRF, PASSWORD, log_in
from tests.web.test_pages import web as web

# FIXED_NOW is Friday 15 January 2027, 10:00 UTC (7h00 in Cayenne, UTC−3).
TUESDAY_9H_CAYENNE = datetime(2027, 1, 19, 12, 0, tzinfo=UTC)
NEXT_MONDAY = "2027-01-18"


async def _setup(
    session: AsyncSession, role: str = "secretariat", **agenda: object
) -> tuple[Spip, Place, Agent, Agenda, Slot, Person]:
    spip = await make_spip(session, timezone="America/Cayenne", phone_region="GF")
    place = await make_place(session, spip, name="Antenne de Kourou", timezone="America/Cayenne")
    agent = await make_agent(session, spip, role=role, password_hash=hash_now(PASSWORD))
    diary = await make_agenda(session, place, **agenda)
    slot = await make_slot(
        session, diary, starts_at=TUESDAY_9H_CAYENNE, duration_minutes=20, capacity=2
    )
    person = await make_person(session, spip, last_name="Lapointe", phone="+594694123456")
    await session.commit()
    return spip, place, agent, diary, slot, person


async def _token(web: httpx.AsyncClient, path: str) -> str:
    page = await web.get(path)
    assert page.status_code == 200, page.text
    found = CSRF.search(page.text)
    assert found
    return found.group(1)


def _slot_booking(token: str, agenda: Agenda, slot: Slot, **over: str) -> dict[str, str]:
    return {
        "csrf": token,
        "mode": "creneau",
        "type": "suivi_spip",
        "agenda": str(agenda.id),
        "creneau": str(slot.id),
        "envoyer": "oui",
        "action": "convoquer",
    } | over


async def _count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_convoquer_from_the_week_books_the_chosen_person_into_that_slot(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, _, agent, agenda, slot, person = await _setup(session)
    await log_in(web, agent.email)
    week = await web.get(f"/agendas/{agenda.id}?semaine={NEXT_MONDAY}")
    assert f'href="/agendas/creneaux/{slot.id}/convoquer"' in week.text
    token = await _token(web, f"/agendas/creneaux/{slot.id}/convoquer")
    found = await web.post(
        f"/agendas/creneaux/{slot.id}/convoquer", data={"csrf": token, "q": "lapointe"}
    )
    assert found.status_code == 200
    text = unescape(found.text)
    assert "Convoquer dans le créneau du mardi 19 janvier 2027, 9h00 – 9h20" in text
    assert "LAPOINTE Camille" in text
    link = f"/personnes/{person.id}/convoquer?creneau={slot.id}"
    assert f'href="{link}"' in found.text
    assert 'href="/personnes/nouvelle?creneau=' in found.text

    form = await web.get(link)
    assert form.status_code == 200
    page = unescape(form.text)
    assert re.search(r'id="mode-creneau" name="mode" value="creneau" checked', page)
    assert f'<option value="{agenda.id}" selected>Accueil collectif</option>' in page
    assert re.search(rf'id="creneau-{slot.id}" name="creneau" value="{slot.id}" checked', page)
    assert "mardi 19 janvier 2027 à 9h00 — 2 places libres sur 2" in page
    assert "Créneau libre (heure de Cayenne)" in page

    token = CSRF.search(form.text).group(1)  # type: ignore[union-attr]
    preview = await web.post(
        f"/personnes/{person.id}/convoquer",
        data=_slot_booking(token, agenda, slot, action="verifier"),
    )
    assert preview.status_code == 200, preview.text
    assert "Les SMS qui partiront" in preview.text and "Rappel" in preview.text
    assert await _count(session, Appointment) == 0
    booked = await web.post(
        f"/personnes/{person.id}/convoquer", data=_slot_booking(token, agenda, slot)
    )
    assert booked.status_code == 303, booked.text
    stored = (await session.scalars(select(Appointment))).one()
    assert stored.slot_id == slot.id and stored.starts_at == TUESDAY_9H_CAYENNE
    await session.refresh(slot)
    assert slot.booked == 1


async def test_the_slot_list_shows_the_agendas_types_and_a_slot_that_filled_keeps_the_form(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, _, agent, agenda, slot, person = await _setup(session, appointment_types=["tig"])
    later = await make_slot(
        session, agenda, starts_at=datetime(2027, 1, 20, 12, 0, tzinfo=UTC), capacity=8, booked=6
    )
    await session.commit()
    await log_in(web, agent.email)
    token = await _token(web, f"/personnes/{person.id}/convoquer")
    # Without JavaScript, « Afficher les créneaux libres » (htmx sends the same on a change).
    shown = await web.post(
        f"/personnes/{person.id}/convoquer",
        data={"csrf": token, "mode": "creneau", "agenda": str(agenda.id), "action": "creneaux"},
    )
    assert shown.status_code == 200
    text = unescape(shown.text)
    assert "mercredi 20 janvier 2027 à 9h00 — 2 places libres sur 8" in text
    assert '<option value="tig">' in text and '<option value="suivi_spip"' not in text
    assert "erreurs" not in shown.text

    wrong_type = await web.post(
        f"/personnes/{person.id}/convoquer", data=_slot_booking(token, agenda, slot)
    )
    assert wrong_type.status_code == 422
    assert "Cet agenda n'accepte pas ce type de convocation." in unescape(wrong_type.text)

    # Another secretariat takes the last seats between the list and « Convoquer ».
    await session.execute(update(Slot).where(Slot.id == slot.id).values(booked=2))
    await session.commit()
    full = await web.post(
        f"/personnes/{person.id}/convoquer", data=_slot_booking(token, agenda, slot, type="tig")
    )
    assert full.status_code == 409
    text = unescape(full.text)
    assert "Ce créneau vient d'être complet : choisissez-en un autre." in text
    assert 'href="#creneau"' in text
    assert f'id="creneau-{slot.id}"' not in text  # the list is the fresh one
    assert f'id="creneau-{later.id}"' in text
    assert '<option value="tig" selected>' in text
    assert 'id="envoyer" name="envoyer" value="oui" checked' in text
    assert await _count(session, Appointment) == 0


async def test_one_off_slots_open_in_batches_and_say_how_many_existed(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, _, agent, agenda, _, _ = await _setup(session)
    await log_in(web, agent.email)
    token = await _token(web, f"/agendas/{agenda.id}")
    grid = {"csrf": token, "p_forme": "liste", "p_duree": "20", "p_capacite": "1"}
    first = await web.post(
        f"/agendas/{agenda.id}/creneaux",
        data=grid | {"p_dates": "19/01/2027, 21/01/2027", "p_heures": "8h00, 10:00"},
    )
    assert first.status_code == 303, first.text
    assert f"semaine={NEXT_MONDAY}" in first.headers["location"]
    week = unescape((await web.get(first.headers["location"])).text)
    assert "4 créneaux ouverts." in week
    assert "8h00 – 8h20" in week and "10h00 – 10h20" in week
    again = await web.post(
        f"/agendas/{agenda.id}/creneaux",
        data=grid | {"p_dates": "19/01/2027 21/01/2027 22/01/2027", "p_heures": "08:00"},
    )
    assert "1 créneau ouvert (2 existaient déjà)." in unescape(
        (await web.get(again.headers["location"])).text
    )
    series = await web.post(
        f"/agendas/{agenda.id}/creneaux",
        data=grid
        | {
            "p_forme": "serie",
            "p_jour": "2027-01-26",
            "p_debut": "14:00",
            "p_fin": "15:00",
            "p_intervalle": "20",
            "p_capacite": "8",
        },
    )
    assert series.status_code == 303, series.text
    assert "3 créneaux ouverts." in unescape((await web.get(series.headers["location"])).text)
    eights = await session.scalar(select(func.count()).select_from(Slot).where(Slot.capacity == 8))
    assert eights == 3
    assert await _count(session, Slot) == 1 + 5 + 3


async def test_a_wrong_batch_is_refused_in_french_with_the_values_kept(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, _, agent, agenda, _, _ = await _setup(session)
    await log_in(web, agent.email)
    token = await _token(web, f"/agendas/{agenda.id}")
    refused = await web.post(
        f"/agendas/{agenda.id}/creneaux",
        data={
            "csrf": token,
            "p_forme": "liste",
            "p_dates": "19/01/2027, 32/01/2027",
            "p_heures": "",
            "p_duree": "20",
            "p_capacite": "0",
        },
    )
    assert refused.status_code == 422
    text = unescape(refused.text)
    assert "« 32/01/2027 » n'est pas compris" in text
    assert "Indiquez au moins une heure" in text
    assert "Indiquez un nombre de places entre 1 et 1000." in text
    assert 'id="erreurs"' in text and 'href="#p_dates"' in text and 'href="#p_capacite"' in text
    assert 'value="19/01/2027, 32/01/2027"' in text
    backwards = await web.post(
        f"/agendas/{agenda.id}/creneaux",
        data={"csrf": token, "p_forme": "serie", "p_jour": "2027-01-26", "p_debut": "15:00"}
        | {"p_fin": "14:00", "p_intervalle": "20", "p_duree": "20", "p_capacite": "1"},
    )
    assert backwards.status_code == 422
    text = unescape(backwards.text)
    assert "L'heure de fin doit suivre l'heure de début." in text
    assert 'id="p_forme-serie" name="p_forme" value="serie" checked' in text
    past = await web.post(
        f"/agendas/{agenda.id}/creneaux",
        data={"csrf": token, "p_forme": "liste", "p_dates": "14/01/2027", "p_heures": "09:00"}
        | {"p_duree": "20", "p_capacite": "1"},
    )
    assert past.status_code == 422
    assert "Ce créneau commence dans le passé." in unescape(past.text)
    assert await _count(session, Slot) == 1


async def test_an_agenda_is_edited_with_the_fields_of_its_creation(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, _, agent, agenda, _, _ = await _setup(session, agent_id=None)
    await log_in(web, agent.email)
    form = await web.get(f"/agendas/{agenda.id}/modifier")
    assert form.status_code == 200
    assert 'value="Accueil collectif"' in form.text
    assert 'name="types" value="tig"' in form.text and 'id="actif" name="actif"' in form.text
    token = CSRF.search(form.text).group(1)  # type: ignore[union-attr]
    empty = await web.post(
        f"/agendas/{agenda.id}/modifier",
        data={"csrf": token, "nom": " ", "agent": str(agent.id), "types": ["tig"]},
    )
    assert empty.status_code == 422
    assert 'href="#nom"' in empty.text
    assert f'<option value="{agent.id}" selected>' in empty.text
    assert 'value="tig" checked' in empty.text
    saved = await web.post(
        f"/agendas/{agenda.id}/modifier",
        data={"csrf": token, "nom": "Accueil du mardi", "agent": str(agent.id)}
        | {"types": ["tig", "suivi_spip"]},
    )
    assert saved.status_code == 303, saved.text
    await session.refresh(agenda)
    assert agenda.name == "Accueil du mardi" and agenda.agent_id == agent.id
    assert agenda.appointment_types == ["tig", "suivi_spip"] and not agenda.active
    assert "L'agenda est modifié." in unescape((await web.get(saved.headers["location"])).text)
    assert not agenda.open_to_courts


async def test_the_edit_form_opens_and_closes_the_agenda_to_the_courts(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, _, agent, agenda, _, _ = await _setup(session, agent_id=None)
    await log_in(web, agent.email)
    form = await web.get(f"/agendas/{agenda.id}/modifier")
    assert 'id="tribunal" name="tribunal" value="oui">' in form.text  # not checked yet
    token = CSRF.search(form.text).group(1)  # type: ignore[union-attr]
    fields = {"csrf": token, "nom": agenda.name, "agent": "", "actif": "oui"}
    opened = await web.post(f"/agendas/{agenda.id}/modifier", data=fields | {"tribunal": "oui"})
    assert opened.status_code == 303, opened.text
    await session.refresh(agenda)
    assert agenda.open_to_courts and agenda.active
    again = await web.get(f"/agendas/{agenda.id}/modifier")
    assert 'id="tribunal" name="tribunal" value="oui" checked' in again.text
    closed = await web.post(f"/agendas/{agenda.id}/modifier", data=fields)
    assert closed.status_code == 303
    await session.refresh(agenda)
    assert not agenda.open_to_courts


async def test_a_capacity_below_the_convocations_taken_is_refused_in_words(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, _, agent, agenda, slot, _ = await _setup(session)
    await session.execute(update(Slot).where(Slot.id == slot.id).values(capacity=3, booked=2))
    await session.commit()
    await log_in(web, agent.email)
    week = await web.get(f"/agendas/{agenda.id}?semaine={NEXT_MONDAY}")
    assert f'href="/agendas/creneaux/{slot.id}"' in week.text
    token = await _token(web, f"/agendas/creneaux/{slot.id}")
    lowered = await web.post(
        f"/agendas/creneaux/{slot.id}/capacite", data={"csrf": token, "capacite": "1"}
    )
    assert lowered.status_code == 409
    text = unescape(lowered.text)
    assert (
        "Ce créneau compte déjà 2 convocations : sa capacité ne peut pas descendre en dessous."
        in text
    )
    assert 'href="#capacite"' in text and 'value="1"' in text
    raised = await web.post(
        f"/agendas/creneaux/{slot.id}/capacite", data={"csrf": token, "capacite": "5"}
    )
    assert raised.status_code == 303
    await session.refresh(slot)
    assert slot.capacity == 5
    assert "2 places prises sur 5" in (await web.get(raised.headers["location"])).text


async def test_the_new_forms_need_their_token_and_the_secretariats_permission(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip, _, secretariat, agenda, slot, _ = await _setup(session)
    cpip = await make_agent(session, spip, role="cpip", password_hash=hash_now(PASSWORD))
    await session.commit()
    posts = {
        f"/agendas/{agenda.id}/modifier": {"nom": "Autre nom"},
        f"/agendas/{agenda.id}/creneaux": {"p_dates": "19/01/2027", "p_heures": "10:00"}
        | {"p_duree": "20", "p_capacite": "1"},
        f"/agendas/creneaux/{slot.id}/capacite": {"capacite": "9"},
    }
    await log_in(web, secretariat.email)
    for path, data in posts.items():
        for token in (None, "f" * 64):
            answer = await web.post(path, data=data | ({"csrf": token} if token else {}))
            assert answer.status_code == 403, path
            assert "Formulaire refusé" in answer.text
    await web.post("/deconnexion", data={"csrf": await _token(web, "/")})
    await log_in(web, cpip.email)
    # A CPIP reads agendas and books, but changes none of them.
    assert (await web.get(f"/agendas/{agenda.id}/modifier")).status_code == 403
    week = await web.get(f"/agendas/{agenda.id}?semaine={NEXT_MONDAY}")
    assert "Ouvrir des créneaux ponctuels" not in week.text
    assert f'href="/agendas/creneaux/{slot.id}/convoquer"' in week.text
    token = CSRF.search(week.text).group(1)  # type: ignore[union-attr]
    for path, data in posts.items():
        answer = await web.post(path, data={"csrf": token, **data})
        assert answer.status_code == 403, path
    await session.refresh(agenda)
    await session.refresh(slot)
    assert agenda.name == "Accueil collectif" and slot.capacity == 2
    assert await _count(session, Slot) == 1


async def test_another_spips_slot_is_introuvable_everywhere(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, _, agent, _, _, person = await _setup(session)
    other = await make_spip(session)
    elsewhere = await make_agenda(session, await make_place(session, other))
    foreign = await make_slot(session, elsewhere, starts_at=TUESDAY_9H_CAYENNE)
    await session.commit()
    await log_in(web, agent.email)
    for path in (
        f"/agendas/creneaux/{foreign.id}",
        f"/agendas/creneaux/{foreign.id}/convoquer",
        f"/personnes/{person.id}/convoquer?creneau={foreign.id}",
        f"/agendas/{elsewhere.id}/modifier",
    ):
        answer = await web.get(path)
        assert answer.status_code == 404, path
        assert "introuvable" in answer.text


async def test_a_person_created_from_a_slot_comes_back_to_that_slots_booking(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, _, agent, _, slot, _ = await _setup(session)
    await log_in(web, agent.email)
    form = await web.get(f"/personnes/nouvelle?creneau={slot.id}")
    assert f'<input type="hidden" name="creneau" value="{slot.id}">' in form.text
    token = CSRF.search(form.text).group(1)  # type: ignore[union-attr]
    person = {"prenom": "Noé", "nom": "Bastide", "naissance": "1990-05-04"}
    missing = await web.post(
        "/personnes/nouvelle", data={"csrf": token, "creneau": str(slot.id), "prenom": "Noé"}
    )
    assert missing.status_code == 422
    assert f'<input type="hidden" name="creneau" value="{slot.id}">' in missing.text
    created = await web.post(
        "/personnes/nouvelle",
        data={"csrf": token, "creneau": str(slot.id), "telephone": "0694 11 22 33"} | person,
    )
    assert created.status_code == 303, created.text
    stored = await session.scalar(select(Person).where(Person.last_name == "Bastide"))
    assert stored is not None
    assert created.headers["location"] == f"/personnes/{stored.id}/convoquer?creneau={slot.id}"
