"""A secretariat opens a week of slots and books into one, in a real browser on SQLite and
PostgreSQL, on the demo's data: the Guyane secretariat creates an agenda, opens one-off slots
for next week with the keyboard only (« Ouvrir des créneaux ponctuels »), sees them on the week
page, « Convoquer » on the first one, finds the person, and books with the slot already chosen;
then, on another person's booking page, « Dans un créneau d'un agenda » and the agenda bring the
free slots in (htmx) — the slot just taken is gone. axe-core on every new page."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from playwright.async_api import expect
from sqlalchemy import exists, select

from app.models import Appointment, Person, Slot, Spip
from app.web.templating import french_date
from tests.servers import Server
from tests.web.conftest import PageMaker
from tests.web.test_browser import SECRETARIAT, assert_accessible, log_in, screenshot

CAYENNE = ZoneInfo("America/Cayenne")


def _next_week() -> tuple[date, date]:
    """Next week's Tuesday and Thursday in Cayenne (one-off slots may fall on a holiday)."""
    today = datetime.now(CAYENNE).date()
    monday = today - timedelta(days=today.weekday()) + timedelta(weeks=1)
    return monday + timedelta(days=1), monday + timedelta(days=3)


async def _free_people(server: Server, days: tuple[date, date]) -> list[tuple[int, str]]:
    """Two persons of the Guyane SPIP with a valid phone and no convocation that week."""
    start = datetime.combine(days[0], datetime.min.time(), UTC) - timedelta(days=2)
    busy = exists().where(
        Appointment.person_id == Person.id,
        Appointment.starts_at >= start,
        Appointment.starts_at < start + timedelta(days=6),
    )
    async with server.engine.begin() as conn:
        rows = (
            await conn.execute(
                select(Person.id, Person.last_name)
                .join(Spip, Spip.id == Person.spip_id)
                .where(Spip.code == "SPIP-973", Person.phone_status == "valid")
                .where(Person.archived.is_(False), ~busy)
                .order_by(Person.id)
                .limit(2)
            )
        ).all()
    assert len(rows) == 2
    return [(int(r.id), str(r.last_name)) for r in rows]


async def _tab_to(page: Any, selector: str) -> None:
    """Press Tab (only the keyboard) until the element ``selector`` has the focus."""
    for _ in range(80):
        if await page.evaluate("s => !!document.activeElement?.matches(s)", selector):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"la touche Tab n'atteint pas {selector}")


async def test_a_secretariat_opens_a_week_of_slots_and_books_into_one(
    pages: PageMaker, web_server: Server
) -> None:
    tuesday, thursday = _next_week()
    (first_id, first_name), (second_id, _) = await _free_people(web_server, (tuesday, thursday))
    page = await pages(web_server)
    await page.goto("/agendas/nouveau")
    await log_in(page, SECRETARIAT)
    await page.get_by_label("Lieu").select_option(index=1)
    await page.get_by_label("Nom de l'agenda").fill("Permanence ponctuelle")
    await page.get_by_role("button", name="Créer l'agenda").click()
    await expect(page).to_have_url(re.compile(r"/agendas/\d+\?ok=cree$"))
    agenda_id = int(re.findall(r"/agendas/(\d+)", page.url)[0])

    # Keyboard only: the dates and times typed, Tab to the button, Enter.
    await page.locator("#p_dates").focus()
    await page.keyboard.type(f"{tuesday:%d/%m/%Y}, {thursday:%d/%m/%Y}")
    await page.keyboard.press("Tab")
    await expect(page.locator("#p_heures")).to_be_focused()
    await page.keyboard.type("09:00, 10:00")
    await _tab_to(page, "#p_ouvrir")
    await page.keyboard.press("Enter")
    await expect(page.locator(".fr-alert--success")).to_contain_text("4 créneaux ouverts.")
    await expect(page.locator("#semaine")).to_contain_text("Créneaux de la semaine")
    table = page.locator("table", has=page.locator("caption", has_text=french_date(tuesday)))
    await expect(table.get_by_role("cell", name=re.compile(r"^9h00 – 9h20"))).to_be_visible()
    await expect(table.get_by_role("cell", name="0 / 1").first).to_be_visible()
    await assert_accessible(page)
    await screenshot(page, "agenda-ponctuels")

    # « Convoquer » on Tuesday's 9h00: choose the person, the booking page has the slot.
    await table.get_by_role("link", name=re.compile(r"^Convoquer.* à 9h00")).click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text(
        f"Convoquer dans le créneau du {french_date(tuesday)}, 9h00 – 9h20"
    )
    await assert_accessible(page)
    await page.get_by_label("Rechercher la personne").fill(first_name)
    await page.get_by_role("button", name="Rechercher").click()
    row = page.locator(
        "tr", has=page.locator(f'a[href^="/personnes/{first_id}/convoquer?creneau="]')
    )
    await assert_accessible(page)
    await row.get_by_role("link", name=re.compile("^Convoquer")).click()
    await expect(page.get_by_label("Dans un créneau d'un agenda")).to_be_checked()
    await expect(
        page.get_by_label(f"{french_date(tuesday)} à 9h00 — 1 place libre sur 1")
    ).to_be_checked()
    await page.get_by_label("Type de convocation").select_option("suivi_spip")
    await expect(page.locator("#apercu")).to_contain_text("Les SMS qui partiront")
    await assert_accessible(page)
    await page.get_by_role("button", name="Convoquer", exact=True).click()
    await page.wait_for_url("**/convocations/*?nouvelle=1")
    async with web_server.engine.begin() as conn:
        slot_id = await conn.scalar(
            select(Appointment.slot_id)
            .where(Appointment.person_id == first_id)
            .where(Appointment.slot_id.is_not(None))
        )
        booked = await conn.scalar(select(Slot.booked).where(Slot.id == slot_id))
    assert slot_id is not None and booked == 1

    # From a booking page: the mode, then the agenda, bring its free slots (htmx).
    await page.goto(f"/personnes/{second_id}/convoquer")
    await page.locator("label[for=mode-creneau]").click()  # the DSFR label covers the radio
    await expect(page.get_by_label("Dans un créneau d'un agenda")).to_be_checked()
    agenda = page.get_by_label(re.compile("^Agenda"))
    await expect(agenda).to_be_visible()
    await agenda.select_option(str(agenda_id))
    slots = page.locator("#creneau")
    await expect(slots).to_contain_text(f"{french_date(tuesday)} à 10h00 — 1 place libre sur 1")
    await expect(slots).not_to_contain_text(f"{french_date(tuesday)} à 9h00")
    await assert_accessible(page)
    await screenshot(page, "convoquer-creneau")
