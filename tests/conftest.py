"""Test fixtures: every database test runs on SQLite **and** PostgreSQL.

Each backend gets a fresh database built by the migrations (never ``create_all``). Each test runs
inside a transaction that is rolled back; requests made through the API client open their own
sessions on that same connection, with savepoints, so the service code commits as in production.

PostgreSQL comes from ``CONVOC_TEST_POSTGRES_URL``. When it is unreachable the PostgreSQL half is
skipped with a loud message, except under ``CI=true`` where that is a failure.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app.auth.service import issue_token
from app.cli import run_migrations
from app.config import Settings
from app.core import clock as app_clock
from app.db import create_engine
from app.main import create_app
from app.models import Agent

# A fixed "now" for every test: a Friday in January, far from any DST change.
FIXED_NOW = datetime(2027, 1, 15, 10, 0, tzinfo=UTC)

from tests.databases import (  # noqa: E402 (re-exported: test modules import them from here)
    BACKENDS,
    _create_postgres_database,
    _drop_postgres_database,
    _postgres_problem,
)
from tests.servers import fresh_engine, fresh_url, server  # noqa: E402, F401 (fixtures)


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, migrated database for one backend, dropped at the end of the session."""
    if request.param == "postgres":
        url = _create_postgres_database()
        try:
            run_migrations(url)
            yield url
        finally:
            _drop_postgres_database(url)
    else:
        with tempfile.TemporaryDirectory(prefix="convoc-test-") as folder:
            url = f"sqlite+aiosqlite:///{Path(folder) / 'convoc.db'}"
            run_migrations(url)
            yield url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    # Tests move the clock by days: their tokens must not lapse (auth tests use real limits).
    return Settings(env="test", database_url=database_url, secret_key="x" * 40).model_copy(
        update={"token_idle_minutes": 10**7, "token_lifetime_hours": 10**6}
    )


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        transaction = await conn.begin()
        try:
            yield conn
        finally:
            await transaction.rollback()


@pytest.fixture
def sessionmaker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        bind=connection,
        expire_on_commit=False,
        autoflush=False,
        join_transaction_mode="create_savepoint",
    )


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


ClientFactory = Callable[[Agent | None], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def client_for(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> ClientFactory:
    """An API client acting as ``agent`` (with a fresh bearer token), or anonymous for None."""

    app = create_app(settings)
    app.state.sessionmaker = sessionmaker

    @asynccontextmanager
    async def make(agent: Agent | None) -> AsyncIterator[httpx.AsyncClient]:
        headers = {}
        if agent is not None:
            async with sessionmaker() as s:
                issued = await issue_token(s, await s.get_one(Agent, agent.id), settings)
                await s.commit()
            headers["Authorization"] = f"Bearer {issued.token}"
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test/api/v1", headers=headers
        ) as client:
            yield client

    return make


@pytest.fixture
async def admin(session: AsyncSession) -> Agent:
    """A national administrator (no SPIP), the identity of the default ``client``."""
    agent = Agent(
        name="Admin national", email=f"admin-{uuid.uuid4().hex[:8]}@test.fr", role="admin"
    )
    session.add(agent)
    await session.commit()
    return agent


@pytest.fixture
async def client(client_for: ClientFactory, admin: Agent) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(admin) as client:
        yield client


class FrozenClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, now: datetime) -> None:
        assert now.tzinfo is not None
        self.now = now


@pytest.fixture(autouse=True)
def clock() -> Iterator[FrozenClock]:
    frozen = FrozenClock(FIXED_NOW)
    app_clock.set_clock(frozen)
    yield frozen
    app_clock.reset_clock()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _postgres_problem:
        terminalreporter.section("POSTGRESQL NON TESTÉ", sep="!", red=True, bold=True)
        terminalreporter.write_line(_postgres_problem[0], red=True, bold=True)
        terminalreporter.write_line(
            "Les tests PostgreSQL ont été ignorés : démarrez PostgreSQL ou définissez "
            "CONVOC_TEST_POSTGRES_URL.",
            red=True,
            bold=True,
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """``postgres_only`` tests run once, and only where PostgreSQL is one of the backends."""
    for item in items:
        if item.get_closest_marker("postgres_only") and "postgres" not in BACKENDS:
            item.add_marker(
                pytest.mark.skip(reason="PostgreSQL n'est pas dans CONVOC_TEST_BACKENDS")
            )
