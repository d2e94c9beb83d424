"""Journeys in a real browser, on SQLite and PostgreSQL: logging in and out, today's page,
errors kept in French DSFR alerts, CSRF, expired sessions, the keyboard, accessibility."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import anyio
import httpx
import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import expect
from sqlalchemy import func, select, update

from app.models import AccessToken, Agent, Appointment, Person
from tests.reminders.processes import stop
from tests.servers import DEMO_PASSWORD, Server, start_server
from tests.web.conftest import PageMaker

CPIP = "cpip@guyane.demo.convoc.fr"
SECRETARIAT = "secretariat@guyane.demo.convoc.fr"
SERIOUS = ("serious", "critical")
_axe = Axe()


async def assert_accessible(page: Any) -> None:
    """axe-core on the page as shown: no serious or critical violation; and nothing refused by
    the content security policy, nor any script error, on the way."""
    results = await _axe.run(page)
    bad = [v for v in results.response["violations"] if v["impact"] in SERIOUS]
    assert not bad, "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']]}" for v in bad
    )
    assert not page.errors, page.errors


async def screenshot(page: Any, name: str) -> None:
    """With ``CONVOC_SCREENSHOTS=<folder>``, keep the page as shown (docs/screenshots/ holds a
    few, made so: ``CONVOC_SCREENSHOTS=docs/screenshots pytest tests/web``)."""
    if folder := os.environ.get("CONVOC_SCREENSHOTS"):
        await anyio.Path(folder).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=f"{folder}/{name}.png", full_page=True)


async def log_in(page: Any, email: str = CPIP, password: str = DEMO_PASSWORD) -> None:
    await page.get_by_label("Adresse électronique").fill(email)
    await page.locator("#password").fill(password)
    await page.get_by_role("button", name="Se connecter").click()


async def test_a_cpip_logs_in_sees_the_day_in_cayenne_time_and_logs_out(page: Any) -> None:
    await page.goto("/")
    await expect(page).to_have_url(re.compile(r"/connexion$"))
    await expect(page.locator("html")).to_have_attribute("lang", "fr")
    await assert_accessible(page)

    await log_in(page)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Mes convocations du jour")
    table = page.locator("#convocations-du-jour table")
    await expect(table.locator("caption")).to_have_text("4 convocations aujourd'hui")
    # The demo's first convocation of the day: 9h00 at the Cayenne antenna, in Cayenne time.
    first = table.locator("tbody tr").first
    await expect(first.locator("th")).to_have_text("9h00 (heure de Cayenne)")
    await expect(page.get_by_text("CPIP de la Guyane · SPIP de la Guyane").first).to_be_visible()
    await assert_accessible(page)

    await page.get_by_role("button", name="Se déconnecter").click()
    await expect(page).to_have_url(re.compile(r"/connexion\?info=deconnecte$"))
    await expect(page.get_by_text("Vous êtes déconnecté.")).to_be_visible()
    await page.goto("/")  # the token is revoked: back to the login page
    await expect(page).to_have_url(re.compile(r"/connexion$"))


async def test_a_secretariat_sees_the_service_and_filters_by_agent(page: Any) -> None:
    await page.goto("/connexion")
    await log_in(page, SECRETARIAT)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Convocations du jour")
    rows = page.locator("#convocations-du-jour tbody tr")
    await expect(rows).to_have_count(4)
    await screenshot(page, "accueil-secretariat")
    await page.get_by_label("Agent").select_option(label="DPIP de la Guyane")
    await page.get_by_role("button", name="Filtrer").click()
    await expect(page).to_have_url(re.compile(r"\?agent=\d+&lieu=$"))
    await expect(
        page.get_by_text("Aucune convocation aujourd'hui avec ces filtres.")
    ).to_be_visible()
    await assert_accessible(page)


async def test_a_secretariat_filters_by_place(page: Any) -> None:
    # Hauts-de-Seine has two places; the demo spreads today's four convocations over them.
    await page.goto("/connexion")
    await log_in(page, "secretariat@hauts-de-seine.demo.convoc.fr")
    rows = page.locator("#convocations-du-jour tbody tr")
    await expect(rows).to_have_count(4)
    place = await page.locator("#lieu option").nth(1).text_content()
    await page.get_by_label("Lieu").select_option(label=place)
    await page.get_by_role("button", name="Filtrer").click()
    await expect(rows).to_have_count(2)
    await expect(page.locator("#convocations-du-jour caption")).to_have_text(
        "2 convocations aujourd'hui"
    )
    for cell in await rows.locator("td:nth-child(3)").all():
        await expect(cell).to_have_text(place)
    # Paris is the agents' own zone: no « heure de … » after the times.
    await expect(rows.first.locator("th")).to_have_text(re.compile(r"^\d{1,2}h\d\d$"))

    # The worklist has the same filters, in its URL too.
    await page.get_by_role("link", name="À renseigner").click()
    await page.get_by_label("Agent").select_option(label="DPIP des Hauts-de-Seine")
    await page.get_by_role("button", name="Filtrer").click()
    await expect(page).to_have_url(re.compile(r"/a-renseigner\?agent=\d+&lieu=$"))
    await expect(page.get_by_text("Aucune convocation passée n'attend son issue.")).to_be_visible()
    await assert_accessible(page)


async def test_a_wrong_password_shows_the_error_and_keeps_the_email(page: Any) -> None:
    await page.goto("/connexion")
    await log_in(page, CPIP, "pas le bon mot de passe")
    alert = page.locator(".fr-alert--error")
    await expect(alert).to_have_text(
        re.compile("Identifiants invalides, ou compte temporairement verrouillé.")
    )
    await expect(alert).to_be_focused()  # the error summary takes the focus
    await expect(page.get_by_label("Adresse électronique")).to_have_value(CPIP)
    await expect(page.locator("#password")).to_have_value("")
    await assert_accessible(page)
    await screenshot(page, "connexion-erreur")

    # An empty form: each missing field named in the summary, linked, and marked on the field.
    await page.get_by_label("Adresse électronique").fill("")
    await page.get_by_role("button", name="Se connecter").click()
    await expect(page.locator(".fr-alert--error a[href='#email']")).to_be_visible()
    await expect(page.locator("#email")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#password-message")).to_have_text("Saisissez votre mot de passe.")
    await assert_accessible(page)


async def test_a_form_posted_without_its_csrf_token_is_refused(page: Any) -> None:
    await page.goto("/connexion")
    await page.locator("input[name=csrf]").evaluate("input => input.remove()")
    await log_in(page)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Formulaire refusé")
    await assert_accessible(page)

    await page.goto("/connexion")
    await log_in(page)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Mes convocations du jour")
    # Logging out with a forged token is refused too, and the session stays open.
    await page.locator("form[action='/deconnexion'] input[name=csrf]").first.evaluate(
        "input => { input.value = 'a'.repeat(64) }"
    )
    await page.get_by_role("button", name="Se déconnecter").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Formulaire refusé")
    await page.goto("/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Mes convocations du jour")


async def test_an_expired_session_returns_to_login_then_to_the_page_asked(
    page: Any, web_server: Server
) -> None:
    await page.goto("/connexion")
    await log_in(page, SECRETARIAT)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Convocations du jour")
    place = await page.locator("#lieu option").nth(1).get_attribute("value")

    # Two hours without a request: past the idle timeout (60 minutes).
    async with web_server.engine.begin() as conn:
        agent_id = await conn.scalar(select(Agent.id).where(Agent.email == SECRETARIAT))
        await conn.execute(
            update(AccessToken)
            .where(AccessToken.agent_id == agent_id)
            .values(last_used_at=datetime.now(UTC) - timedelta(hours=2))
        )
    await page.goto(f"/?lieu={place}")
    await expect(page).to_have_url(re.compile(r"/connexion\?suivant="))
    assert unquote(page.url.split("suivant=", 1)[1]) == f"/?lieu={place}"
    await log_in(page, SECRETARIAT)
    await expect(page).to_have_url(re.compile(rf"/\?lieu={place}$"))
    await expect(page.get_by_label("Lieu")).to_have_value(str(place))


async def test_login_never_sends_elsewhere(page: Any) -> None:
    await page.goto("/connexion?suivant=//exemple.com/piege")
    await log_in(page)
    await expect(page).to_have_url(re.compile(r"^http://127\.0\.0\.1:\d+/$"))


async def test_keyboard_only_login(page: Any) -> None:
    await page.goto("/connexion")

    async def tab_to(selector: str, limit: int = 15) -> None:
        for _ in range(limit):
            await page.keyboard.press("Tab")
            if await page.evaluate(f"document.activeElement.matches({selector!r})"):
                return
        raise AssertionError(f"{selector} jamais atteint au clavier")

    await tab_to("a[href='#contenu']")  # the first skip link
    await page.keyboard.press("Enter")
    await tab_to("#email", limit=3)
    await page.keyboard.type(CPIP)
    await tab_to("#password", limit=2)
    await page.keyboard.type(DEMO_PASSWORD)
    await tab_to("button[type=submit]", limit=3)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Mes convocations du jour")
    await tab_to("form[action='/deconnexion'] button", limit=20)
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(r"/connexion\?info=deconnecte$"))


async def test_a_new_agent_activates_the_account_with_the_rules_explained(
    page: Any, web_server: Server
) -> None:
    async with httpx.AsyncClient(base_url=web_server.base + "/api/v1") as api:
        answer = await api.post(
            "/auth/token",
            data={"username": "admin@guyane.demo.convoc.fr", "password": DEMO_PASSWORD},
        )
        api.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        created = await api.post(
            "/agents",
            json={
                "spip_id": 2,
                "name": "Nouvelle CPIP",
                "email": "nouvelle.cpip@guyane.demo.convoc.fr",
                "role": "cpip",
            },
        )
        assert created.status_code == 201, created.text
    token = created.json()["activation_token"]

    await page.goto(f"/activation?token={token}")
    await expect(page.get_by_text("au moins 12 caractères")).to_be_visible()
    await assert_accessible(page)
    await screenshot(page, "activation")
    await page.locator("#password").fill("Guyane-2026!")
    await page.locator("#confirmation").fill("Guyane-2026!")
    await page.get_by_role("button", name="Enregistrer le mot de passe").click()
    await expect(page.locator("#password-message")).to_contain_text("trop facile à deviner")
    await expect(page.locator(".fr-alert--error")).to_be_focused()
    await assert_accessible(page)

    phrase = "tortue violon nuage escalier"
    await page.locator("#password").fill(phrase)
    await page.locator("#confirmation").fill(phrase)
    await page.get_by_role("button", name="Enregistrer le mot de passe").click()
    await expect(page).to_have_url(re.compile(r"/connexion\?info=active$"))
    await log_in(page, "nouvelle.cpip@guyane.demo.convoc.fr", phrase)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Mes convocations du jour")
    await expect(page.get_by_text("Aucune convocation aujourd'hui.")).to_be_visible()
    await assert_accessible(page)

    await page.goto(f"/activation?token={token}")  # a used link
    await page.locator("#password").fill(phrase)
    await page.locator("#confirmation").fill(phrase)
    await page.get_by_role("button", name="Enregistrer le mot de passe").click()
    await expect(page.locator(".fr-alert--error")).to_contain_text("déjà utilisé")


async def test_an_unknown_page_is_a_french_page(page: Any) -> None:
    answer = await page.goto("/nulle-part")
    assert answer.status == 404
    await expect(page.get_by_role("heading", level=1)).to_have_text("Page introuvable")
    await assert_accessible(page)


async def upcoming_convocations(engine: Any, email: str) -> list[tuple[int, datetime]]:
    """A demo CPIP's booked convocations of their next working day after today, in order."""
    async with engine.connect() as conn:
        agent_id = await conn.scalar(select(Agent.id).where(Agent.email == email))
        rows = (
            await conn.execute(
                select(Appointment.id, Appointment.starts_at)
                .where(
                    Appointment.agent_id == agent_id,
                    Appointment.status == "booked",
                    Appointment.starts_at > datetime.now(UTC) + timedelta(days=1),
                )
                .order_by(Appointment.starts_at)
                .limit(20)
            )
        ).all()
    first_day = rows[0][1].astimezone(ZoneInfo("America/Cayenne")).date()
    return [
        (i, _utc(at))
        for i, at in rows
        if _utc(at).astimezone(ZoneInfo("America/Cayenne")).date() == first_day
    ]


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite reads naive UTC


@pytest.fixture
async def server_later(web_server: Server, tmp_path: Path) -> AsyncIterator[Server]:
    """A second server on the same database whose clock stands five minutes after the start of
    the Guyane CPIP's next day's first convocation (CONVOC_CLOCK_STARTS_AT: the clock is
    injected, the data is left as booked)."""
    (_, first_start), *_ = await upcoming_convocations(web_server.engine, CPIP)
    later = (first_start + timedelta(minutes=5)).isoformat()
    running = await start_server(
        web_server.url,
        web_server.engine,
        tmp_path / "later.log",
        CONVOC_WORKER_EMBEDDED="false",
        CONVOC_CLOCK_STARTS_AT=later,
    )
    try:
        yield running
    finally:
        stop(running.process)


async def test_one_click_outcome_then_withdrawn_with_htmx(
    pages: PageMaker, web_server: Server, server_later: Server
) -> None:
    """The outcome is offered once the convocation has started, on the server's clock (a server
    whose clock is injected to stand just after a real demo convocation's start)."""
    (appointment_id, _), *later_ones = await upcoming_convocations(web_server.engine, CPIP)
    page = await pages(server_later)
    await page.goto("/connexion")
    await log_in(page, CPIP)
    row = page.locator(f"#convocation-{appointment_id}")
    await expect(row.locator(".fr-badge").first).to_have_text("À renseigner")
    for later_id, _ in later_ones:  # not started yet on that clock: no outcome to record
        later_row = page.locator(f"#convocation-{later_id}")
        await expect(later_row).to_contain_text("Issue à saisir après le début")
        await expect(later_row.get_by_role("button")).to_have_count(0)
    await assert_accessible(page)

    await row.get_by_role("button", name=re.compile("^Non honorée")).click()
    await expect(row.locator(".fr-badge").first).to_have_text("Non honorée")
    await expect(row.get_by_role("status")).to_have_text("Issue enregistrée.")
    await expect(page.locator(f"#statut-{appointment_id}")).to_be_focused()
    assert page.url.endswith("/")  # the row changed in place: no page load
    await assert_accessible(page)
    await screenshot(page, "accueil-cpip-issue")

    await row.get_by_role("button", name=re.compile("^Retirer l'issue")).click()
    await expect(row.locator(".fr-badge").first).to_have_text("À renseigner")
    await expect(row.get_by_role("status")).to_have_text("Issue retirée.")

    # Stored: a full reload shows it; the API reads the same.
    await row.get_by_role("button", name=re.compile("^Honorée")).click()
    await expect(row.get_by_role("status")).to_have_text("Issue enregistrée.")
    await page.reload()
    await expect(row.locator(".fr-badge").first).to_have_text("Honorée")

    # Without its CSRF token (header and field), the same request is refused.
    refused = await page.request.post(
        f"/convocations/{appointment_id}/issue", form={"issue": "missed"}
    )
    assert refused.status == 403


async def test_another_spips_convocation_is_introuvable(page: Any, web_server: Server) -> None:
    async with web_server.engine.connect() as conn:
        elsewhere = await conn.scalar(
            select(Appointment.id).where(Appointment.spip_id == 1).limit(1)
        )
    await page.goto("/connexion")
    await log_in(page)  # a CPIP of Guyane
    token = await page.locator("form[action='/deconnexion'] input[name=csrf]").first.input_value()
    answer = await page.request.post(
        f"/convocations/{elsewhere}/issue", form={"csrf": token, "issue": "honored"}
    )
    assert answer.status == 404
    assert "Convocation introuvable" in await answer.text()


async def test_on_a_phone_the_menu_opens_with_dsfr_script(browser: Any, web_server: Server) -> None:
    """DSFR's JavaScript runs under the strict policy: its menu button opens the menu."""
    context = await browser.new_context(
        base_url=web_server.base, viewport={"width": 375, "height": 667}
    )
    try:
        page = await context.new_page()
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        await page.goto("/connexion")
        await log_in(page)
        await page.get_by_role("button", name="Menu").click()
        menu = page.locator("#menu")
        await expect(menu.get_by_role("link", name="Accueil")).to_be_visible()
        await expect(menu.get_by_role("button", name="Se déconnecter")).to_be_visible()
        await assert_accessible(page)
    finally:
        await context.close()


async def test_without_javascript_the_forms_still_work(
    pages: PageMaker, web_server: Server, server_later: Server
) -> None:
    """No htmx: the outcome form posts, and the browser comes back to the day's page."""
    (appointment_id, _), *_ = await upcoming_convocations(web_server.engine, CPIP)
    page = await pages(server_later, java_script_enabled=False)
    await page.goto("/connexion")
    await log_in(page, CPIP)
    row = page.locator(f"#convocation-{appointment_id}")
    await row.get_by_role("button", name=re.compile("^Excusée")).click()
    await expect(page).to_have_url(re.compile(r"/$"))
    await expect(row.locator(".fr-badge").first).to_have_text("Excusée")
    await page.get_by_role("button", name="Se déconnecter").click()
    await expect(page).to_have_url(re.compile(r"/connexion\?info=deconnecte$"))


async def test_the_banner_counts_what_waits_and_the_worklist_records_it(
    page: Any, web_server: Server
) -> None:
    email = "cpip@hauts-de-seine.demo.convoc.fr"
    now = datetime.now(UTC)
    async with web_server.engine.begin() as conn:
        agent_id = await conn.scalar(select(Agent.id).where(Agent.email == email))
        past = (
            await conn.scalars(
                select(Appointment.id)
                .where(
                    Appointment.agent_id == agent_id,
                    Appointment.starts_at < now - timedelta(days=3),
                    Appointment.starts_at > now - timedelta(days=150),
                )
                .order_by(Appointment.starts_at)
                .limit(2)
            )
        ).all()
        await conn.execute(
            update(Appointment)
            .where(Appointment.id.in_(past))
            .values(status="booked", outcome_recorded_at=None, outcome_recorded_by_id=None)
        )
        waiting = await conn.scalar(
            select(func.count()).where(
                Appointment.agent_id == agent_id,
                Appointment.status == "booked",
                Appointment.starts_at < now,
                Appointment.starts_at > now - timedelta(days=182),
            )
        )
    await page.goto("/connexion")
    await log_in(page, email)
    banner = page.locator("#a-renseigner")
    await expect(banner).to_contain_text(f"{waiting} convocations passées restent sans issue")
    await banner.get_by_role("link", name="Les renseigner").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("À renseigner")
    rows = page.locator("#convocations-a-renseigner tbody tr")
    await expect(rows).to_have_count(waiting)
    oldest = rows.first
    assert await oldest.get_attribute("id") == f"convocation-{past[0]}"  # oldest first
    await assert_accessible(page)
    await screenshot(page, "a-renseigner")

    await oldest.get_by_role("button", name=re.compile("^Honorée")).click()
    await expect(oldest.get_by_role("status")).to_have_text("Issue enregistrée.")
    await expect(oldest.locator("th")).to_contain_text(" 20")  # the date is kept in the row
    await page.reload()
    await expect(rows).to_have_count(waiting - 1)


async def test_the_journeys_left_no_personal_data_in_the_log(web_server: Server) -> None:
    """Last of the module: after every journey above, the server's log holds no e-mail, no
    password, no person's name, no token (the access log writes paths without their query)."""
    text = web_server.log.read_text()
    assert "POST /connexion" in text  # the log is the server's, and it was written
    async with web_server.engine.connect() as conn:
        names = (await conn.execute(select(Person.last_name).where(Person.spip_id == 2))).all()
    for secret in (CPIP, SECRETARIAT, DEMO_PASSWORD, "tortue", "token=", *(n for (n,) in names)):
        assert secret not in text, secret
