"""An answer means it is stored: through a real ``make run``-style server, as a client sees it.

Each test starts ``python -m app serve`` on a fresh database loaded by ``python -m app demo``,
with the embedded dispatcher (the development default), and talks to it over loopback.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app.agents.auth import issue_token
from app.cli import run_migrations
from app.config import Settings
from app.core import clock as app_clock
from app.db import create_engine
from app.main import create_app
from app.models import Agent, Person
from tests.conftest import BACKENDS, _create_postgres_database, _drop_postgres_database
from tests.factories import make_spip
from tests.reminders.processes import (
    ROOT,
    SENT_LINE,
    free_port,
    seed_due_messages,
    stop,
    wait_http,
)

DEMO_PASSWORD = "Convoc-Demo-2026!"
CPIP = "cpip@hauts-de-seine.demo.convoc.fr"


@dataclass
class Server:
    base: str
    url: str
    engine: AsyncEngine
    log: Path
    process: subprocess.Popen[bytes]


def _environment(url: str, **extra: str) -> dict[str, str]:
    return os.environ | {
        "CONVOC_ENV": "development",  # what `make run` runs: embedded dispatcher, console SMS
        "CONVOC_DATABASE_URL": url,
        "CONVOC_LOG_LEVEL": "INFO",
        **extra,
    }


@pytest.fixture(params=BACKENDS)
def fresh_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated database of its own, with the demo loaded (commits seen across processes)."""
    if request.param == "postgres":
        url = _create_postgres_database()
        try:
            run_migrations(url)
            _load_demo(url)
            yield url
        finally:
            _drop_postgres_database(url)
    else:
        with tempfile.TemporaryDirectory(prefix="convoc-durability-") as folder:
            url = f"sqlite+aiosqlite:///{Path(folder) / 'convoc.db'}"
            run_migrations(url)
            _load_demo(url)
            yield url


def _load_demo(url: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "app", "demo"],
        cwd=ROOT,
        env=_environment(url),
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.fixture
async def fresh_engine(fresh_url: str) -> AsyncIterator[AsyncEngine]:
    app_clock.reset_clock()  # the server runs on the real clock: so does the seeding
    engine = create_engine(Settings(env="test", secret_key="k" * 40), fresh_url)
    yield engine
    await engine.dispose()


def _spawn_server(url: str, port: int, log: Path, **env: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        return subprocess.Popen(
            command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=_environment(url, **env)
        )


async def start_server(url: str, engine: AsyncEngine, log: Path, **env: str) -> Server:
    port = free_port()
    process = _spawn_server(url, port, log, **env)
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_http(f"{base}/api/v1/health", process)
    except BaseException:
        stop(process)
        raise
    return Server(base, url, engine, log, process)


@pytest.fixture
async def server(
    fresh_url: str, fresh_engine: AsyncEngine, tmp_path: Path
) -> AsyncIterator[Server]:
    running = await start_server(fresh_url, fresh_engine, tmp_path / "api.log")
    try:
        yield running
    finally:
        stop(running.process)


async def login(client: httpx.AsyncClient, email: str = CPIP) -> None:
    answer = await client.post(
        "/api/v1/auth/token", data={"username": email, "password": DEMO_PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"


def person_body(n: int) -> dict[str, object]:
    # Hauts-de-Seine is SPIP 1 in the demo; a distinct valid metropolitan mobile per person.
    return {
        "spip_id": 1,
        "first_name": "Camille",
        "last_name": f"Essai {n}",
        "phone": f"06 {n // 10000 % 100:02d} {n // 100 % 100:02d} {n % 100:02d} 11",
    }


async def test_a_created_person_can_be_read_at_once(server: Server) -> None:
    """The issue's reproduction: 300 × (POST /persons, then GET of the id just returned)."""
    misses: list[tuple[int, int]] = []
    async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:
        await login(client)
        for n in range(300):
            created = await client.post("/api/v1/persons", json=person_body(n))
            assert created.status_code == 201, created.text
            person_id = created.json()["id"]
            read = await client.get(f"/api/v1/persons/{person_id}")
            if read.status_code != 200:
                misses.append((person_id, read.status_code))
    assert misses == []


async def test_sqlite_embedded_default_never_answers_503_while_the_dispatcher_ticks(
    fresh_url: str, fresh_engine: AsyncEngine, tmp_path: Path
) -> None:
    """One agent's 1,000 sequential writes and 4 parallel writers, while due messages go out."""
    if not fresh_url.startswith("sqlite"):
        pytest.skip("the embedded default is SQLite's")
    await seed_due_messages(fresh_engine, 3000)
    server = await start_server(
        fresh_url, fresh_engine, tmp_path / "api.log", CONVOC_WORKER_INTERVAL_SECONDS="1"
    )
    statuses: Counter[int] = Counter()

    async def writer(count: int, offset: int) -> None:
        async with httpx.AsyncClient(base_url=server.base, timeout=60) as client:
            await login(client)
            for n in range(offset, offset + count):
                answer = await client.post("/api/v1/persons", json=person_body(n))
                statuses[answer.status_code] += 1

    try:
        await writer(1000, 0)
        await asyncio.gather(*(writer(150, 10_000 * (k + 1)) for k in range(4)))
    finally:
        stop(server.process)
    sent = len(SENT_LINE.findall(server.log.read_text(errors="replace")))
    assert statuses == Counter({201: 1600})
    # The test means something only if the dispatcher really wrote at the same time.
    assert sent > 100, f"only {sent} SMS went out during the writes"


# -- A commit that fails answers an error, never a success ------------------------------------


class _CommitRefused(AsyncSession):
    """A session whose commit fails the way a lost connection or a full disk makes it fail."""

    async def commit(self) -> None:
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))


async def test_a_commit_that_fails_answers_503_and_nothing_is_stored(
    settings: Settings, connection: AsyncConnection, admin: Agent
) -> None:
    working = async_sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )
    async with working() as s:
        token = (await issue_token(s, await s.get_one(Agent, admin.id), settings)).token
        spip = await make_spip(s)
        await s.commit()
    app = create_app(settings)
    app.state.sessionmaker = async_sessionmaker(
        bind=connection,
        class_=_CommitRefused,
        expire_on_commit=False,
        join_transaction_mode="create_savepoint",
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://test/api/v1",
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        answer = await client.post(
            "/persons",
            json={"spip_id": spip.id, "first_name": "A", "last_name": "B", "phone": None},
        )
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"] == "commit_failed"
    assert answer.headers["Retry-After"]
    async with working() as s:
        stored = await s.scalar(
            select(func.count()).select_from(Person).where(Person.spip_id == spip.id)
        )
    assert stored == 0


_REFUSE_AT_COMMIT = (
    """
CREATE FUNCTION convoc_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.last_name = 'Contrainte' THEN
    RAISE EXCEPTION 'refused at commit' USING ERRCODE = '23514';
  END IF;
  RAISE EXCEPTION 'refused at commit';
END $$""",
    """
CREATE CONSTRAINT TRIGGER convoc_test_refuse_at_commit AFTER INSERT ON person
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (NEW.last_name IN ('Contrainte', 'Panne'))
  EXECUTE FUNCTION convoc_test_refuse()""",
)


async def test_a_deferred_constraint_that_fails_at_commit_gives_no_2xx(
    server: Server,
) -> None:
    if not server.url.startswith("postgresql"):
        pytest.skip("deferred constraints: PostgreSQL")
    async with server.engine.begin() as conn:
        for statement in _REFUSE_AT_COMMIT:
            await conn.exec_driver_sql(statement)
    async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:
        await login(client)
        answers = {}
        for n, last_name in enumerate(("Contrainte", "Panne")):
            body = person_body(n) | {"last_name": last_name}
            answers[last_name] = await client.post("/api/v1/persons", json=body)
        kept = await client.post("/api/v1/persons", json=person_body(7))
        listed = await client.get("/api/v1/persons", params={"q": "Contrainte", "limit": 50})
    assert answers["Contrainte"].status_code == 409, answers["Contrainte"].text
    assert answers["Panne"].status_code == 503, answers["Panne"].text
    assert answers["Panne"].json()["error"] == "commit_failed"
    assert kept.status_code == 201
    assert listed.status_code == 200 and listed.json()["items"] == []
