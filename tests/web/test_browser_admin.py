"""Administration in a real browser, on SQLite and PostgreSQL, on the demo's data: the Guyane
SPIP's local administrator adds a place (its zone chosen in the territories' list), creates an
agent, copies the one-time activation link, logs out; the new agent opens the link in the same
browser, chooses a password and logs in; an administrator corrects an agent's name (an e-mail
already taken refused on its field first). A CPIP gets the French 403 page. axe-core on every
page; ``docs/screenshots/administration-agents.png`` and ``administration-lieu.png``."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import expect

from tests.servers import Server
from tests.web.conftest import PageMaker
from tests.web.test_browser import CPIP, assert_accessible, log_in, screenshot

ADMIN = "admin@guyane.demo.convoc.fr"
PHRASE = "girafe piano orage colline"
TOKENS: list[str] = []  # the activation tokens shown, looked for in the log at the end


async def test_a_local_admin_adds_a_place_with_a_zone_from_the_list(page: Any) -> None:
    await page.goto("/administration")
    await log_in(page, ADMIN)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Administration du SPIP")
    await expect(page.get_by_role("link", name="Administration", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    await assert_accessible(page)
    await page.get_by_role("link", name="Lieux", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Lieux de convocation")
    await assert_accessible(page)
    await page.get_by_role("link", name="Ajouter un lieu").click()
    await expect(page.get_by_label("Fuseau horaire")).to_have_value("America/Cayenne")
    await assert_accessible(page)
    await page.get_by_label("Nom", exact=True).fill("Antenne de Saint-Laurent-du-Maroni")
    await page.get_by_label("Adresse").fill("12 rue Hector Rivierez, Saint-Laurent-du-Maroni")
    await page.get_by_label("Lien vers les informations pratiques").fill("pas un lien")
    await page.get_by_role("button", name="Enregistrer").click()
    await expect(page.locator("#erreurs")).to_be_focused()
    await expect(page.locator("#infos-message")).to_be_visible()
    await expect(page.get_by_label("Nom", exact=True)).to_have_value(
        "Antenne de Saint-Laurent-du-Maroni"
    )
    await assert_accessible(page)
    await page.get_by_label("Lien vers les informations pratiques").fill(
        "https://www.justice.fr/saint-laurent"
    )
    await page.get_by_label("Fuseau horaire").select_option(label="Guyane (Cayenne)")
    await page.get_by_role("button", name="Enregistrer").click()
    await expect(page).to_have_url(re.compile(r"/administration/lieux/\d+\?ok=cree$"))
    await expect(page.locator(".fr-alert--success")).to_contain_text("Le lieu est enregistré.")
    await expect(page.get_by_label("Lieu actif")).to_be_checked()
    await assert_accessible(page)
    await screenshot(page, "administration-lieu")


async def test_a_new_agent_activates_the_account_through_the_copied_link(
    pages: PageMaker, web_server: Server
) -> None:
    page = await pages(web_server, permissions=["clipboard-read", "clipboard-write"])
    await page.goto("/administration/agents")
    await log_in(page, ADMIN)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Agents")
    await assert_accessible(page)
    await page.get_by_role("link", name="Créer un compte").click()
    await assert_accessible(page)
    await page.get_by_label("Nom").fill("Léa Navigateur")
    await page.get_by_label("Adresse électronique").fill("lea.navigateur@guyane.demo.convoc.fr")
    await page.get_by_label("Rôle").select_option(label="CPIP")
    await page.get_by_role("button", name="Créer le compte").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Lien d'activation de Léa Navigateur"
    )
    field = page.get_by_label("Lien d'activation")
    link = await field.input_value()
    TOKENS.append(link.split("token=")[1])
    assert re.fullmatch(re.escape(web_server.base) + r"/activation\?token=[\w-]{40,}", link)
    await assert_accessible(page)
    await page.get_by_role("button", name="Copier le lien").click()
    await expect(page.locator("#copier-lien-etat")).to_have_text(
        "Lien copié dans le presse-papiers."
    )
    assert await page.evaluate("navigator.clipboard.readText()") == link
    # Shown once: the account's page does not hold it.
    await page.get_by_role("link", name="Voir le compte").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Léa Navigateur")
    assert link.split("token=")[1] not in await page.content()
    await assert_accessible(page)
    await page.get_by_role("link", name="Agents").first.click()
    await expect(page.get_by_role("link", name="Léa Navigateur")).to_be_visible()
    await screenshot(page, "administration-agents")

    await page.get_by_role("button", name="Se déconnecter").click()
    await expect(page).to_have_url(re.compile(r"/connexion"))
    await page.goto(link)
    await page.locator("#password").fill(PHRASE)
    await page.locator("#confirmation").fill(PHRASE)
    await page.get_by_role("button", name="Enregistrer le mot de passe").click()
    await expect(page).to_have_url(re.compile(r"/connexion\?info=active$"))
    await log_in(page, "lea.navigateur@guyane.demo.convoc.fr", PHRASE)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Mes convocations du jour")
    await expect(page.get_by_role("link", name="Administration", exact=True)).to_have_count(0)


async def test_a_cpip_gets_the_french_403_page(page: Any) -> None:
    await page.goto("/administration")
    await log_in(page, CPIP)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Action impossible")
    await expect(page.get_by_role("link", name="Administration", exact=True)).to_have_count(0)
    await assert_accessible(page)
    for path in ("/administration/agents", "/administration/lieux/nouveau"):
        answer = await page.goto(path)
        assert answer.status == 403, path


async def test_the_sender_and_the_journal_pages(page: Any) -> None:
    await page.goto("/administration/expediteur")
    await log_in(page, ADMIN)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Nom d'expéditeur des SMS")
    await assert_accessible(page)
    await page.get_by_label("Nom d'expéditeur").fill("SPIPÉ973")
    await page.get_by_role("button", name="Enregistrer").click()
    await expect(page.locator("#erreurs")).to_be_focused()
    await expect(page.locator("#expediteur-message")).to_contain_text("sans accent")
    await expect(page.get_by_label("Nom d'expéditeur")).to_have_value("SPIPÉ973")
    await assert_accessible(page)
    await page.get_by_label("Nom d'expéditeur").fill("SPIP973")
    await page.get_by_role("button", name="Enregistrer").click()
    await expect(page.locator(".fr-alert--success")).to_contain_text("est enregistré")

    await page.goto("/administration/journal")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Journal d'audit")
    await assert_accessible(page)
    await page.get_by_label("Type d'élément").select_option(label="Règles de rappel")
    await page.get_by_role("button", name="Filtrer").click()
    await expect(page).to_have_url(re.compile(r"entite=reminder_policy"))
    await expect(page.locator("tbody tr").first).to_contain_text("Règles de rappel")
    await assert_accessible(page)


async def test_the_national_administrator_lists_the_spips(page: Any) -> None:
    await page.goto("/administration")
    await log_in(page, "admin@demo.convoc.fr")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Administration nationale")
    await expect(page.get_by_role("link", name="SPIP de la Guyane", exact=True)).to_be_visible()
    await assert_accessible(page)
    await page.get_by_role("link", name="Créer un SPIP").click()
    await expect(page.get_by_label("Fuseau horaire")).to_have_value("Europe/Paris")
    await assert_accessible(page)
    await page.get_by_label("Code").fill("SPIP-PF-TEST")
    await page.get_by_label("Nom", exact=True).fill("SPIP de la Polynésie française")
    await page.get_by_label("Fuseau horaire").select_option(label="Polynésie française (Tahiti)")
    await page.get_by_label("Région téléphonique").select_option(label="Polynésie française")
    await page.get_by_role("button", name="Enregistrer").click()
    await expect(page.locator(".fr-alert--success")).to_have_text(re.compile("Le SPIP est créé."))
    await page.get_by_role("link", name="Administrer ce SPIP").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Administration du SPIP")
    await expect(page.get_by_text("Polynésie française (Tahiti)")).to_be_visible()
    await assert_accessible(page)


async def test_an_administrator_corrects_an_agents_name(page: Any) -> None:
    """« Nom et adresse électronique » on the agent's page: an e-mail already taken comes back
    on its field (the summary focused, what was typed kept), then the corrected name is saved."""
    await page.goto("/administration/agents")
    await log_in(page, ADMIN)
    await page.get_by_role("link", name="DPIP de la Guyane").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("DPIP de la Guyane")
    await assert_accessible(page)
    await page.locator("#nom").fill("Rose Dufour")
    await page.locator("#email").fill(CPIP)
    await page.get_by_role("button", name="Enregistrer le nom et l'adresse").click()
    await expect(page.locator("#erreurs")).to_be_focused()
    await expect(page.locator("#email-message")).to_have_text(
        "Un agent utilise déjà cette adresse électronique."
    )
    await expect(page.locator("#nom")).to_have_value("Rose Dufour")
    await assert_accessible(page)
    await page.locator("#email").fill("dpip@guyane.demo.convoc.fr")
    await page.locator("#email").press("Enter")
    await expect(page).to_have_url(re.compile(r"/administration/agents/\d+\?ok=identite$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Rose Dufour")
    await expect(page.locator(".fr-alert--success")).to_contain_text(
        "Le nom et l'adresse électronique sont enregistrés."
    )
    await assert_accessible(page)
    await page.get_by_role("link", name="Agents").first.click()
    await expect(page.get_by_role("link", name="Rose Dufour")).to_be_visible()


async def test_the_admin_journeys_left_no_token_or_address_in_the_log(web_server: Server) -> None:
    """Last of the module: the activation link, the new agent's address and password, and the
    names typed never reached the server's log."""
    text = web_server.log.read_text()
    assert "POST /administration/agents/nouveau" in text  # the log is the server's
    assert TOKENS
    for secret in (
        *TOKENS,
        "token=",
        "lea.navigateur",
        "Léa Navigateur",
        "Rose Dufour",
        PHRASE,
        "SPIPÉ973",
    ):
        assert secret not in text, secret
