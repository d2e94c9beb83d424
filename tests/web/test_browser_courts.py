"""Sortie d'audience in a real browser, on SQLite and PostgreSQL, on the demo's data: a court
linked to the Guyane SPIP, whose agenda open to courts has one slot with one seat left. A
clerk logs in (« Sortie d'audience », not the SPIP's home), opens the agenda's month, picks
the day (htmx), « Convoquer », meets the form's errors, books by the keyboard and gets the
printable summary (the print view keeps it alone); a second clerk, who had the same slot's
form open, submits and is told it is full, the form still filled. axe-core on each page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.passwords import hash_now
from app.models import Agenda, Agent, Court, Place, Slot, Spip, court_spip
from tests.servers import DEMO_PASSWORD, Server
from tests.web.conftest import PageMaker
from tests.web.test_browser import assert_accessible, log_in, screenshot

CAYENNE = ZoneInfo("America/Cayenne")


@dataclass(frozen=True)
class Desk:
    agenda_id: int
    slot_id: int
    day: datetime  # the slot's local start
    clerks: tuple[str, str]


@pytest.fixture
async def desk(web_server: Server) -> AsyncIterator[Desk]:
    """A court of the Guyane SPIP, two clerks, an agenda open to the courts at a Guyane place,
    and one slot in five days at 9h00 (Cayenne) with one seat."""
    day = datetime.now(CAYENNE).date() + timedelta(days=5)
    local = datetime.combine(day, time(9, 0), CAYENNE)
    async with AsyncSession(web_server.engine, expire_on_commit=False) as session:
        spip = await session.scalar(select(Spip).where(Spip.name == "SPIP de la Guyane"))
        assert spip is not None
        place = await session.scalar(
            select(Place).where(Place.spip_id == spip.id, Place.active.is_(True)).limit(1)
        )
        assert place is not None
        court = Court(name="Tribunal judiciaire de Cayenne (test)", active=True)
        session.add(court)
        await session.flush()
        await session.execute(court_spip.insert().values(court_id=court.id, spip_id=spip.id))
        clerks = ("greffe1@tj-cayenne.test.convoc.fr", "greffe2@tj-cayenne.test.convoc.fr")
        for n, email in enumerate(clerks, 1):
            session.add(
                Agent(
                    name=f"Greffe {n}",
                    email=email,
                    role="court_clerk",
                    court_id=court.id,
                    password_hash=hash_now(DEMO_PASSWORD),
                )
            )
        agenda = Agenda(
            spip_id=spip.id,
            place_id=place.id,
            name="Sortie d'audience du SPIP",
            appointment_types=["suivi_spip"],
            open_to_courts=True,
        )
        session.add(agenda)
        await session.flush()
        slot = Slot(
            agenda_id=agenda.id,
            spip_id=spip.id,
            place_id=place.id,
            starts_at=local.astimezone(UTC),
            duration_minutes=30,
            capacity=1,
        )
        session.add(slot)
        await session.commit()
        yield Desk(agenda.id, slot.id, local, clerks)


async def _fill(page: Any, nom: str, prenom: str, phone: str) -> None:
    await page.get_by_label("Nom", exact=True).fill(nom)
    await page.get_by_label("Prénom").fill(prenom)
    await page.get_by_label("Date de naissance").fill("14/07/1990")
    await page.get_by_label("Téléphone mobile").fill(phone)


async def test_a_clerk_books_the_last_seat_and_a_second_clerk_is_told_it_is_full(
    pages: PageMaker, web_server: Server, desk: Desk
) -> None:
    first = await pages(web_server)
    await first.goto("/")
    await log_in(first, desk.clerks[0])
    await expect(first).to_have_url(re.compile(r"/tribunal$"))
    await expect(first.get_by_role("heading", level=1)).to_have_text("Sortie d'audience")
    menu = first.get_by_role("navigation", name="Menu principal")
    await expect(menu.get_by_role("link")).to_have_text(
        ["Sortie d'audience", "Convocations données"]
    )
    await assert_accessible(first)

    await first.get_by_role("link", name="Sortie d'audience du SPIP").click()
    await expect(first.locator("caption")).to_contain_text("Places libres en")
    if desk.day.month != datetime.now(CAYENNE).month:
        await first.get_by_role("link", name="Mois suivant").click()
    await assert_accessible(first)
    await screenshot(first, "tribunal-mois")
    # The day, asked by htmx: the day's part changes, its title takes the focus.
    day_link = first.get_by_role("link", name=re.compile(rf"^\w+ {desk.day.day}(er)? .*1 place"))
    await day_link.click()
    await expect(first.locator("#jour-titre")).to_be_focused()
    await expect(first).to_have_url(re.compile(rf"jour={desk.day.date().isoformat()}"))
    table = first.locator("#jour table")
    await expect(table).to_contain_text("Heure (heure de Cayenne)")
    await expect(table).to_contain_text("9h00 – 9h30")
    await table.get_by_role("link", name="Convoquer à 9h00").click()
    await expect(first.get_by_role("heading", level=1)).to_have_text(
        "Convoquer à la sortie d'audience"
    )
    await expect(first.locator("#creneau-quand")).to_contain_text("9h00 (heure de Cayenne)")

    # The second clerk opens the same slot's form meanwhile.
    second = await pages(web_server)
    await second.goto("/")
    await log_in(second, desk.clerks[1])
    await expect(second).to_have_url(re.compile(r"/tribunal$"))
    await second.goto(f"/tribunal/creneaux/{desk.slot_id}/convoquer")
    await _fill(second, "Zéphyrin-Test", "Aurélien", "0694 98 76 52")

    # A refused form comes back filled, its summary focused.
    await _fill(first, "", "Maëlys", "0694 98 76 51")
    await first.get_by_role("button", name="Convoquer").click()
    await expect(first.locator("#erreurs")).to_be_focused()
    await expect(first.locator("#nom-message")).to_have_text("Saisissez le nom.")
    await expect(first.get_by_label("Prénom")).to_have_value("Maëlys")
    await assert_accessible(first)

    # Keyboard only: type the name, Enter submits « Convoquer ».
    await first.get_by_label("Nom", exact=True).focus()
    await first.keyboard.type("Balthazar-Test")
    await first.keyboard.press("Enter")
    await expect(first).to_have_url(re.compile(r"/tribunal/convocations/\d+\?ok=1$"))
    await expect(first.get_by_role("heading", level=1)).to_have_text("Vous êtes convoqué(e)")
    await expect(first.locator("#quand")).to_contain_text("à 9h00 (heure de Cayenne)")
    await expect(first.locator("#sms")).to_contain_text("0694 •• •• 51")
    await expect(first.get_by_role("button", name="Imprimer")).to_be_visible()
    await assert_accessible(first)
    await screenshot(first, "tribunal-recapitulatif")
    await first.emulate_media(media="print")
    await expect(first.locator("header.fr-header")).to_be_hidden()
    await expect(first.get_by_role("button", name="Imprimer")).to_be_hidden()
    await expect(first.get_by_role("heading", level=1)).to_be_visible()

    # The second clerk submits: the seat is gone; nothing typed is lost.
    await second.get_by_role("button", name="Convoquer").click()
    alert = second.locator("#complet")
    await expect(alert).to_be_focused()
    await expect(alert).to_contain_text("Ce créneau vient d'être complet : choisissez-en un autre")
    await expect(second.get_by_label("Nom", exact=True)).to_have_value("Zéphyrin-Test")
    await expect(second.get_by_label("Téléphone mobile")).to_have_value("0694 98 76 52")
    await assert_accessible(second)
    await alert.get_by_role("link", name="Revenir aux créneaux du jour").click()
    await expect(second.locator("#jour table")).to_contain_text("Complet")
    await expect(second.get_by_role("link", name="Convoquer à 9h00")).to_have_count(0)
