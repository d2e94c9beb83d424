"""Start-up order, as a client and an operator see it: an API process started before its
migration step refuses traffic (503 ``schema_outdated``, readiness included) and a worker waits;
both go on by themselves once ``python -m app migrate`` has run — no restart."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from alembic import command

from app.cli import run_migrations
from app.core.schema import code_head
from tests.databases import BACKENDS, _create_postgres_database, _drop_postgres_database
from tests.migrations.support import alembic_config
from tests.reminders.processes import free_port, start_worker, stop, wait_http, wait_until
from tests.servers import _spawn_server


@pytest.fixture(params=BACKENDS)
def behind_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A database of its own, one migration behind the code."""
    if request.param == "postgres":
        url = _create_postgres_database()
        try:
            _one_behind(url)
            yield url
        finally:
            _drop_postgres_database(url)
        return
    with tempfile.TemporaryDirectory(prefix="convoc-order-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'convoc.db'}"
        _one_behind(url)
        yield url


def _one_behind(url: str) -> None:
    command.upgrade(alembic_config(url), "head")
    command.downgrade(alembic_config(url), "-1")


async def test_the_api_refuses_traffic_until_migrations_are_current(
    behind_url: str, tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "api.log"
    process = _spawn_server(behind_url, port, log)
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_http(f"{base}/health", process)  # alive…
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:
            ready = await client.get("/health/ready")
            assert ready.status_code == 503  # …but not ready
            assert ready.json()["error"] == "schema_outdated"
            assert ready.headers["retry-after"] == "5"
            page = await client.get("/connexion")
            assert page.status_code == 503
            api = await client.post(
                "/api/v1/auth/token", data={"username": "a@b.fr", "password": "x"}
            )
            assert api.status_code == 503
            assert "python -m app migrate" in api.json()["detail"]

            await asyncio.to_thread(run_migrations, behind_url)

            async def ready_now() -> bool:
                return (await client.get("/health/ready")).status_code == 200

            await wait_until(ready_now, limit=30)
            assert (await client.get("/connexion")).status_code == 200
    finally:
        stop(process)
    text = log.read_text()
    assert "schema.outdated" in text and f"expected={code_head()}" in text
    assert "worker.waiting_for_migrations" in text  # the embedded dispatcher waited…
    assert "worker.started" in text  # …then started, in the same process


async def test_a_worker_waits_for_the_migrations_then_starts(
    behind_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    worker = start_worker(behind_url, log)
    try:

        async def waiting() -> bool:
            return "worker.waiting_for_migrations" in log.read_text()

        await wait_until(waiting, limit=30)
        assert "worker.started" not in log.read_text()
        await asyncio.to_thread(run_migrations, behind_url)

        async def started() -> bool:
            return "worker.started" in log.read_text()

        await wait_until(started, limit=30)
    finally:
        stop(worker)
    assert worker.returncode == 0
