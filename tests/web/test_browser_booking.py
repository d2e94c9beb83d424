"""Convoquer in a real browser against a real server (both backends): a Guyane CPIP whose
browser sits in Paris books in Cayenne time, the preview says when the reminder goes in Cayenne
time, the booking is stored at the right instant with its SMS planned; keyboard only; a past
date; the spring gap in Paris explained; axe on each state."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from playwright.async_api import expect
from sqlalchemy import exists, func, select

from app.models import Appointment, Notification, Person, Spip
from app.web.templating import french_date
from tests.servers import DEMO_PASSWORD, Server
from tests.web.conftest import PageMaker
from tests.web.test_browser import assert_accessible, log_in, screenshot

CAYENNE = ZoneInfo("America/Cayenne")


def _wednesday(weeks: int) -> date:
    """A Wednesday some weeks ahead (its J-2 reminder falls on a Monday, inside the window)."""
    today = datetime.now(CAYENNE).date()
    return today + timedelta(days=(2 - today.weekday()) % 7 + 7 * weeks)


async def _free_person(server: Server, spip_code: str, day: date) -> int:
    """A person of the SPIP with a valid phone and no convocation that day (the demo has many)."""
    start = datetime.combine(day, datetime.min.time(), UTC) - timedelta(days=1)
    busy = exists().where(
        Appointment.person_id == Person.id,
        Appointment.starts_at >= start,
        Appointment.starts_at < start + timedelta(days=3),
    )
    async with server.engine.begin() as conn:
        person_id = await conn.scalar(
            select(Person.id)
            .join(Spip, Spip.id == Person.spip_id)
            .where(Spip.code == spip_code, Person.phone_status == "valid")
            .where(Person.archived.is_(False), ~busy)
            .order_by(Person.id)
            .limit(1)
        )
    assert person_id is not None
    return int(person_id)


async def _stored(server: Server, person_id: int, day: date) -> tuple[Any, int]:
    """The person's one convocation around ``day`` (the demo gives them others, elsewhen)."""
    start = datetime.combine(day, datetime.min.time(), UTC) - timedelta(days=1)
    async with server.engine.begin() as conn:
        row = (
            await conn.execute(
                select(Appointment.id, Appointment.starts_at).where(
                    Appointment.person_id == person_id,
                    Appointment.starts_at >= start,
                    Appointment.starts_at < start + timedelta(days=3),
                )
            )
        ).all()
        assert len(row) == 1, row
        planned = await conn.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.appointment_id == row[0].id)
        )
    return row[0], int(planned or 0)


async def test_a_guyane_cpip_in_paris_books_in_cayenne_time(
    pages: PageMaker, web_server: Server
) -> None:
    day = _wednesday(3)
    person_id = await _free_person(web_server, "SPIP-973", day)
    # An agent of Guyane whose computer is set to Paris time.
    page = await pages(web_server, timezone_id="Europe/Paris")
    await page.goto("/connexion")
    await log_in(page)
    await page.goto(f"/personnes/{person_id}/convoquer")
    await expect(page.get_by_label("Heure (heure de Cayenne)")).to_be_visible()
    await assert_accessible(page)
    await page.get_by_label("Type de convocation").select_option("suivi_spip")
    await page.get_by_label("Date").fill(day.isoformat())
    await page.get_by_label("Heure (heure de Cayenne)").fill("09:00")
    await page.get_by_label("Heure (heure de Cayenne)").dispatch_event("change")
    # The demo SPIPs keep the default policy: one reminder two days before, at 10:00 local.
    reminder = f"{french_date(day - timedelta(days=2))} à 10h00 (heure de Cayenne)"
    preview = page.locator("#apercu")
    await expect(preview).to_contain_text(f"Rappel Planifié — envoi prévu le {reminder}")
    await expect(preview).to_contain_text("SMS (")
    await assert_accessible(page)
    await screenshot(page, "convoquer")
    await page.get_by_role("button", name="Convoquer").click()
    await page.wait_for_url("**/convocations/*?nouvelle=1")
    (appointment_id, starts_at), planned = await _stored(web_server, person_id, day)
    assert page.url.endswith(f"/convocations/{appointment_id}?nouvelle=1")
    assert starts_at == datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC)
    assert planned >= 1


async def _tab_to(page: Any, selector: str) -> None:
    """Press Tab (only the keyboard) until the element ``selector`` has the focus."""
    for _ in range(60):
        if await page.evaluate("s => !!document.activeElement?.matches(s)", selector):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"la touche Tab n'atteint pas {selector}")


async def _control_keys(page: Any, day: date) -> tuple[str, str]:
    """The keys a person types in this browser's date and time controls for ``day`` at 09:00.

    A browser formats these controls in its own language, not the page's: French (``jj/mm/aaaa``,
    24 h) when Debian's chromium-l10n is there, else American (mm/dd/yyyy, AM/PM). Ask the
    browser, on a blank page, rather than guess; the journey then types only what an agent
    would."""
    await page.set_content('<input id="d" type="date"><input id="t" type="time">')
    await page.focus("#d")
    await page.keyboard.type("02012027")
    french = await page.eval_on_selector("#d", "e => e.value") == "2027-01-02"
    await page.focus("#t")
    await page.keyboard.type("0900")
    twenty_four = await page.eval_on_selector("#t", "e => e.value") == "09:00"
    return (day.strftime("%d%m%Y" if french else "%m%d%Y"), "0900" if twenty_four else "0900A")


async def test_keyboard_only_booking(page: Any, web_server: Server) -> None:
    day = _wednesday(5)
    person_id = await _free_person(web_server, "SPIP-973", day)
    date_keys, time_keys = await _control_keys(page, day)
    await page.goto("/connexion")
    await log_in(page)
    await page.goto(f"/personnes/{person_id}/convoquer")
    await _tab_to(page, "#type")
    await page.keyboard.type("Rendez-vous de suivi")
    await _tab_to(page, "#date")  # the place: Guyane has one, already chosen
    await page.keyboard.type(date_keys)
    await _tab_to(page, "#heure")
    await page.keyboard.type(time_keys)
    await page.keyboard.press("Enter")  # the first button: « Vérifier »
    await expect(page.locator("#apercu")).to_contain_text("Rappel")
    await _tab_to(page, 'button[value="convoquer"]')
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/convocations/*?nouvelle=1")
    (_, starts_at), planned = await _stored(web_server, person_id, day)
    assert starts_at == datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC)
    assert planned >= 1


async def test_a_past_date_comes_back_filled_with_a_french_error(
    page: Any, web_server: Server
) -> None:
    person_id = await _free_person(web_server, "SPIP-973", _wednesday(7))
    await page.goto("/connexion")
    await log_in(page)
    await page.goto(f"/personnes/{person_id}/convoquer")
    await page.get_by_label("Type de convocation").select_option("suivi_spip")
    past = datetime.now(CAYENNE).date() - timedelta(days=3)
    await page.get_by_label("Date").fill(past.isoformat())
    await page.get_by_label("Heure (heure de Cayenne)").fill("09:00")
    await page.get_by_role("button", name="Convoquer").click()
    summary = page.locator("#erreurs")
    await expect(summary).to_be_focused()
    await expect(summary).to_contain_text("Date : La date de convocation est déjà passée.")
    await expect(page.locator("#date-message")).to_have_text(
        "La date de convocation est déjà passée."
    )
    await expect(page.get_by_label("Date")).to_have_value(past.isoformat())
    await expect(page.get_by_label("Heure (heure de Cayenne)")).to_have_value("09:00")
    await assert_accessible(page)


async def test_the_spring_gap_in_paris_is_explained(page: Any, web_server: Server) -> None:
    person_id = await _free_person(web_server, "SPIP-92", date(2027, 3, 28))
    await page.goto("/connexion")
    await log_in(page, "cpip@hauts-de-seine.demo.convoc.fr", DEMO_PASSWORD)
    await page.goto(f"/personnes/{person_id}/convoquer")
    await page.get_by_label("Type de convocation").select_option("suivi_spip")
    await page.get_by_label("Lieu", exact=True).select_option(index=1)
    await page.get_by_label("Date").fill("2027-03-28")
    await page.get_by_label(re.compile(r"^Heure")).fill("02:30")
    await page.get_by_role("button", name="Vérifier").click()
    await expect(page.locator("#heure-message")).to_have_text(
        "2h30 n'existe pas le dimanche 28 mars 2027 à Paris : cette nuit-là, les horloges "
        "passent directement de 2h00 à 3h00 (heure d'été). Choisissez une autre heure."
    )
    await expect(page.locator("#erreurs")).to_be_focused()
    await assert_accessible(page)


async def test_choosing_a_place_in_another_zone_changes_the_time_label(
    page: Any, web_server: Server
) -> None:
    """Polynésie: the Marquesas are half an hour off Tahiti; the label follows the place chosen,
    so the agent knows which clock the time typed is read on."""
    person_id = await _free_person(web_server, "SPIP-987", _wednesday(4))
    await page.goto("/connexion")
    await log_in(page, "cpip@polynesie.demo.convoc.fr", DEMO_PASSWORD)
    await page.goto(f"/personnes/{person_id}/convoquer")
    place = page.get_by_label("Lieu", exact=True)
    await place.select_option(label="Permanence de Taiohae (Marquises)")
    await expect(page.locator("#heure-zone")).to_have_text("(heure des Marquises)")
    await expect(page.get_by_label("Heure (heure des Marquises)")).to_be_visible()
    await place.select_option(label="Antenne de Papeete")
    await expect(page.locator("#heure-zone")).to_have_text("(heure de Tahiti)")
    await assert_accessible(page)
