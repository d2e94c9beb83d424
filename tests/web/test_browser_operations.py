"""The page « Exploitation » in a real browser, on SQLite and PostgreSQL, on the demo's data:
the national administrator opens it from the administration's home, meets the pause form's
error (summary focused), pauses the Guyane SPIP's sending by the keyboard, sees the pause,
and resumes it by the keyboard; the retry confirmation. axe-core on each page."""

from __future__ import annotations

import re

from playwright.async_api import expect

from app.demo import NATIONAL_ADMIN_EMAIL
from tests.servers import Server
from tests.web.conftest import PageMaker
from tests.web.test_browser import assert_accessible, log_in, screenshot


async def test_an_administrator_pauses_a_spip_and_resumes_it_by_the_keyboard(
    pages: PageMaker, web_server: Server
) -> None:
    page = await pages(web_server)
    await page.goto("/")
    await log_in(page, NATIONAL_ADMIN_EMAIL)
    await page.goto("/administration")
    await page.get_by_role("link", name="Exploitation").click()
    await expect(page).to_have_url(re.compile(r"/administration/exploitation$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Exploitation")
    await expect(page.locator("caption", has_text="Pauses en cours (0)")).to_be_visible()
    await assert_accessible(page)

    # No reason: the form comes back with its summary focused.
    await page.get_by_label("Périmètre").select_option(label="SPIP de la Guyane")
    await page.get_by_role("button", name="Suspendre l'envoi").click()
    await expect(page.locator("#erreurs")).to_be_focused()
    await expect(page.get_by_label("Périmètre")).to_have_value(re.compile(r"^\d+$"))
    await assert_accessible(page)

    # Keyboard only: the reason typed, Enter submits.
    await page.get_by_label("Motif de la pause").focus()
    await page.keyboard.type("Incident chez le fournisseur")
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(r"\?ok=pause$"))
    await expect(page.get_by_role("status")).to_contain_text("L'envoi est en pause")
    paused = page.locator("table", has=page.locator("caption", has_text="Pauses en cours (1)"))
    await expect(paused).to_contain_text("SPIP de la Guyane")
    await expect(paused).to_contain_text("Incident chez le fournisseur")
    await assert_accessible(page)
    await screenshot(page, "exploitation")

    resume = paused.get_by_role("button", name=re.compile(r"Reprendre l'envoi"))
    await resume.focus()
    await expect(resume).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(r"\?ok=reprise$"))
    await expect(page.get_by_role("status")).to_contain_text("L'envoi a repris")
    await expect(page.locator("caption", has_text="Pauses en cours (0)")).to_be_visible()

    await page.goto("/administration/exploitation/renvoi")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Renvoyer les échecs")
    await assert_accessible(page)
