"""« Convocations », in process (now = 2027-01-15T10:00Z, 7h00 in Cayenne): the default list
(from today, a CPIP's own), each filter narrowing it, the orders, the pages, a wrong filter
coming back filled with a French message, another SPIP's places and agents never showing
anything, and the day's print view grouped per place or per agent."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.passwords import hash_now
from app.config import Settings
from app.main import create_app
from app.models import Agent, Appointment, Notification, NotificationKind, Person, Place
from app.reminders.keys import idempotency_key
from app.web import static
from tests.conftest import FIXED_NOW
from tests.factories import make_agent, make_appointment, make_person, make_place, make_spip
from tests.web.test_pages import PASSWORD, log_in
from tests.web.test_pages import web as web

ROW = re.compile(r'<tr id="convocation-(\d+)"')


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 1, day, hour, minute, tzinfo=UTC)


@dataclass
class World:
    cayenne: Place
    kourou: Place
    cpip: Agent
    other_cpip: Agent
    secretariat: Agent
    persons: dict[str, Person]
    made: dict[str, Appointment]
    stranger_place: Place
    stranger_agent: Agent
    stranger: Appointment


# name: (place, agent, person, start, status, type)
PLAN = {
    "today_10h": ("cayenne", "cpip", "alpha", utc(15, 13), "booked", "suivi_spip"),
    "today_9h_tig": ("kourou", "other_cpip", "bravo", utc(15, 12), "booked", "tig"),
    # 23h30 on the 15th in Cayenne is 02h30Z on the 16th: the SPIP's 15 January.
    "today_23h30": ("cayenne", "cpip", "charlie", utc(16, 2, 30), "booked", "suivi_spip"),
    "today_cancelled": ("cayenne", "cpip", "bravo", utc(15, 15), "cancelled", "suivi_spip"),
    "yesterday_open": ("cayenne", "cpip", "charlie", utc(14, 13), "booked", "suivi_spip"),
    "honored": ("cayenne", "other_cpip", "alpha", utc(10, 13), "honored", "suivi_spip"),
    "missed": ("kourou", "cpip", "charlie", utc(12, 13), "missed", "suivi_spip"),
    "excused": ("kourou", "cpip", "alpha", utc(11, 13), "excused", "suivi_spip"),
    "later_cancelled": ("kourou", "cpip", "bravo", utc(20, 13), "cancelled", "suivi_spip"),
}
NAMES = {"alpha": ("ALPHA", "Zoé"), "bravo": ("BRAVO", "Yann"), "charlie": ("CHARLIE", "Xavier")}


async def _world(session: AsyncSession) -> World:
    spip = await make_spip(session, timezone="America/Cayenne", phone_region="GF")
    cayenne = await make_place(session, spip, name="Antenne de Cayenne")
    kourou = await make_place(session, spip, name="Antenne de Kourou")
    hashed = hash_now(PASSWORD)
    agents = {
        "cpip": await make_agent(session, spip, name="Camille Cpip", password_hash=hashed),
        "other_cpip": await make_agent(session, spip, name="Dominique Cpip"),
        "secretariat": await make_agent(
            session, spip, name="Sam Secrétariat", role="secretariat", password_hash=hashed
        ),
    }
    persons = {
        key: await make_person(
            session, spip, last_name=last, first_name=first, birth_date=date(1990, 5, n + 1)
        )
        for n, (key, (last, first)) in enumerate(NAMES.items())
    }
    places = {"cayenne": cayenne, "kourou": kourou}
    made = {}
    for name, (place, agent, person, starts_at, status, kind) in PLAN.items():
        made[name] = await make_appointment(
            session,
            persons[person],
            places[place],
            starts_at=starts_at,
            status=status,
            type_code=kind,
            agent_id=agents[agent].id,
        )
    other = await make_spip(session, timezone="America/Cayenne", phone_region="GF")
    stranger_place = await make_place(session, other, name="Antenne d'ailleurs")
    stranger_agent = await make_agent(session, other, name="Agent d'ailleurs")
    stranger_person = await make_person(session, other, last_name="ÉTRANGER")
    stranger = await make_appointment(
        session, stranger_person, stranger_place, starts_at=utc(15, 13), agent_id=stranger_agent.id
    )
    await session.commit()
    return World(
        cayenne,
        kourou,
        agents["cpip"],
        agents["other_cpip"],
        agents["secretariat"],
        persons,
        made,
        stranger_place,
        stranger_agent,
        stranger,
    )


def _ids(page: str) -> list[int]:
    return [int(i) for i in ROW.findall(page)]


def _by_date(world: World, *names: str) -> list[int]:
    chosen = sorted(names, key=lambda n: PLAN[n][3])
    return [world.made[n].id for n in chosen]


async def _list(web: httpx.AsyncClient, **params: str) -> httpx.Response:
    return await web.get("/convocations", params=params)


async def test_a_cpip_sees_their_own_from_today_in_time_order_and_the_service_on_demand(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await _world(session)
    await log_in(web, world.cpip.email)
    page = await _list(web)
    assert page.status_code == 200, page.text
    assert "<h1>Mes convocations</h1>" in page.text
    assert _ids(page.text) == _by_date(
        world, "today_10h", "today_cancelled", "today_23h30", "later_cancelled"
    )
    assert f'<option value="{world.cpip.id}" selected>' in page.text
    assert 'value="2027-01-15"' in page.text  # « Du » says from when
    # The place's time, with its zone (an overseas SPIP), and the person's page.
    link = f'<a href="/convocations/{world.made["today_10h"].id}">'
    zone = '<br><span class="fr-text--xs">(heure de Cayenne)</span>'
    assert link + "vendredi 15 janvier 2027<br>10h00</a>" + zone in page.text
    assert f'href="/personnes/{world.persons["alpha"].id}">ALPHA Zoé</a>' in page.text
    # « Tous les agents »: the whole SPIP, as the API lets a CPIP list it.
    everyone = await _list(web, agent="")
    assert "<h1>Convocations</h1>" in everyone.text
    assert world.made["today_9h_tig"].id in _ids(everyone.text)
    assert world.stranger.id not in _ids(everyone.text)


async def test_a_secretariat_sees_the_whole_service_from_today(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await _world(session)
    await log_in(web, world.secretariat.email)
    page = await _list(web)
    assert _ids(page.text) == _by_date(
        world, "today_9h_tig", "today_10h", "today_cancelled", "today_23h30", "later_cancelled"
    )
    assert "Dominique Cpip" in page.text and "Tous les agents" in page.text


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"du": "2027-01-15", "au": "2027-01-15"},
            ("today_9h_tig", "today_10h", "today_cancelled", "today_23h30"),
        ),
        ({"au": "2027-01-11"}, ("honored", "excused")),
        ({"du": "12/01/2027", "au": "14/01/2027"}, ("missed", "yesterday_open")),
        ({"lieu": "kourou"}, ("excused", "missed", "today_9h_tig", "later_cancelled")),
        ({"type": "tig"}, ("today_9h_tig",)),
        ({"agent": "other_cpip"}, ("honored", "today_9h_tig")),
        ({"statut": "a-venir"}, ("today_9h_tig", "today_10h", "today_23h30")),
        ({"statut": "a-renseigner"}, ("yesterday_open",)),
        ({"statut": "honoree"}, ("honored",)),
        ({"statut": "non-honoree"}, ("missed",)),
        ({"statut": "excusee"}, ("excused",)),
        ({"statut": "annulee"}, ("today_cancelled", "later_cancelled")),
        ({"lieu": "cayenne", "statut": "a-venir", "agent": "cpip"}, ("today_10h", "today_23h30")),
    ],
)
async def test_each_filter_narrows_the_list(
    web: httpx.AsyncClient,
    session: AsyncSession,
    params: dict[str, str],
    expected: tuple[str, ...],
) -> None:
    world = await _world(session)
    await log_in(web, world.secretariat.email)
    ids = {
        "kourou": world.kourou.id,
        "cayenne": world.cayenne.id,
        "cpip": world.cpip.id,
        "other_cpip": world.other_cpip.id,
    }
    query = {"du": ""} | {k: str(ids.get(v, v)) for k, v in params.items()}
    page = await _list(web, **query)
    assert page.status_code == 200, page.text
    assert _ids(page.text) == _by_date(world, *expected)
    total = len(expected)
    assert f"<caption>{total} convocation{'s' if total > 1 else ''}</caption>" in page.text
    for name, value in query.items():  # the form shows what filters the list
        if name in ("lieu", "agent", "statut", "type") and value:
            assert f'<option value="{value}" selected>' in page.text


@pytest.mark.parametrize(
    ("tri", "key"),
    [
        ("date", lambda p: (p[3],)),
        ("-date", lambda p: (-p[3].timestamp(),)),
        ("personne", lambda p: (NAMES[p[2]], p[3])),
        ("lieu", lambda p: (p[0], p[3])),  # « Antenne de Cayenne » before « … de Kourou »
    ],
)
async def test_the_list_sorts_by_date_person_or_place(
    web: httpx.AsyncClient, session: AsyncSession, tri: str, key: object
) -> None:
    world = await _world(session)
    await log_in(web, world.secretariat.email)
    page = await _list(web, du="", tri=tri)
    assert page.status_code == 200, page.text
    expected = sorted(PLAN, key=lambda n: key(PLAN[n]))  # type: ignore[operator]
    assert _ids(page.text) == [world.made[n].id for n in expected]


async def test_the_list_is_paged_and_its_links_keep_the_filters(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    """23 convocations by pages of 10: three pages, in time order, none twice, none left out."""
    spip = await make_spip(session)
    place = await make_place(session, spip)
    secretariat = await make_agent(
        session, spip, role="secretariat", password_hash=hash_now(PASSWORD)
    )
    person = await make_person(session, spip)
    made = [
        await make_appointment(session, person, place, starts_at=FIXED_NOW + timedelta(hours=n))
        for n in range(23)
    ]
    await session.commit()
    await log_in(web, secretariat.email)
    seen: list[int] = []
    for number in (1, 2, 3):
        page = (await _list(web, par_page="10", lieu=str(place.id), page=str(number))).text
        assert f"23 convocations — page {number} sur 3" in page
        seen += _ids(page)
    assert seen == [a.id for a in made]
    assert 'aria-label="Pagination"' in page
    # The links carry every filter, « Du » included (emptied, it would stay empty).
    assert "par_page=10&amp;page=2" in page and f"lieu={place.id}" in page
    assert "du=2027-01-15" in page
    beyond = await _list(web, par_page="10", page="9")
    assert _ids(beyond.text) == [] and "Aller à la page 3" in beyond.text


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        (
            {"du": "2027-01-20", "au": "2027-01-10"},
            "au",
            "La date de fin doit être le jour de début ou après.",
        ),
        ({"du": "demain"}, "du", "Saisissez une date au format jj/mm/aaaa."),
        ({"lieu": "999999"}, "lieu", "Ce lieu n&#39;existe pas dans votre service."),
        ({"agent": "abc"}, "agent", "Cet agent n&#39;existe pas dans votre service."),
        ({"type": "inconnu"}, "type", "Ce type de convocation n&#39;existe pas."),
        ({"statut": "perdue"}, "statut", "Choisissez un statut de la liste."),
        ({"tri": "nom"}, "tri", "Choisissez un ordre de la liste."),
    ],
)
async def test_a_wrong_filter_comes_back_filled_with_a_french_message(
    web: httpx.AsyncClient,
    session: AsyncSession,
    params: dict[str, str],
    field: str,
    message: str,
) -> None:
    world = await _world(session)
    await log_in(web, world.secretariat.email)
    page = await _list(web, **({"type": "tig"} if field != "type" else {}) | params)
    assert page.status_code == 422, page.text
    assert 'class="fr-alert fr-alert--error' in page.text
    assert f'href="#{field}"' in page.text and message in page.text
    assert f'aria-describedby="{field}-message"' in page.text
    assert _ids(page.text) == []
    if field in ("du", "au"):  # the dates as typed
        for name in ("du", "au"):
            if name in params:
                assert f'name="{name}" value="{params[name]}"' in page.text
    if field != "type":  # the other filters kept
        assert '<option value="tig" selected>' in page.text


async def test_another_spips_place_or_agent_shows_nothing_of_that_spip(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await _world(session)
    await log_in(web, world.cpip.email)
    for params in (
        {"lieu": str(world.stranger_place.id), "agent": ""},
        {"agent": str(world.stranger_agent.id)},
    ):
        page = await _list(web, du="", **params)
        assert page.status_code == 422
        assert _ids(page.text) == []
        assert "ÉTRANGER" not in page.text and "Antenne d&#39;ailleurs" not in page.text
        assert "Agent d&#39;ailleurs" not in page.text
    printed = await web.get(
        "/convocations/impression",
        params={"jour": "2027-01-15", "par": "lieu", "lieu": str(world.stranger_place.id)},
    )
    assert printed.status_code == 422
    assert "ÉTRANGER" not in printed.text and _ids(printed.text) == []


async def test_the_sms_column_reads_the_messages_states(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await _world(session)
    appointment = world.made["today_10h"]
    session.add(
        Notification(
            appointment_id=appointment.id,
            spip_id=appointment.spip_id,
            kind="reminder",
            sequence=1,
            idempotency_key=idempotency_key(appointment.id, NotificationKind.reminder, 1),
            status="delivered",
            planned_at=utc(13, 13),
            send_at=utc(13, 13),
            send_not_after=utc(15, 12),
            sent_at=utc(13, 13),
            body="texte du SMS à ne pas montrer",
        )
    )
    await session.commit()
    await log_in(web, world.cpip.email)
    page = (await _list(web)).text
    row = page[page.index(f'id="convocation-{appointment.id}"') :].split("</tr>")[0]
    assert "Rappel : Délivré" in row and "mercredi 13 janvier 2027, 10h00" in row
    assert "texte du SMS" not in page
    other = page[page.index(f'id="convocation-{world.made["today_23h30"].id}"') :]
    assert "Aucun SMS" in other.split("</tr>")[0]


async def test_the_list_links_the_days_print_view(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await _world(session)
    await log_in(web, world.secretariat.email)
    page = (await _list(web)).text
    assert 'href="/convocations/impression?jour=2027-01-15&amp;par=lieu"' in page
    assert "Version imprimable du jour" in page
    one_day = (await _list(web, du="2027-01-20", au="2027-01-20", lieu=str(world.kourou.id))).text
    assert f"jour=2027-01-20&amp;par=lieu&amp;lieu={world.kourou.id}" in one_day


async def test_the_print_view_has_one_table_per_place_with_a_presence_column(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await _world(session)
    await log_in(web, world.secretariat.email)
    page = await web.get("/convocations/impression", params={"jour": "2027-01-15", "par": "lieu"})
    assert page.status_code == 200, page.text
    text = page.text
    assert "<h1>Convocations du vendredi 15 janvier 2027</h1>" in text
    sections = text.split('<section class="convoc-groupe"')[1:]
    assert len(sections) == 2
    assert "Antenne de Cayenne" in sections[0] and "Antenne de Kourou" in sections[1]
    # In time order; the cancelled one is not on the paper list (nobody is expected).
    assert _ids(sections[0]) == [world.made["today_10h"].id, world.made["today_23h30"].id]
    assert _ids(sections[1]) == [world.made["today_9h_tig"].id]
    assert "23h30" in sections[0] and "01/05/1990" in sections[0]  # ALPHA's birth date
    assert '<th scope="col" class="convoc-present">Présent</th>' in sections[0]
    assert "Camille Cpip" in sections[0]  # per place, the agent column
    assert "Imprimez avec Ctrl+P" in text
    assert "<script>" not in text and "style=" not in text  # the CSP forbids inline
    css = f'<link rel="stylesheet" href="/static/{static.version()}/convoc/impression.css">'
    assert css in text
    sheet = await web.get(f"/static/{static.version()}/convoc/impression.css")
    assert sheet.status_code == 200
    for rule in ("@media print", "break-before: page", "break-inside: avoid", ".fr-no-print"):
        assert rule in sheet.text
    assert 'class="fr-header fr-no-print"' in text


async def test_the_print_view_groups_per_agent_and_filters(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await _world(session)
    await log_in(web, world.cpip.email)
    page = (
        await web.get("/convocations/impression", params={"jour": "2027-01-15", "par": "agent"})
    ).text
    sections = page.split('<section class="convoc-groupe"')[1:]
    assert [s.split("</h2>")[0].rsplit(">", 1)[1] for s in sections] == [
        "Camille Cpip",
        "Dominique Cpip",
    ]
    assert "Antenne de Kourou" in sections[1]  # per agent, the place column
    one = (
        await web.get(
            "/convocations/impression",
            params={"jour": "2027-01-15", "par": "agent", "agent": str(world.other_cpip.id)},
        )
    ).text
    assert _ids(one) == [world.made["today_9h_tig"].id]
    wrong = await web.get("/convocations/impression", params={"jour": "15/01", "par": "lieu"})
    assert wrong.status_code == 422
    assert 'href="#jour"' in wrong.text and 'value="15/01"' in wrong.text


def _routes(routes: list[Any]) -> list[APIRoute]:
    """In the order they are tried (FastAPI keeps an included router's routes inside it)."""
    found: list[APIRoute] = []
    for route in routes:
        if hasattr(route, "original_router"):
            found += _routes(route.original_router.routes)
        elif isinstance(route, APIRoute):
            found.append(route)
    return found


def test_the_print_view_is_routed_before_any_convocation_id(settings: Settings) -> None:
    """« impression » is not an id: its route must come before any ``/convocations/{id}``
    (FastAPI takes the first path that matches, then refuses « impression » as an int)."""
    paths = [r.path for r in _routes(create_app(settings).routes) if "GET" in r.methods]
    printed = paths.index("/convocations/impression")
    by_id = [n for n, p in enumerate(paths) if re.fullmatch(r"/convocations/\{[^}]+\}", p)]
    assert all(printed < n for n in by_id), paths


async def test_a_national_administrator_is_told_the_list_belongs_to_a_spip(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    admin = await make_agent(session, None, password_hash=hash_now(PASSWORD))
    await session.commit()
    await log_in(web, admin.email)
    for path in ("/convocations", "/convocations/impression"):
        page = await web.get(path)
        assert page.status_code == 200, page.text
        assert "Votre compte n'appartient à aucun SPIP" in page.text
