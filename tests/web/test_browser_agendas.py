"""Agendas in a real browser, on SQLite and PostgreSQL, on the demo's data: the Guyane SPIP's
secretariat opens « Agendas » from the menu, creates an agenda, adds a recurring opening
(every Tuesday at 9h00, 20 minutes) and sees that week's slots at 9h00 « heure de Cayenne »,
closes one and sees it closed. axe-core on every page; ``docs/screenshots/agenda-semaine.png``."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from playwright.async_api import expect

from tests.web.test_browser import SECRETARIAT, assert_accessible, log_in, screenshot


async def test_a_secretariat_opens_a_week_of_slots(page: Any) -> None:
    today = datetime.now(ZoneInfo("America/Cayenne")).date()
    await page.goto("/agendas")
    await log_in(page, SECRETARIAT)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Agendas")
    await expect(page.get_by_role("link", name="Agendas", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    await assert_accessible(page)
    await page.get_by_role("link", name="Nouvel agenda").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Nouvel agenda")
    await assert_accessible(page)
    await page.get_by_label("Lieu").select_option(index=1)
    await page.get_by_label("Nom de l'agenda").fill("Accueil collectif du mardi")
    await page.get_by_role("button", name="Créer l'agenda").click()
    await expect(page).to_have_url(re.compile(r"/agendas/\d+\?ok=cree$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Accueil collectif du mardi")
    await expect(page.locator(".fr-alert--success")).to_contain_text("L'agenda est créé.")
    await assert_accessible(page)

    # A refused opening comes back filled, the summary focused.
    await page.get_by_label("Jour de la semaine").select_option(label="mardi")
    await page.get_by_label("Heure de début").fill("09:00")
    await page.get_by_label("Nombre de places").fill("0")
    await page.get_by_role("button", name="Ajouter l'ouverture").click()
    await expect(page.locator("#erreurs")).to_be_focused()
    await expect(page.locator("#capacite-message")).to_have_text(
        "Indiquez un nombre de places entre 1 et 1000."
    )
    await expect(page.get_by_label("Heure de début")).to_have_value("09:00")
    await assert_accessible(page)

    await page.get_by_label("Nombre de places").fill("1")
    await page.get_by_label("À partir du").fill(today.isoformat())
    await page.get_by_role("button", name="Ajouter l'ouverture").click()
    await expect(page).to_have_url(re.compile(r"ok=ouverture"))
    await expect(page.locator(".fr-alert--success")).to_contain_text("L'ouverture est enregistrée")
    opening = page.get_by_role("listitem").filter(has_text="chaque mardi à 9h00, 20 minutes")
    await expect(opening).to_contain_text("1 place")
    await expect(opening).to_contain_text("(heure de Cayenne)")
    if await page.get_by_text("Aucun créneau cette semaine.").count():
        # That Tuesday is a public holiday in Guyane: the next week has one.
        await page.get_by_role("link", name="Semaine suivante").click()
    table = page.locator("table", has=page.locator("caption", has_text="mardi"))
    await expect(table).to_contain_text("Heure (heure de Cayenne)")
    await expect(table.get_by_role("cell", name="9h00 – 9h20")).to_be_visible()
    await expect(table.get_by_role("cell", name="0 / 1")).to_be_visible()
    await assert_accessible(page)
    await screenshot(page, "agenda-semaine")

    await table.get_by_role("button", name=re.compile(r"^Fermer le créneau")).click()
    await expect(page.locator(".fr-alert--success")).to_contain_text("Le créneau est fermé")
    table = page.locator("table", has=page.locator("caption", has_text="mardi"))
    await expect(table.locator(".fr-badge", has_text="Fermé")).to_be_visible()
    await expect(table.get_by_role("button", name=re.compile(r"^Rouvrir"))).to_be_visible()
    await assert_accessible(page)

    # Ending the opening asks first, and says which slots stay.
    await opening.get_by_role("button", name=re.compile(r"^Terminer")).click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("ceux qui ont déjà une convocation sont gardés")
    # axe once the DSFR modal has faded in (mid-transition, its text is half transparent).
    for _ in range(40):
        if await dialog.evaluate("d => getComputedStyle(d).opacity") == "1":
            break
        await page.wait_for_timeout(50)
    await assert_accessible(page)
    await dialog.get_by_role("button", name="Annuler").click()
    await expect(dialog).to_be_hidden()
