"""Personnes in a real browser, on SQLite and PostgreSQL: a CPIP of the demo's Guyane SPIP
creates a person typing a Guyane mobile as people say it, lands on the person's page with the
number in national form, finds the person back by that number and by name (the search is a
POST: the URL holds no query), opens its « Historique » by keyboard, and meets the duplicate
warning; an administrator deletes a person entered by mistake; axe-core on every page."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import expect

from tests.web.test_browser import CPIP, assert_accessible, log_in, screenshot

FICHE = re.compile(r"/personnes/(\d+)\?ok=creee$")
ADMIN = "admin@guyane.demo.convoc.fr"  # administration locale: person:archive


async def _create(page: Any, first: str, last: str, birth: str, phone: str) -> None:
    await page.get_by_label("Nom", exact=True).fill(last)
    await page.get_by_label("Prénom").fill(first)
    await page.get_by_label("Date de naissance").fill(birth)
    await page.get_by_label("Téléphone mobile").fill(phone)
    await page.get_by_role("button", name="Enregistrer").click()


async def _search(page: Any, typed: str) -> None:
    """Type in the search box and press Enter; wait for the answer (htmx swaps it in place)."""
    await page.locator("#q").fill(typed)
    async with page.expect_response(
        lambda r: r.url.endswith("/personnes") and r.request.method == "POST"
    ) as answer:
        await page.locator("#q").press("Enter")
    assert (await answer.value).request.headers.get("hx-request") == "true"  # swapped in place
    await page.wait_for_load_state("networkidle")


async def _settled(page: Any) -> None:
    """Let the page load its assets (an icon aborted by the next navigation is no error)."""
    await page.wait_for_load_state("networkidle")


async def test_a_cpip_creates_a_person_and_finds_them_back_by_number_and_name(page: Any) -> None:
    await page.goto("/personnes/nouvelle")
    await log_in(page, CPIP)
    await expect(page).to_have_url(re.compile(r"/personnes/nouvelle$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Nouvelle personne")
    # The CPIP is the referent unless they choose otherwise.
    await expect(page.get_by_label("Agent référent")).to_have_value(re.compile(r"^\d+$"))
    await assert_accessible(page)

    await _create(page, "Éloïse", "Testeur-Navigateur", "12/03/1985", "0694 12 34 56")
    if await page.get_by_role("button", name="Créer quand même").count():
        # The demo's random numbers may hold this one: the warning, then the confirmation.
        await page.get_by_role("button", name="Créer quand même").click()
    await expect(page).to_have_url(FICHE)
    await expect(page.locator(".fr-alert--success")).to_have_text(
        re.compile("La personne est enregistrée.")
    )
    await expect(page.get_by_role("heading", level=1)).to_have_text("Éloïse Testeur-Navigateur")
    await expect(page.locator("#telephone")).to_contain_text("0694 12 34 56")
    await expect(page.locator("#statut-telephone")).to_have_text("Valide")
    await expect(page.locator("#referent")).to_contain_text("CPIP de la Guyane")
    match = FICHE.search(page.url)
    assert match
    person_id = match.group(1)
    await assert_accessible(page)
    await screenshot(page, "personne")

    await _settled(page)
    await page.get_by_role("link", name="Personnes", exact=True).first.click()
    await expect(page).to_have_url(re.compile(r"/personnes$"))
    await assert_accessible(page)
    for typed in ("0694 12 34 56", "eloise testeur"):
        await _search(page, typed)
        link = page.locator(f"#resultats a[href='/personnes/{person_id}']")
        await expect(link).to_have_text("TESTEUR-NAVIGATEUR Éloïse")
        await expect(page.locator("#resultats")).to_contain_text("0694 12 34 56")
        await expect(page).to_have_url(re.compile(r"/personnes$"))  # nothing typed in the URL
        await expect(page.locator("#q")).to_have_value(typed)
    await assert_accessible(page)

    # An impossible date: the field says why, in French.
    await _search(page, "31/02/1985")
    await expect(page.locator("#q-message")).to_have_text(re.compile("Cette date n'existe pas"))
    await assert_accessible(page)

    await _settled(page)
    await page.goto(f"/personnes/{person_id}")
    await page.get_by_role("button", name="Enregistrer le refus des SMS").click()
    await expect(page.locator("#statut-telephone")).to_have_text("Refus des SMS")
    await page.get_by_role("button", name="Annuler le refus des SMS").click()
    await expect(page.locator("#statut-telephone")).to_have_text("Valide")

    # A wrong number: the error summary takes the focus, the form keeps what was typed.
    await page.get_by_role("link", name="Modifier l'identité ou le téléphone").click()
    await expect(page.get_by_label("Téléphone mobile")).to_have_value("0694 12 34 56")
    await page.get_by_label("Téléphone mobile").fill("0694 12")
    await page.get_by_role("button", name="Enregistrer").click()
    summary = page.locator("#erreurs")
    await expect(summary).to_be_focused()
    await expect(summary.get_by_role("link")).to_have_text(
        re.compile("Téléphone mobile : Numéro de téléphone invalide")
    )
    await expect(page.get_by_label("Téléphone mobile")).to_have_value("0694 12")
    await assert_accessible(page)
    await page.get_by_label("Téléphone mobile").fill("+594 694 12 34 57")
    await page.get_by_role("button", name="Enregistrer").click()
    await expect(page.locator(".fr-alert--success")).to_be_visible()
    await expect(page.locator("#telephone")).to_contain_text("0694 12 34 57")

    # « Historique », closed by default, opens by keyboard: who changed what, never the values.
    history = page.get_by_role("button", name=re.compile(r"^Historique"))
    await expect(history).to_have_attribute("aria-expanded", "false")
    await expect(page.locator("#historique")).to_be_hidden()
    await history.focus()
    await history.press("Enter")
    await expect(history).to_have_attribute("aria-expanded", "true")
    latest = page.locator("#historique tbody tr").first
    await expect(latest).to_contain_text("CPIP de la Guyane")
    await expect(latest).to_contain_text("Modification")
    await expect(latest).to_contain_text("Téléphone")
    await expect(page.locator("#historique")).not_to_contain_text("0694")
    await assert_accessible(page)


async def test_a_likely_duplicate_is_shown_with_the_form_kept_then_confirmed(page: Any) -> None:
    await page.goto("/personnes/nouvelle")
    await log_in(page, CPIP)
    await _create(page, "Marius", "Doublon", "01/02/1990", "")
    await expect(page).to_have_url(FICHE)
    await _settled(page)
    await page.goto("/personnes/nouvelle")
    await _create(page, "MARIUS", "doublon", "01/02/1990", "")
    alert = page.locator("#doublons")
    await expect(alert).to_contain_text("Cette personne est peut-être déjà enregistrée")
    await expect(alert.get_by_role("link", name="DOUBLON Marius")).to_be_visible()
    await expect(page.get_by_label("Prénom")).to_have_value("MARIUS")
    await expect(page.get_by_label("Date de naissance")).to_have_value("01/02/1990")
    await assert_accessible(page)
    await page.get_by_role("button", name="Créer quand même").click()
    await expect(page).to_have_url(FICHE)


async def test_an_administrator_deletes_a_person_entered_by_mistake(page: Any) -> None:
    await page.goto("/personnes/nouvelle")
    await log_in(page, ADMIN)
    await _create(page, "Erreur", "Saisie-Navigateur", "02/03/1991", "")
    await expect(page).to_have_url(FICHE)
    match = FICHE.search(page.url)
    assert match
    person_id = match.group(1)
    await _settled(page)
    await page.get_by_role("link", name="Supprimer cette personne").click()
    await expect(page).to_have_url(re.compile(rf"/personnes/{person_id}/supprimer$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Supprimer Erreur Saisie-Navigateur"
    )
    await expect(page.locator(".fr-alert--warning")).to_contain_text("définitive")
    await expect(page.get_by_role("link", name="Annuler")).to_have_attribute(
        "href", f"/personnes/{person_id}"
    )
    await assert_accessible(page)
    await _settled(page)
    # By keyboard: the button takes the focus, Enter confirms.
    confirm = page.get_by_role("button", name="Supprimer définitivement")
    await confirm.focus()
    await expect(confirm).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(r"/personnes\?ok=supprimee$"))
    await expect(page.locator(".fr-alert--success")).to_have_text(
        re.compile("La personne est supprimée.")
    )
    await expect(page.get_by_role("heading", level=1)).to_have_text("Personnes suivies")
    await assert_accessible(page)
    await _search(page, "saisie-navigateur")
    await expect(page.locator(f"#resultats a[href='/personnes/{person_id}']")).to_have_count(0)
    await _settled(page)
    answer = await page.goto(f"/personnes/{person_id}")
    assert answer is not None and answer.status == 404
