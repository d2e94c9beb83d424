"""Real ``make run``-style servers for tests that talk to Convoc as a client does.

``fresh_url`` gives a migrated database of its own (one per backend) with the demo loaded by
``python -m app demo``; ``start_server`` runs ``python -m app serve`` on it in development mode
(embedded dispatcher, console SMS), on a free loopback port. Registered as a plugin in
``tests/conftest.py``, so any test module can ask for ``fresh_url``, ``fresh_engine`` or
``server``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.cli import run_migrations
from app.config import Settings
from app.core import clock as app_clock
from app.db import create_engine
from tests.databases import BACKENDS, _create_postgres_database, _drop_postgres_database
from tests.reminders.processes import ROOT, free_port, stop, wait_http

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


@contextmanager
def demo_database(backend: str, prefix: str) -> Iterator[str]:
    """A migrated database of its own on ``backend``, with the demo loaded, dropped after."""
    if backend == "postgres":
        url = _create_postgres_database()
        try:
            run_migrations(url)
            _load_demo(url)
            yield url
        finally:
            _drop_postgres_database(url)
    else:
        with tempfile.TemporaryDirectory(prefix=prefix) as folder:
            url = f"sqlite+aiosqlite:///{Path(folder) / 'convoc.db'}"
            run_migrations(url)
            _load_demo(url)
            yield url


@pytest.fixture(params=BACKENDS)
def fresh_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated database of its own, with the demo loaded (commits seen across processes)."""
    with demo_database(request.param, "convoc-durability-") as url:
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
