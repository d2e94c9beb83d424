"""Sortie d'audience, in process, both databases: a court clerk lands on « Sortie d'audience »
with a menu of two entries and is refused every SPIP page (and SPIP agents the court's);
the month of an agenda open to the court with its free seats per day, « complet » and
« aucun créneau »; a day's slots in Cayenne time; booking in one page (a new person, errors
with the typed values kept, the last seat gone meanwhile, a likely duplicate and its two
choices), the printable summary and the list; CSRF; the SPIP sees who booked; the national
administrator's courts and court clerks; an agenda opened to the courts."""

from __future__ import annotations

import importlib
import pkgutil
import re
from datetime import UTC, datetime
from html import unescape

import httpx
from fastapi.routing import APIRoute
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.passwords import hash_now
from app.courts import service as court_service
from app.courts.schemas import CourtCreate
from app.models import Agenda, Agent, Appointment, Court, Person, Place, Slot, Spip
from app.web import pages as pages_package
from tests.factories import make_agent, make_person, make_place, make_spip
from tests.web.test_pages import CSRF, PASSWORD, log_in
from tests.web.test_pages import web as web

# FIXED_NOW is Friday 15 January 2027, 10:00 UTC (7h00 in Cayenne, UTC−3).
TUESDAY_9H = datetime(2027, 1, 19, 12, 0, tzinfo=UTC)  # 9h00 in Cayenne
TUESDAY_10H = datetime(2027, 1, 19, 13, 0, tzinfo=UTC)
WEDNESDAY_9H = datetime(2027, 1, 20, 12, 0, tzinfo=UTC)
THURSDAY_9H = datetime(2027, 1, 21, 12, 0, tzinfo=UTC)


class World:
    spip: Spip
    place: Place
    agenda: Agenda
    court: Court
    clerk: Agent
    free: Slot  # Tuesday 9h00, 1 seat left of 1
    full: Slot  # Tuesday 10h00, 2 of 2 taken


async def _slot(session: AsyncSession, agenda: Agenda, at: datetime, cap: int, booked: int) -> Slot:
    slot = Slot(
        agenda_id=agenda.id,
        spip_id=agenda.spip_id,
        place_id=agenda.place_id,
        starts_at=at,
        duration_minutes=20,
        capacity=cap,
        booked=booked,
    )
    session.add(slot)
    await session.flush()
    return slot


async def _world(session: AsyncSession) -> World:
    w = World()
    w.spip = await make_spip(session, name="SPIP de la Guyane", timezone="America/Cayenne")
    w.spip.phone_region = "GF"
    w.place = await make_place(
        session, w.spip, name="Antenne de Cayenne", address="3 rue Schoelcher, Cayenne"
    )
    w.agenda = Agenda(
        spip_id=w.spip.id,
        place_id=w.place.id,
        name="Sortie d'audience SPIP",
        appointment_types=["suivi_spip"],
        open_to_courts=True,
    )
    closed_agenda = Agenda(
        spip_id=w.spip.id, place_id=w.place.id, name="Agenda de Mme Martin", appointment_types=[]
    )
    session.add_all([w.agenda, closed_agenda])
    await session.flush()
    w.free = await _slot(session, w.agenda, TUESDAY_9H, 1, 0)
    w.full = await _slot(session, w.agenda, TUESDAY_10H, 2, 2)
    await _slot(session, w.agenda, WEDNESDAY_9H, 3, 0)
    await _slot(session, w.agenda, THURSDAY_9H, 1, 1)
    await _slot(session, closed_agenda, WEDNESDAY_9H, 5, 0)
    data = CourtCreate(name="Tribunal judiciaire de Cayenne", spip_ids=[w.spip.id])
    w.court = await court_service.create_court(session, data=data)
    w.clerk = await make_agent(
        session,
        None,
        name="Marie Greffe",
        role="court_clerk",
        court_id=w.court.id,
        password_hash=hash_now(PASSWORD),
    )
    await session.commit()
    return w


async def _token(web: httpx.AsyncClient, path: str) -> str:
    page = await web.get(path)
    assert page.status_code == 200, page.text
    found = CSRF.search(page.text)
    assert found
    return found.group(1)


def _person(**changes: str) -> dict[str, str]:
    return {
        "nom": "Lapierre",
        "prenom": "Jonas",
        "naissance": "12/03/1985",
        "telephone": "0694 12 34 56",
        "type": "suivi_spip",
    } | changes


async def _book(web: httpx.AsyncClient, slot: Slot, **data: str) -> httpx.Response:
    path = f"/tribunal/creneaux/{slot.id}/convoquer"
    return await web.post(path, data={"csrf": await _token(web, path), **data})


async def test_a_clerk_lands_on_the_court_page_and_sees_only_its_agendas(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    w = await _world(session)
    other = await make_spip(session, name="SPIP non lié")
    other_place = await make_place(session, other)
    session.add(
        Agenda(
            spip_id=other.id,
            place_id=other_place.id,
            name="Agenda d'un SPIP non lié",
            appointment_types=[],
            open_to_courts=True,
        )
    )
    await session.commit()
    answer = await log_in(web, w.clerk.email)
    assert answer.status_code == 303
    home = await web.get("/")
    assert home.status_code == 303 and home.headers["location"] == "/tribunal"
    page = unescape((await web.get("/tribunal")).text)
    assert "<h1>Sortie d'audience</h1>" in page
    assert "SPIP de la Guyane — Antenne de Cayenne" in page
    assert "Sortie d'audience SPIP" in page
    assert "Prochaine place libre : mardi 19 janvier 2027" in page
    assert "heure de Cayenne" in page
    assert "Agenda de Mme Martin" not in page  # not open to courts
    assert "Agenda d'un SPIP non lié" not in page
    # The menu: the court's two entries, nothing of the SPIP's.
    assert 'href="/tribunal" aria-current="page">Sortie d' in page
    assert 'href="/tribunal/convocations"' in page
    for spip_page in ('href="/personnes"', 'href="/convocations"', 'href="/a-renseigner"'):
        assert spip_page not in page


async def test_a_clerk_is_refused_every_spip_page(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    w = await _world(session)
    person = await make_person(session, w.spip)
    await session.commit()
    await log_in(web, w.clerk.email)
    for path in (
        "/personnes",
        f"/personnes/{person.id}",
        "/personnes/nouvelle",
        "/convocations",
        "/a-renseigner",
        "/agendas",
        f"/agendas/{w.agenda.id}",
        "/tableau-de-bord",
        "/administration",
        "/administration/tribunaux",
    ):
        answer = await web.get(path)
        assert answer.status_code == 403, path
        assert "Action impossible" in answer.text, path


async def test_spip_agents_are_refused_the_court_pages(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    w = await _world(session)
    cpip = await make_agent(session, w.spip, password_hash=hash_now(PASSWORD))
    await session.commit()
    await log_in(web, cpip.email)
    for path in (
        "/tribunal",
        f"/tribunal/agendas/{w.agenda.id}",
        f"/tribunal/creneaux/{w.free.id}/convoquer",
        "/tribunal/convocations",
    ):
        assert (await web.get(path)).status_code == 403, path
    assert 'href="/tribunal"' not in (await web.get("/")).text


async def test_the_month_shows_free_seats_per_day_and_a_day_its_slots(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    w = await _world(session)
    await log_in(web, w.clerk.email)
    base = f"/tribunal/agendas/{w.agenda.id}"
    month = unescape((await web.get(f"{base}?mois=2027-01")).text)
    assert "<caption>Places libres en janvier 2027</caption>" in month
    assert '<th scope="col">lundi</th>' in month and '<th scope="col">dimanche</th>' in month
    assert 'aria-label="mardi 19 janvier 2027 : 1 place libre"' in month
    assert 'aria-label="mercredi 20 janvier 2027 : 3 places libres"' in month
    assert 'aria-label="jeudi 21 janvier 2027 : Complet"' in month
    assert ">complet</span>" in month
    assert "aucun créneau" in month
    assert "?mois=2027-02" in month and "Mois suivant" in month
    assert "Mois précédent" not in month  # this month is the first one offered
    assert "Choisissez un jour" in month
    february = unescape((await web.get(f"{base}?mois=2027-02")).text)
    assert "Places libres en février 2027" in february and "?mois=2027-01" in february

    day = unescape((await web.get(f"{base}?mois=2027-01&jour=2027-01-19")).text)
    assert "Créneaux du mardi 19 janvier 2027" in day
    assert "Heure (heure de Cayenne)" in day
    assert "9h00 – 9h20" in day and "10h00 – 10h20" in day
    assert f'href="/tribunal/creneaux/{w.free.id}/convoquer"' in day
    assert f'href="/tribunal/creneaux/{w.full.id}/convoquer"' not in day
    assert "Complet" in day
    assert 'aria-current="date"' in day
    # htmx asks the same page and keeps its day part (hx-select).
    assert 'hx-select="#jour"' in day and '<section id="jour"' in day


async def test_another_courts_agenda_is_introuvable(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    w = await _world(session)
    court = await court_service.create_court(session, data=CourtCreate(name="TJ Lyon", spip_ids=[]))
    lyon = await make_agent(
        session, None, role="court_clerk", court_id=court.id, password_hash=hash_now(PASSWORD)
    )
    await session.commit()
    await log_in(web, lyon.email)
    assert (await web.get(f"/tribunal/agendas/{w.agenda.id}")).status_code == 404
    assert (await web.get(f"/tribunal/creneaux/{w.free.id}/convoquer")).status_code == 404


async def test_a_clerk_books_a_new_person_and_gets_the_printable_summary(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    w = await _world(session)
    await log_in(web, w.clerk.email)
    form = unescape((await web.get(f"/tribunal/creneaux/{w.free.id}/convoquer")).text)
    assert "mardi 19 janvier 2027 à 9h00 (heure de Cayenne)" in form
    assert "Antenne de Cayenne, 3 rue Schoelcher, Cayenne" in form
    assert "SPIP de la Guyane — Sortie d'audience SPIP" in form
    assert '<option value="suivi_spip" selected>' in form  # the agenda's only type
    assert "Le SMS de convocation part dès que vous convoquez" in form

    answer = await _book(web, w.free, **_person())
    assert answer.status_code == 303, answer.text
    appointment = await session.scalar(select(Appointment).where(Appointment.slot_id == w.free.id))
    assert appointment is not None and appointment.court_id == w.court.id
    assert answer.headers["location"] == f"/tribunal/convocations/{appointment.id}?ok=1"
    person = await session.get_one(Person, appointment.person_id)
    assert person.last_name == "Lapierre" and person.spip_id == w.spip.id
    assert person.phone == "+594694123456"
    await session.refresh(w.free)
    assert w.free.booked == 1

    summary = unescape((await web.get(answer.headers["location"])).text)
    assert "<h1>Vous êtes convoqué(e)</h1>" in summary
    assert "mardi 19 janvier 2027 à 9h00 (heure de Cayenne)" in summary
    assert "Antenne de Cayenne" in summary and "3 rue Schoelcher, Cayenne" in summary
    assert "SPIP de la Guyane — Sortie d'audience SPIP" in summary
    assert "LAPIERRE Jonas" in summary
    # The summons leaves at once (the worker sends it): the number masked on the paper.
    assert "Un SMS de confirmation est envoyé au 0694 •• •• 56 dans un instant." in summary
    assert "0694 12 34 56" not in summary
    assert "impression.css" in summary and "Imprimer" in summary

    listing = unescape((await web.get("/tribunal/convocations")).text)
    assert "LAPIERRE Jonas" in listing and f"/tribunal/convocations/{appointment.id}" in listing

    # The SPIP sees who gave it.
    cpip = await make_agent(session, w.spip, password_hash=hash_now(PASSWORD))
    await session.commit()
    web.cookies.clear()
    await log_in(web, cpip.email)
    page = unescape((await web.get(f"/convocations/{appointment.id}")).text)
    assert "Convocation donnée par le tribunal : Tribunal judiciaire de Cayenne" in page
    assert "(Marie Greffe)" in page


async def test_a_refused_booking_comes_back_filled_with_its_errors(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    w = await _world(session)
    await log_in(web, w.clerk.email)
    answer = await _book(web, w.free, **_person(nom="", naissance="31/02/1985", type=""))
    assert answer.status_code == 422
    page = unescape(answer.text)
    assert "Le formulaire contient 3 erreurs" in page
    assert '<a href="#nom">Nom : Saisissez le nom.</a>' in page
    assert 'href="#naissance"' in page and 'href="#type"' in page
    assert 'value="Jonas"' in page and 'value="0694 12 34 56"' in page
    assert 'value="31/02/1985"' in page
    assert await session.scalar(select(Appointment).where(Appointment.slot_id == w.free.id)) is None


async def test_the_last_seat_gone_keeps_the_form_and_links_back_to_the_day(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    w = await _world(session)
    await log_in(web, w.clerk.email)
    answer = await _book(web, w.full, **_person())
    assert answer.status_code == 409
    page = unescape(answer.text)
    assert "Ce créneau vient d'être complet : choisissez-en un autre." in page
    assert f"/tribunal/agendas/{w.agenda.id}?mois=2027-01&amp;jour=2027-01-19" in answer.text
    assert 'value="Lapierre"' in page and 'value="Jonas"' in page
    assert 'value="12/03/1985"' in page and 'value="0694 12 34 56"' in page
    assert await session.scalar(select(Person).where(Person.last_name == "Lapierre")) is None


async def test_a_likely_duplicate_offers_the_same_person_or_another(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    w = await _world(session)
    known = await make_person(
        session,
        w.spip,
        last_name="Lapierre",
        first_name="Jonas",
        birth_date=datetime(1985, 3, 12).date(),
        phone="+594694999999",
    )
    await session.commit()
    await log_in(web, w.clerk.email)
    answer = await _book(web, w.free, **_person())
    assert answer.status_code == 409
    page = unescape(answer.text)
    assert (
        "Une personne portant ces nom, prénom et date de naissance est déjà suivie par ce SPIP"
        in page
    )
    assert "C'est la même personne : la convoquer" in page
    assert "C'est une autre personne : la créer" in page
    assert 'value="Lapierre"' in page
    assert f"/personnes/{known.id}" not in page  # the clerk sees no SPIP record
    candidate = page.split('name="candidat" value="')[1].split('"')[0]
    assert candidate

    same = await _book(web, w.free, **_person(choix="meme", candidat=candidate))
    assert same.status_code == 303, same.text
    booked = await session.scalar(select(Appointment).where(Appointment.slot_id == w.free.id))
    assert booked is not None and booked.person_id == known.id


async def test_another_person_with_the_same_identity_is_created_on_request(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    w = await _world(session)
    known = await make_person(
        session,
        w.spip,
        last_name="Lapierre",
        first_name="Jonas",
        birth_date=datetime(1985, 3, 12).date(),
    )
    await session.commit()
    await log_in(web, w.clerk.email)
    answer = await _book(web, w.free, **_person(choix="autre"))
    assert answer.status_code == 303, answer.text
    booked = await session.scalar(select(Appointment).where(Appointment.slot_id == w.free.id))
    assert booked is not None and booked.person_id != known.id


async def test_a_booking_without_its_csrf_token_is_refused(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    w = await _world(session)
    await log_in(web, w.clerk.email)
    path = f"/tribunal/creneaux/{w.free.id}/convoquer"
    for token in ("", "0" * 64):
        answer = await web.post(path, data={"csrf": token, **_person()})
        assert answer.status_code == 403 and "Formulaire refusé" in answer.text
    assert await session.scalar(select(Appointment).where(Appointment.slot_id == w.free.id)) is None


# --- Administration ---------------------------------------------------------------------------


async def test_the_national_administrator_creates_links_and_deactivates_a_court(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    guyane = await make_spip(session, name="SPIP de la Guyane")
    martinique = await make_spip(session, name="SPIP de la Martinique")
    admin = await make_agent(session, None, password_hash=hash_now(PASSWORD))
    await session.commit()
    await log_in(web, admin.email)
    assert 'href="/administration/tribunaux"' in (await web.get("/administration")).text
    path = "/administration/tribunaux/nouveau"
    refused = await web.post(path, data={"csrf": await _token(web, path), "nom": ""})
    assert refused.status_code == 422 and 'href="#nom"' in refused.text
    created = await web.post(
        path,
        data={
            "csrf": await _token(web, path),
            "nom": "Tribunal judiciaire de Cayenne",
            "spips": [str(guyane.id), str(martinique.id)],
        },
    )
    assert created.status_code == 303, created.text
    court = await session.scalar(
        select(Court).where(Court.name == "Tribunal judiciaire de Cayenne")
    )
    assert court is not None and court.active
    assert set(await court_service.court_spip_ids(session, court.id)) == {guyane.id, martinique.id}
    listing = unescape((await web.get("/administration/tribunaux")).text)
    assert "Tribunal judiciaire de Cayenne" in listing
    assert "SPIP de la Guyane" in listing and "SPIP de la Martinique" in listing

    # Unlink Martinique, deactivate.
    edit = f"/administration/tribunaux/{court.id}"
    page = await web.get(edit)
    assert f'value="{martinique.id}" checked' in page.text
    changed = await web.post(
        edit,
        data={"csrf": await _token(web, edit), "nom": court.name, "spips": [str(guyane.id)]},
    )
    assert changed.status_code == 303, changed.text
    await session.refresh(court)
    assert not court.active
    assert await court_service.court_spip_ids(session, court.id) == [guyane.id]
    assert "Inactif" in (await web.get("/administration/tribunaux")).text
    # Without the token: refused.
    assert (await web.post(edit, data={"nom": "X"})).status_code == 403


async def test_a_local_administrator_has_no_courts(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip = await make_spip(session)
    local = await make_agent(session, spip, role="local_admin", password_hash=hash_now(PASSWORD))
    await session.commit()
    await log_in(web, local.email)
    assert (await web.get("/administration/tribunaux")).status_code == 403
    new = await web.get("/administration/agents/nouveau")
    assert "Greffe du tribunal" not in new.text and 'name="tribunal"' not in new.text


async def test_the_national_administrator_creates_a_court_clerk(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    court = await court_service.create_court(session, data=CourtCreate(name="TJ Cayenne"))
    admin = await make_agent(session, None, password_hash=hash_now(PASSWORD))
    await session.commit()
    await log_in(web, admin.email)
    path = "/administration/agents/nouveau"
    form = unescape((await web.get(path)).text)
    assert "Greffe du tribunal (sortie d'audience)" in form
    assert f'<option value="{court.id}">TJ Cayenne</option>' in form
    values = {"nom": "Marie Greffe", "email": "greffe@tj-cayenne.justice.fr"}
    missing = await web.post(
        path, data={"csrf": await _token(web, path), **values, "role": "court_clerk"}
    )
    assert missing.status_code == 422
    assert "Choisissez le tribunal du greffier dans la liste." in unescape(missing.text)
    assert 'value="Marie Greffe"' in missing.text
    created = await web.post(
        path,
        data={
            "csrf": await _token(web, path),
            **values,
            "role": "court_clerk",
            "tribunal": str(court.id),
        },
    )
    assert created.status_code == 200, created.text
    assert "/activation?token=" in created.text
    clerk = await session.scalar(select(Agent).where(Agent.email == values["email"]))
    assert clerk is not None and clerk.role == "court_clerk" and clerk.court_id == court.id
    listing = unescape((await web.get("/administration/agents")).text)
    assert "Marie Greffe" in listing and "Greffe du tribunal (sortie d'audience)" in listing


async def test_an_agenda_is_opened_to_the_courts(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip = await make_spip(session)
    place = await make_place(session, spip)
    secretariat = await make_agent(
        session, spip, role="secretariat", password_hash=hash_now(PASSWORD)
    )
    await session.commit()
    await log_in(web, secretariat.email)
    form = unescape((await web.get("/agendas/nouveau")).text)
    assert "Ouvert à la sortie d'audience (tribunaux liés au SPIP)" in form
    created = await web.post(
        "/agendas/nouveau",
        data={
            "csrf": await _token(web, "/agendas/nouveau"),
            "lieu": str(place.id),
            "nom": "Sortie d'audience",
            "tribunal": "oui",
        },
    )
    assert created.status_code == 303, created.text
    agenda = await session.scalar(select(Agenda).where(Agenda.place_id == place.id))
    assert agenda is not None and agenda.open_to_courts
    assert "Ouvert au tribunal" in (await web.get(created.headers["location"])).text


def _spip_pages() -> list[tuple[str, str]]:
    """Every route of every page module but the court's, the login's, the home's (which
    sends a clerk to the court's page) and the followed persons' own pages (``/c/…``, public:
    their link is the only key), with a sample value for each parameter."""
    routes = []
    for module in pkgutil.iter_modules(pages_package.__path__):
        router = importlib.import_module(f"{pages_package.__name__}.{module.name}").router
        for route in router.routes:
            assert isinstance(route, APIRoute)
            path = re.sub(r"{(\w+)}", lambda m: SAMPLES.get(m.group(1), "1"), route.path_format)
            if path in ("/", "/deconnexion") or path.startswith(
                ("/tribunal", "/connexion", "/activation", "/c/")
            ):
                continue
            routes += [(m, path) for m in sorted(route.methods or ()) if m != "HEAD"]
    return routes


SAMPLES = {"kind": "reminder"}


async def test_every_spip_page_refuses_a_court_clerk(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Generated from the application's routes: a page added tomorrow is covered too."""
    w = await _world(session)
    await log_in(web, w.clerk.email)
    token = await _token(web, "/tribunal")
    routes = _spip_pages()
    assert len(routes) > 40
    for method, path in routes:
        answer = await web.request(method, path, data={"csrf": token} if method == "POST" else None)
        assert answer.status_code == 403, (method, path, answer.status_code)
