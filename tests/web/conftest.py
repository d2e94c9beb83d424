"""Browser tests: Playwright drives Debian's chromium against a real ``python -m app serve``.

One server per backend and one browser per module (a fresh context, i.e. fresh cookies, per
test) keep the run short. No browser can be downloaded here: chromium comes from the Debian
package (``.ci/run`` installs it). Without it the tests are skipped with a loud reason — and
fail under ``CI=true``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.db import create_engine
from tests.databases import BACKENDS, IN_CI
from tests.reminders.processes import stop
from tests.servers import Server, demo_database, start_server

# Debian's package; CONVOC_TEST_CHROMIUM points elsewhere (another distribution's path).
CHROMIUM = Path(os.environ.get("CONVOC_TEST_CHROMIUM", "/usr/bin/chromium"))
VIEWPORT = {"width": 1366, "height": 768}  # the agents' office screens (docs/UI.md)


_chromium_problem: list[str] = []


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    _chromium_problem.append(f"{CHROMIUM} absent")
    message = (
        f"\n{'!' * 72}\n  {CHROMIUM} absent : les tests dans un navigateur ne tournent pas.\n"
        "  Installez-le : apt-get install -y chromium (.ci/run le fait).\n"
        f"{'!' * 72}"
    )
    if IN_CI:
        pytest.fail("CI=true : les tests dans un navigateur sont obligatoires." + message)
    pytest.skip(message)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _chromium_problem:
        terminalreporter.section(
            "PAGES NON TESTÉES DANS UN NAVIGATEUR", sep="!", red=True, bold=True
        )
        terminalreporter.write_line(
            f"{_chromium_problem[0]} : installez le paquet Debian chromium (.ci/run le fait).",
            red=True,
            bold=True,
        )


@pytest.fixture(scope="module", params=BACKENDS)
def web_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated database with the demo, shared by a module's tests on one backend."""
    _require_chromium()
    with demo_database(request.param, "convoc-web-") as url:
        yield url


@pytest.fixture(scope="module")
async def web_engine(web_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(Settings(env="test", secret_key="k" * 40), web_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="module")
async def web_server(
    web_url: str, web_engine: AsyncEngine, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    log = tmp_path_factory.mktemp("web") / "server.log"
    # No dispatcher: the pages are under test, not the SMS (and it would contend on SQLite).
    running = await start_server(web_url, web_engine, log, CONVOC_WORKER_EMBEDDED="false")
    try:
        yield running
    finally:
        stop(running.process)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    _require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        # The browser's own language sets how date and time fields read (« jj/mm/aaaa », 24 h):
        # the context's locale does not. French needs Debian's chromium-l10n.
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-dev-shm-usage", "--lang=fr-FR"],
            env={**os.environ, "LANGUAGE": "fr"},
        )
        try:
            yield browser
        finally:
            await browser.close()


PageMaker = Callable[..., Awaitable[Any]]


@pytest.fixture
async def pages(browser: Any) -> AsyncIterator[PageMaker]:
    """Opens pages on any server (``await pages(server, **context_options)``), each in a fresh
    context (no cookies); every console error (a CSP violation, a failed asset) is kept in
    ``page.errors``. The contexts close after the test."""
    contexts: list[Any] = []

    async def open_page(server: Server, **options: Any) -> Any:
        options = {"viewport": VIEWPORT, "locale": "fr-FR", **options}
        context = await browser.new_context(base_url=server.base, **options)
        contexts.append(context)
        page = await context.new_page()
        page.set_default_timeout(10_000)
        _watch(page)
        return page

    try:
        yield open_page
    finally:
        for context in contexts:
            await context.close()


@pytest.fixture
async def page(pages: PageMaker, web_server: Server) -> Any:
    """A page on the module's server in a fresh context."""
    return await pages(web_server)


def _watch(page: Any) -> None:
    errors: list[str] = []

    def on_console(message: Any) -> None:
        # A page answered 401 or 422 on purpose is logged as a failed load: assets are
        # checked below, by their responses.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    def on_response(response: Any) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            errors.append(f"{response.status} {response.url}")

    page.on("console", on_console)
    page.on("response", on_response)

    def on_failed(request: Any) -> None:
        # A navigation (a form posted, a link followed) aborts the old page's pending loads:
        # that is the browser's doing, not a missing asset (those answer >= 400, above).
        if request.failure != "net::ERR_ABORTED":
            errors.append(f"échec {request.url} ({request.failure})")

    page.on("requestfailed", on_failed)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
