"""The pages' rules, in process (no browser): headers, static caching, sessions, CSRF, the
login throttle's answer. The journeys themselves are in ``test_browser.py``."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.passwords import hash_now
from app.config import Settings
from app.main import create_app
from app.web import static, today, worklist
from app.web.security import csrf_token, csrf_valid
from app.web.sessions import safe_next
from tests.conftest import FIXED_NOW
from tests.factories import days, make_agent, make_appointment, make_person, make_place, make_spip

PASSWORD = "tortue violon nuage escalier"
CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


def client_of(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> httpx.AsyncClient:
    app = create_app(settings)
    app.state.sessionmaker = sessionmaker
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="https://test")


@pytest.fixture
async def web(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(settings, sessionmaker) as client:
        yield client


@pytest.fixture
async def email(session: AsyncSession) -> str:
    spip = await make_spip(session)
    agent = await make_agent(session, spip, password_hash=hash_now(PASSWORD))
    await session.commit()
    return agent.email


async def log_in(web: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    form = await web.get("/connexion")
    token = CSRF.search(form.text)
    assert token, form.text
    data = {"csrf": token.group(1), "email": email, "password": password, "suivant": "/"}
    return await web.post("/connexion", data=data)


async def test_pages_carry_the_security_headers_and_are_not_cached(web: httpx.AsyncClient) -> None:
    page = await web.get("/connexion")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    assert page.headers["cache-control"] == "no-store"
    assert '<html lang="fr">' in page.text
    assert "<script>" not in page.text and " style=" not in page.text  # nothing inline


async def test_api_answers_keep_their_own_headers(web: httpx.AsyncClient) -> None:
    for path in ("/api/v1/health", "/api/v1/auth/me", "/docs", "/openapi.json", "/health"):
        answer = await web.get(path)
        assert "content-security-policy" not in answer.headers, path
        assert "referrer-policy" not in answer.headers, path
    missing = await web.get("/api/v1/nulle-part")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


async def test_static_files_are_versioned_and_cached_for_a_year(web: httpx.AsyncClient) -> None:
    css = await web.get(static.url("dsfr/dsfr.min.css"))
    assert css.status_code == 200
    assert css.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert css.headers["content-type"].startswith("text/css")
    font = await web.get(static.url("dsfr/fonts/Marianne-Regular.woff2"))
    assert font.status_code == 200 and font.headers["content-type"] == "font/woff2"
    stale = await web.get("/static/0ld/dsfr/dsfr.min.css")  # a page from before a deployment
    assert stale.status_code == 200 and stale.headers["cache-control"] == "no-cache"
    assert (await web.get(static.url("dsfr/absent.css"))).status_code == 404
    assert (await web.get(static.url("../../config.py"))).status_code == 404


async def test_every_asset_the_layout_names_is_served(web: httpx.AsyncClient) -> None:
    page = await web.get("/connexion")
    urls = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)
    assert len(urls) >= 5
    for url in urls:
        assert (await web.get(url)).status_code == 200, url


@pytest.mark.parametrize(
    ("asked", "kept"),
    [
        ("/?lieu=3", "/?lieu=3"),
        ("/personnes?q=dupont", "/personnes?q=dupont"),
        (None, "/"),
        ("", "/"),
        ("https://exemple.com/", "/"),
        ("//exemple.com/", "/"),
        ("/\\exemple.com", "/"),
        ("\\\\exemple.com", "/"),
        ("/\texemple", "/"),
        ("javascript:alert(1)", "/"),
        ("exemple.com", "/"),
    ],
)
def test_after_login_only_paths_of_this_site(asked: str | None, kept: str) -> None:
    assert safe_next(asked) == kept


def test_a_csrf_token_belongs_to_one_session(settings: Settings) -> None:
    mine = csrf_token("session-a", settings)
    assert csrf_valid(mine, "session-a", settings)
    assert not csrf_valid(mine, "session-b", settings)
    assert not csrf_valid("", "session-a", settings)
    assert not csrf_valid(mine, None, settings)


async def test_the_session_cookie_is_http_only_and_lax(web: httpx.AsyncClient, email: str) -> None:
    answer = await log_in(web, email)
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if "convoc_session=" in c)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    # The test settings are not development: Secure, and bound to this host.
    assert cookie.startswith("__Host-convoc_session=") and "Secure" in cookie


async def test_the_cookie_holds_the_api_token(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], email: str
) -> None:
    dev = settings.model_copy(update={"env": "development"})
    async with client_of(dev, sessionmaker) as web:
        answer = await log_in(web, email)
        token = web.cookies["convoc_session"]
        assert answer.status_code == 303
        me = await web.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["email"] == email
        home = await web.get("/")
        assert home.status_code == 200 and home.headers["cache-control"] == "no-store"
        # htmx requests carry the token in a header; a POST without either is refused.
        refused = await web.post("/deconnexion", data={})
        assert refused.status_code == 403 and "Formulaire refusé" in refused.text
        header = CSRF.search(home.text)
        assert header
        out = await web.post("/deconnexion", headers={"X-CSRF-Token": header.group(1)})
        assert out.status_code == 303
        assert (
            await web.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        ).status_code == 401


async def test_an_htmx_request_without_session_is_sent_to_login(web: httpx.AsyncClient) -> None:
    answer = await web.get("/?lieu=2", headers={"HX-Request": "true"})
    assert answer.status_code == 401 and answer.headers["hx-redirect"] == "/connexion"
    plain = await web.get("/?lieu=2")
    assert (
        plain.status_code == 303 and plain.headers["location"] == "/connexion?suivant=/%3Flieu%3D2"
    )


async def test_the_login_throttle_answers_in_french_with_the_wait(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], email: str
) -> None:
    strict = settings.model_copy(update={"login_rate_limit": 2, "login_rate_window_minutes": 5})
    async with client_of(strict, sessionmaker) as web:
        assert (await log_in(web, email, "mauvais")).status_code == 401
        assert (await log_in(web, email, "mauvais")).status_code == 401
        refused = await log_in(web, email)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "300"
    assert "réessayez dans 5 minutes" in refused.text
    assert f'value="{email}"' in refused.text  # the form comes back filled


async def test_a_missing_activation_token_is_explained(web: httpx.AsyncClient) -> None:
    answer = await web.get("/activation")
    assert answer.status_code == 400
    assert "Lien d'activation invalide, expiré ou déjà utilisé." in html.unescape(answer.text)
    page = await web.get("/activation?token=abcdefghijkl")
    assert page.headers["referrer-policy"] == "no-referrer"  # the token is in its address


async def test_an_htmx_action_refused_replaces_the_page_content_only(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], email: str
) -> None:
    async with client_of(settings, sessionmaker) as web:
        await log_in(web, email)
        refused = await web.post(
            "/convocations/1/issue",
            data={"issue": "honored"},
            headers={"HX-Request": "true", "X-CSRF-Token": "f" * 64},
        )
    assert refused.status_code == 403
    assert refused.headers["hx-retarget"] == "#contenu"
    assert "<html" not in refused.text and "Formulaire refusé" in refused.text


async def test_an_unknown_convocation_is_introuvable(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], email: str
) -> None:
    async with client_of(settings, sessionmaker) as web:
        await log_in(web, email)
        home = await web.get("/")
        token = CSRF.search(home.text)
        assert token
        answer = await web.post(
            "/convocations/999999/issue", data={"csrf": token.group(1), "issue": "honored"}
        )
    assert answer.status_code == 404
    assert "Convocation introuvable." in answer.text and "<html" in answer.text


@pytest.mark.parametrize(
    ("waiting", "past", "agents", "percent", "expected"),
    [
        (5, 100, 1, None, False),  # an agent's own list: 5 is the limit, not above it
        (6, 100, 1, None, True),
        (40, 100, 10, 20, True),  # a service: 40 % waiting, though fewer than 10 × 5
        (20, 100, 10, 20, False),  # exactly the share: not above it
        (3, 0, 1, 20, False),  # nothing past to take a share of
    ],
)
def test_the_banner_warns_per_agent_or_on_a_services_share(
    waiting: int, past: int, agents: int, percent: int | None, expected: bool
) -> None:
    assert (
        worklist.warns(waiting, past, per_agent=5, agents=agents, service_percent=percent)
        is expected
    )


@pytest.mark.parametrize(("unrecorded", "warned"), [(3, True), (1, False)])
async def test_a_services_page_warns_when_a_fifth_of_its_past_convocations_wait(
    web: httpx.AsyncClient, session: AsyncSession, unrecorded: int, warned: bool
) -> None:
    """Mon Suivi Justice's second rule: 3 of 10 past convocations waiting is 30 % of the service,
    a warning, although 3 is below the 5 per agent."""
    spip = await make_spip(session)
    place = await make_place(session, spip)
    await make_agent(session, spip, role="cpip")
    secretariat = await make_agent(
        session, spip, role="secretariat", password_hash=hash_now(PASSWORD)
    )
    person = await make_person(session, spip)
    for n in range(12):
        status = "cancelled" if n >= 10 else ("booked" if n < unrecorded else "honored")
        await make_appointment(
            session, person, place, starts_at=FIXED_NOW - days(n + 1), status=status
        )
    await session.commit()
    assert (await log_in(web, secretariat.email)).status_code == 303
    banner = re.search(
        r'<div class="fr-alert fr-alert--(\w+)[^"]*" id="a-renseigner">', (await web.get("/")).text
    )
    assert banner is not None
    assert banner.group(1) == ("warning" if warned else "info")


async def test_a_services_day_is_paged_and_every_convocation_is_on_one_page(
    web: httpx.AsyncClient, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A whole service's day is paged (each row carries its outcome form): 7 convocations by
    pages of 3 are 3 pages, in time order, none shown twice, none left out."""
    monkeypatch.setattr(today, "SERVICE_PAGE_SIZE", 3)
    spip = await make_spip(session)
    place = await make_place(session, spip)
    secretariat = await make_agent(
        session, spip, role="secretariat", password_hash=hash_now(PASSWORD)
    )
    person = await make_person(session, spip)
    made = [
        await make_appointment(
            session, person, place, starts_at=FIXED_NOW + timedelta(minutes=20 * n)
        )
        for n in range(7)
    ]
    await session.commit()
    assert (await log_in(web, secretariat.email)).status_code == 303
    seen: list[int] = []
    for number in (1, 2, 3):
        page = (await web.get(f"/?page={number}")).text
        assert f"7 convocations aujourd&#39;hui — page {number} sur 3" in page or (
            f"7 convocations aujourd'hui — page {number} sur 3" in page
        )
        seen += [int(i) for i in re.findall(r'<tr id="convocation-(\d+)"', page)]
    assert seen == [a.id for a in made]
    assert 'aria-label="Pagination"' in (await web.get("/")).text


async def test_a_days_row_leads_to_the_convocation_and_the_person(
    web: httpx.AsyncClient, session: AsyncSession
) -> None:
    """From today's list an agent opens the convocation (its SMS) or the person's page."""
    spip = await make_spip(session)
    place = await make_place(session, spip)
    secretariat = await make_agent(
        session, spip, role="secretariat", password_hash=hash_now(PASSWORD)
    )
    person = await make_person(session, spip)
    appointment = await make_appointment(
        session, person, place, starts_at=FIXED_NOW + timedelta(hours=1)
    )
    await session.commit()
    assert (await log_in(web, secretariat.email)).status_code == 303
    page = (await web.get("/")).text
    row = page[page.index(f'<tr id="convocation-{appointment.id}"') :]
    row = row[: row.index("</tr>")]
    assert f'<a href="/convocations/{appointment.id}"' in row
    assert f'<a href="/personnes/{person.id}">' in row
