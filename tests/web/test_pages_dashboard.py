"""« Tableau de bord », in process (now = 2027-01-15T10:00Z, 7h00 in Cayenne): the numbers are
the reports API's for the same period, the groups by reminder are hand-counted, each CSV holds
the page's numbers, a role without ``report:read`` is refused, another SPIP never shows, and a
wrong period comes back with French field messages and the form as typed."""

from __future__ import annotations

import csv
import html
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.passwords import hash_now
from app.models import Agent, Appointment, Notification, Spip
from tests.conftest import ClientFactory
from tests.factories import make_agent, make_appointment, make_person, make_place, make_spip
from tests.web.test_pages import PASSWORD, log_in
from tests.web.test_pages import web as web

JANUARY = {"from": "2027-01-01", "to": "2027-01-31"}


def cayenne(day: int, hour: int = 9, month: int = 1, year: int = 2027) -> datetime:
    """A wall-clock time in Cayenne (UTC−3), as an instant."""
    return datetime(year, month, day, hour, tzinfo=UTC) + timedelta(hours=3)


async def notify(
    session: AsyncSession, appointment: Appointment, status: str, **extra: Any
) -> None:
    sent = status in ("sent", "delivered", "undelivered")
    send_at = appointment.starts_at - timedelta(days=2)
    values: dict[str, Any] = {
        "appointment_id": appointment.id,
        "spip_id": appointment.spip_id,
        "kind": "reminder",
        "sequence": 1,
        "idempotency_key": f"{appointment.id}:{status}",
        "status": status,
        "planned_at": send_at,
        "send_at": send_at,
        "send_not_after": appointment.starts_at - timedelta(hours=1),
        "attempts": 1,
    }
    if sent:
        values |= {"provider": "simulateur", "segments": 2, "sent_at": send_at}
    if status == "delivered":
        values["delivered_at"] = send_at + timedelta(seconds=30)
    session.add(Notification(**(values | extra)))
    await session.flush()


@dataclass
class World:
    spip: Spip
    manager: Agent
    cpip: Agent
    secretariat: Agent
    stranger_spip: Spip


# (day of January, status, what happened to its reminder, agent)
PLAN = [
    (4, "honored", "delivered", "cpip"),
    (5, "honored", "delivered", "cpip"),
    (6, "honored", "delivered", "other"),
    (7, "missed", "delivered", "cpip"),
    (8, "honored", "sent", "cpip"),
    (11, "missed", "failed", "other"),
    (12, "missed", "expired", "cpip"),
    (4, "honored", None, "other"),
    (5, "missed", None, "cpip"),
    (6, "excused", None, "cpip"),
    (3, "booked", None, "cpip"),  # past, no outcome for twelve days: « sans issue »
    (20, "booked", "planned", "cpip"),  # to come
]


async def _world(session: AsyncSession) -> World:
    spip = await make_spip(
        session, name="SPIP de la Guyane", timezone="America/Cayenne", phone_region="GF"
    )
    cayenne_place = await make_place(session, spip, name="Antenne de Cayenne")
    kourou = await make_place(session, spip, name="Antenne de Kourou")
    hashed = hash_now(PASSWORD)
    manager = await make_agent(
        session, spip, name="Dominique Dpip", role="manager", password_hash=hashed
    )
    cpip = await make_agent(session, spip, name="Camille Cpip", password_hash=hashed)
    other = await make_agent(session, spip, name="Claude Cpip")
    secretariat = await make_agent(
        session, spip, name="Sam Secrétariat", role="secretariat", password_hash=hashed
    )
    person = await make_person(session, spip, phone="+594694123456")
    agents = {"cpip": cpip, "other": other}
    for n, (day, status, sms, who) in enumerate(PLAN):
        appointment = await make_appointment(
            session,
            person,
            kourou if n % 3 == 0 else cayenne_place,
            starts_at=cayenne(day, 9 + n % 5),
            status=status,
            agent_id=agents[who].id,
            type_code="tig" if n % 4 == 0 else "suivi_spip",
        )
        if sms:
            await notify(session, appointment, sms)
    # December: outside the default period (the SPIP's current month).
    december = await make_appointment(
        session, person, cayenne_place, starts_at=cayenne(15, month=12, year=2026),
        status="missed", agent_id=cpip.id,
    )  # fmt: skip
    await notify(session, december, "delivered")
    # 31 December 23h30 in Cayenne is 1 January 02h30Z: the SPIP's December, not January.
    await make_appointment(
        session, person, cayenne_place, starts_at=cayenne(31, 23, month=12, year=2026) +
        timedelta(minutes=30), status="honored", agent_id=cpip.id,
    )  # fmt: skip
    await make_person(session, spip, phone_problem="invalid_number")
    await make_person(session, spip, phone_problem="invalid_number", archived=True)
    # Another SPIP, busy the same month: none of it may show.
    stranger_spip = await make_spip(session, name="SPIP d'ailleurs")
    stranger_place = await make_place(session, stranger_spip)
    stranger_agent = await make_agent(session, stranger_spip, name="Agent Dailleurs")
    stranger = await make_person(session, stranger_spip, phone_problem="invalid_number")
    for day in range(2, 9):
        appointment = await make_appointment(
            session, stranger, stranger_place, starts_at=cayenne(day),
            status="missed", agent_id=stranger_agent.id,
        )  # fmt: skip
        await notify(session, appointment, "delivered")
    await session.commit()
    return World(spip, manager, cpip, secretariat, stranger_spip)


def _cells(page: str, row_id: str) -> list[str]:
    """The texts of a row's cells (its header included)."""
    found = re.search(rf'<tr id="{row_id}">(.*?)</tr>', page, re.S)
    assert found, row_id
    cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", found.group(1), re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells]


def _csv(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")  # the reports' Excel-fr format
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}".replace(".", ",") + "\u202f%"


async def test_the_numbers_are_the_reports_apis_for_the_same_month(
    web: httpx.AsyncClient, session: AsyncSession, client_for: ClientFactory
) -> None:
    world = await _world(session)
    await log_in(web, world.manager.email)
    page = await web.get("/tableau-de-bord")
    assert page.status_code == 200, page.text
    assert "<h1>Tableau de bord</h1>" in page.text
    assert "du 01/01/2027 au 31/01/2027" in page.text  # the SPIP's current month by default
    assert 'aria-current="page">Tableau de bord</a>' in page.text
    async with client_for(world.manager) as api:
        report = (await api.get("/reports/attendance", params=JANUARY)).json()
        sms = (await api.get("/reports/sms", params=JANUARY)).json()
        unrecorded = (await api.get("/reports/unrecorded")).json()
    t = report["total"]["counts"]
    assert _cells(page.text, "presence-total") == [
        "Total",
        *(str(t[k]) for k in ("honored", "missed", "excused", "unrecorded", "upcoming")),
        *(str(t[k]) for k in ("cancelled", "rescheduled")),
        _percent(t["attendance_rate"]),
    ]
    assert (t["honored"], t["missed"], t["excused"], t["unrecorded"]) == (5, 4, 1, 1)
    assert "55,6\u202f%" in page.text  # 5 / 9
    for key, counts in report["total"]["by_reminder"].items():
        past = sum(counts[k] for k in ("honored", "missed", "excused", "unrecorded"))
        cells = _cells(page.text, f"rappel-{key}")
        assert cells[1:] == [
            str(past),
            *(str(counts[k]) for k in ("honored", "missed", "excused", "unrecorded")),
            _percent(counts["attendance_rate"]),
        ]
    (provider,) = sms["providers"]
    assert provider["sent"] == 5 and provider["delivered"] == 4 and provider["segments"] == 10
    assert "80,0\u202f%" in page.text  # 4 delivered of 5 accepted
    assert "0,45\u00a0€" in page.text  # 10 parts at 0,045 €
    (late,) = unrecorded["rows"]
    assert late["agent_id"] == world.cpip.id and late["count"] == 1
    assert f'href="/a-renseigner?agent={world.cpip.id}"' in page.text
    assert re.search(r'id="numeros-a-verifier"><strong>1</strong> personne suivie a', page.text)
    assert 'href="/personnes"' in page.text


async def test_attendance_side_by_side_by_what_happened_to_the_reminder(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await _world(session)
    await log_in(web, world.manager.email)
    page = (await web.get("/tableau-de-bord")).text
    # label, past, honored, missed, excused, unrecorded, rate
    assert _cells(page, "rappel-delivered")[1:] == ["4", "3", "1", "0", "0", "75,0\u202f%"]
    assert _cells(page, "rappel-sent_no_receipt")[1:] == ["1", "1", "0", "0", "0", "100,0\u202f%"]
    assert _cells(page, "rappel-failed_or_skipped")[1:] == ["2", "0", "2", "0", "0", "0,0\u202f%"]
    assert _cells(page, "rappel-no_reminder")[1:] == ["4", "1", "1", "1", "1", "50,0\u202f%"]
    assert _cells(page, "rappel-ensemble")[1:] == ["11", "5", "4", "1", "1", "55,6\u202f%"]
    assert "C'est une observation, pas une expérience contrôlée" in page
    # The chart: one labelled bar per group, its value written, and no style attribute.
    chart = re.search(r'<figure[^>]*id="graphique-rappels".*?</figure>', page, re.S)
    assert chart
    assert chart.group(0).count('fill="#000091"') == 4
    assert "75,0\u202f% (3 sur 4)" in chart.group(0)
    assert "rappel distribué</text>" in chart.group(0)
    assert "style=" not in page


async def test_each_csv_holds_the_pages_numbers(
    web: httpx.AsyncClient, session: AsyncSession, client_for: ClientFactory
) -> None:
    world = await _world(session)
    await log_in(web, world.manager.email)
    page = (await web.get("/tableau-de-bord", params={"groupe": "lieu"})).text
    links = dict(re.findall(r'id="export-([a-z-]+)" href="([^"]+)"', page))
    assert set(links) == {"presence", "rappels", "sans-issue", "sms"}
    assert all("groupe=lieu" in html.unescape(url) for url in links.values())

    presence = _csv(await web.get(html.unescape(links["presence"])))
    assert presence[0][:4] == ["SPIP", "Lieu", "Honorées", "Non honorées"]
    by_place = {row[1]: row for row in presence[1:]}
    assert set(by_place) == {"Antenne de Cayenne", "Antenne de Kourou", "Total"}
    assert by_place["Total"][2:6] == _cells(page, "presence-total")[1:5]
    assert "Antenne de Kourou</th>" in page

    reminders = _csv(await web.get(html.unescape(links["rappels"])))
    assert reminders[1] == ["rappel distribué", "4", "3", "1", "0", "0", "75,0"]
    assert reminders[-1][:6] == _cells(page, "rappel-ensemble")[:6]

    async with client_for(world.manager) as api:
        api_late = await api.get("/reports/unrecorded", params={"format": "csv"})
        api_sms = await api.get("/reports/sms", params={**JANUARY, "format": "csv"})
    late = await web.get(html.unescape(links["sans-issue"]))
    assert late.content == api_late.content  # the API's own export
    sms = await web.get(html.unescape(links["sms"]))
    assert sms.content == api_sms.content
    assert 'filename="sms-' in sms.headers["content-disposition"]


async def test_every_grouping_names_its_rows(web: httpx.AsyncClient, session: AsyncSession) -> None:
    world = await _world(session)
    await log_in(web, world.manager.email)
    expected = {
        "mois": "janvier 2027</th>",
        "semaine": "semaine du lundi 4 janvier 2027</th>",
        "type": "Travail d'intérêt général",
        "agent": "Claude Cpip</th>",
        "lieu": "Antenne de Cayenne</th>",
    }
    for group, text in expected.items():
        page = await web.get("/tableau-de-bord", params={"groupe": group})
        assert page.status_code == 200, (group, page.text)
        assert html.unescape(text) in html.unescape(page.text), group
    december = await web.get(
        "/tableau-de-bord", params={"du": "2026-12-01", "au": "2026-12-31", "groupe": "mois"}
    )
    assert _cells(december.text, "presence-total")[1:3] == ["1", "1"]  # 31 Dec 23h30 counted


@pytest.mark.parametrize("role", ["secretariat", "cpip"])
async def test_a_caseworker_is_refused_and_has_no_menu_entry(
    web: httpx.AsyncClient, session: AsyncSession, role: str
) -> None:
    """The steering page is the managers' and administrators' (a CPIP reads reports through
    the API, not the service's dashboard)."""
    world = await _world(session)
    await log_in(web, getattr(world, role).email)
    home = await web.get("/")
    assert "Tableau de bord" not in home.text
    page = await web.get("/tableau-de-bord")
    assert page.status_code == 403
    assert "Action impossible" in page.text and "<h1>" in page.text
    assert (await web.get("/tableau-de-bord/export/presence.csv")).status_code == 403


async def test_another_spips_data_never_shows(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await _world(session)
    await log_in(web, world.manager.email)
    page = (await web.get("/tableau-de-bord", params={"groupe": "agent"})).text
    assert "Dailleurs" not in page and "SPIP d&#39;ailleurs" not in page
    assert _cells(page, "presence-total")[2] == "4"  # its seven missed are not counted
    assert 'name="spip"' not in page  # no SPIP to choose
    asked = await web.get("/tableau-de-bord", params={"spip": str(world.stranger_spip.id)})
    assert asked.status_code == 404
    assert "introuvable" in asked.text.lower()
    export = await web.get(
        "/tableau-de-bord/export/sans-issue.csv", params={"spip": str(world.stranger_spip.id)}
    )
    assert export.status_code == 404


async def test_a_national_administrator_chooses_the_spip(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await _world(session)
    admin = await make_agent(session, None, password_hash=hash_now(PASSWORD))
    await session.commit()
    await log_in(web, admin.email)
    page = await web.get("/tableau-de-bord", params={"spip": str(world.stranger_spip.id)})
    assert page.status_code == 200, page.text
    assert 'name="spip"' in page.text
    assert _cells(page.text, "presence-total")[1:3] == ["0", "7"]
    mine = await web.get("/tableau-de-bord", params={"spip": str(world.spip.id)})
    assert _cells(mine.text, "presence-total")[1:3] == ["5", "4"]
    wrong = await web.get("/tableau-de-bord", params={"spip": "999999"})
    assert wrong.status_code == 422
    assert "Ce SPIP n&#39;existe pas." in wrong.text


async def test_a_wrong_period_is_said_on_its_field_and_the_form_kept(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await _world(session)
    await log_in(web, world.manager.email)
    page = await web.get(
        "/tableau-de-bord", params={"du": "2027-03-10", "au": "2027-03-01", "groupe": "agent"}
    )
    assert page.status_code == 422
    assert 'id="erreurs"' in page.text and 'href="#au"' in page.text
    assert "La date de fin doit être le jour de début ou après." in page.text
    assert 'value="2027-03-10"' in page.text and 'value="agent" selected' in page.text
    assert 'id="presence-total"' not in page.text
    typed = await web.get("/tableau-de-bord", params={"du": "31/02/2027", "groupe": "année"})
    assert typed.status_code == 422
    assert "Saisissez une date au format jj/mm/aaaa." in typed.text
    assert "Choisissez un regroupement de la liste." in typed.text
    assert 'value="31/02/2027"' in typed.text
    too_long = await web.get("/tableau-de-bord", params={"du": "2020-01-01", "au": "2027-01-31"})
    assert "La période ne peut pas dépasser trois ans." in too_long.text
    export = await web.get("/tableau-de-bord/export/presence.csv", params={"du": "demain"})
    assert export.status_code == 422 and "text/html" in export.headers["content-type"]
    assert (await web.get("/tableau-de-bord/export/autre.csv")).status_code == 404
