"""An answer means it is stored: through a real ``make run``-style server, as a client sees it.

Each test starts ``python -m app serve`` on a fresh database loaded by ``python -m app demo``,
with the embedded dispatcher (the development default), and talks to it over loopback.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app.auth.service import issue_token
from app.config import Settings
from app.main import create_app
from app.models import Agent, Person
from tests.factories import make_spip
from tests.reminders.processes import (
    SENT_LINE,
    seed_due_messages,
    stop,
)
from tests.servers import Server, login, start_server


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
