"""Modèles de SMS and Règles de rappel in a real browser against a real server (both backends),
on the demo data, as Guyane's local administrator: a wording with an unknown placeholder is
refused in French with the text kept, a valid one previewed as one types (htmx) with its parts
and saved; the policy's example moves when a reminder goes three days before instead of two,
before saving; the DPIP reads both from the menu, without a field to change; axe on each page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.async_api import expect

from app.web.reminder_settings import next_monday
from app.web.templating import french_date
from tests.servers import Server
from tests.web.conftest import PageMaker
from tests.web.test_browser import assert_accessible, log_in, screenshot

ADMIN = "admin@guyane.demo.convoc.fr"
DPIP = "dpip@guyane.demo.convoc.fr"


async def test_a_local_admin_edits_a_template_with_its_live_preview(
    pages: PageMaker, web_server: Server
) -> None:
    page = await pages(web_server)
    await page.goto("/connexion")
    await log_in(page, ADMIN)
    await page.goto("/administration/modeles")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Modèles de SMS")
    await assert_accessible(page)
    await page.get_by_role("link", name="Modifier le modèle Rappel du SPIP").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Modèle « Rappel »")
    await assert_accessible(page)

    text = page.get_by_label("Texte du SMS")
    wrong = "Rappel {rdv.date} à {rdv.heure} pour {personne.nom}"
    await text.fill(wrong)
    await page.get_by_role("button", name="Enregistrer").click()
    summary = page.locator("#erreurs")
    await expect(summary).to_contain_text("Variable(s) inconnue(s) : {personne.nom}")
    await expect(summary).to_be_focused()
    await expect(page.get_by_label("Texte du SMS")).to_have_value(wrong)
    await assert_accessible(page)

    valid = "Rappel : convocation le {rdv.date} à {rdv.heure}, {lieu.nom}. Sœur… bienvenue"
    await page.get_by_label("Texte du SMS").fill(valid)  # htmx: input, then 400 ms
    preview = page.locator("#apercu")
    await expect(preview.locator("#apercu-texte")).to_contain_text("Soeur... bienvenue")
    await expect(preview.locator("#apercu-parties")).to_contain_text("GSM-7 1 SMS")
    await expect(preview.locator("mark")).to_have_text(["œ", "…"])
    await expect(preview).to_contain_text("« œ » → remplacez par « oe »")
    await expect(preview).not_to_contain_text("Variable(s) inconnue(s)")
    await page.get_by_role("button", name="Enregistrer").click()
    await expect(page.get_by_text("Le modèle est enregistré.")).to_be_visible()
    await expect(page.get_by_text("En vigueur : modèle du SPIP")).to_be_visible()
    await expect(page.get_by_label("Texte du SMS")).to_have_value(valid)
    await assert_accessible(page)
    await screenshot(page, "modele-sms")

    await page.get_by_role("button", name="Revenir au modèle hérité").click()
    await expect(page.locator("#confirmation")).to_be_focused()
    await assert_accessible(page)
    await page.get_by_role("button", name="Oui, revenir au modèle hérité").click()
    await expect(page.get_by_text("Le modèle hérité est rétabli.")).to_be_visible()
    await expect(page.get_by_label("Texte du SMS")).not_to_have_value(valid)


async def test_a_local_admin_changes_the_policy_and_sees_the_example_move(
    pages: PageMaker, web_server: Server
) -> None:
    page = await pages(web_server)
    await page.goto("/connexion")
    await log_in(page, ADMIN)
    await page.goto("/administration/rappels")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Règles de rappel")
    await assert_accessible(page)
    monday = next_monday(datetime.now(UTC), "America/Cayenne")
    example = page.locator("#exemple")
    await expect(example).to_contain_text(
        f"Pour une convocation le {french_date(monday)} à 9h00 (heure de Cayenne)"
    )
    # The demo keeps the default policy: two days before, at 10:00 local.
    two = f"le {french_date(monday - timedelta(days=2))} à 10h00 (heure de Cayenne)"
    three = f"le {french_date(monday - timedelta(days=3))} à 10h00 (heure de Cayenne)"
    await expect(example).to_contain_text(two)
    days = page.locator("#regle-0-jours")
    await days.fill("3")
    await days.dispatch_event("change")  # htmx: the example, nothing saved
    await expect(example).to_contain_text(three)
    await expect(example).not_to_contain_text(two)
    await assert_accessible(page)
    await page.locator("h1").click()  # no field focused for the screenshot
    await screenshot(page, "regles-rappel")
    await page.get_by_role("button", name="Enregistrer").click()
    await expect(page.get_by_text("Les règles de rappel sont enregistrées.")).to_be_visible()
    await expect(page.locator("#regle-0-jours")).to_have_value("3")
    await expect(page.locator("#exemple")).to_contain_text(three)
    await assert_accessible(page)


async def test_a_cpip_cannot_open_these_pages(pages: PageMaker, web_server: Server) -> None:
    page = await pages(web_server)
    await page.goto("/connexion")
    await log_in(page)
    for path in ("/administration/rappels", "/administration/modeles/reminder"):
        answer = await page.goto(path)
        assert answer is not None and answer.status == 403, path
        await expect(page.get_by_role("heading", level=1)).to_have_text("Action impossible")


async def test_a_dpip_reads_the_rules_and_the_templates_without_changing_them(
    pages: PageMaker, web_server: Server
) -> None:
    page = await pages(web_server)
    await page.goto("/connexion")
    await log_in(page, DPIP)
    menu = page.get_by_role("navigation", name="Menu principal")
    await menu.get_by_role("link", name="Règles de rappel").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Règles de rappel")
    await expect(menu.get_by_role("link", name="Règles de rappel")).to_have_attribute(
        "aria-current", "page"
    )
    await expect(page.locator("#consultation")).to_contain_text(
        "Vous consultez ces règles. Seul un administrateur du SPIP peut les modifier."
    )
    await expect(page.locator("#regles")).to_be_visible()
    monday = next_monday(datetime.now(UTC), "America/Cayenne")
    await expect(page.locator("#exemple")).to_contain_text(
        f"Pour une convocation le {french_date(monday)} à 9h00 (heure de Cayenne)"
    )
    await expect(page.locator("#heures")).to_contain_text("Fenêtre d'envoi")
    main = page.locator("main")
    await expect(main.locator("form, input, select, textarea, button[type=submit]")).to_have_count(
        0
    )
    await assert_accessible(page)
    await screenshot(page, "regles-rappel-consultation")

    await menu.get_by_role("link", name="Modèles de SMS").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Modèles de SMS")
    await expect(page.locator("#consultation")).to_contain_text("Vous consultez ces modèles.")
    await assert_accessible(page)
    await page.get_by_role("link", name="Consulter le modèle Rappel du SPIP").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Modèle « Rappel »")
    await expect(page.locator("#texte-modele")).to_be_visible()
    await expect(page.locator("#apercu-parties")).to_contain_text("SMS")
    await expect(main.locator("form, input, select, textarea, button[type=submit]")).to_have_count(
        0
    )
    await assert_accessible(page)
    await screenshot(page, "modele-sms-consultation")
