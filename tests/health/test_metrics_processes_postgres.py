"""One scrape of a real `python -m app serve` with two API processes adds up what every process
sharing PROMETHEUS_MULTIPROC_DIR counted, a real `python -m app worker` included."""

from __future__ import annotations

import os
import re
import signal
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.cli import run_migrations
from app.config import Settings
from app.core import clock as app_clock
from app.db import create_engine
from tests.databases import _create_postgres_database, _drop_postgres_database
from tests.health.scrape import TOKEN, Scrape, used_metric_names
from tests.reminders.processes import (
    free_port,
    seed_due_messages,
    start_api,
    start_worker,
    statuses,
    stop,
    wait_http,
    wait_until,
)

pytestmark = pytest.mark.postgres_only

MESSAGES = 30
PID_FILE = re.compile(r"-(\d+)\.db$")  # <type>[_<mode>]_<host>-<pid>.db


@pytest.fixture
def pg_url() -> Iterator[str]:
    url = _create_postgres_database()
    try:
        run_migrations(url)
        yield url
    finally:
        _drop_postgres_database(url)


@pytest.fixture
async def pg_engine(pg_url: str) -> AsyncIterator[AsyncEngine]:
    app_clock.reset_clock()  # the processes run on the real clock: so does the seeding
    engine = create_engine(Settings(env="test", secret_key="k" * 40), pg_url)
    yield engine
    await engine.dispose()


async def _scrape(base: str) -> Scrape:
    # A connection of its own each time, so that either API process may answer.
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        answer = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    return Scrape(answer.text)


def _pids(folder: Path) -> set[int]:
    return {int(m.group(1)) for p in folder.iterdir() if (m := PID_FILE.search(p.name))}


def _temporary_dirs() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("convoc-metrics-*"))


async def test_a_scrape_adds_up_two_api_processes_and_a_worker(
    pg_url: str, pg_engine: AsyncEngine, tmp_path: Path
) -> None:
    folder = tmp_path / "metrics"  # created by the commands themselves
    shared = {"PROMETHEUS_MULTIPROC_DIR": str(folder), "CONVOC_METRICS_TOKEN": TOKEN}
    ids = await seed_due_messages(pg_engine, MESSAGES)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    api = start_api(pg_url, port, tmp_path / "api.log", CONVOC_WORKERS="2", **shared)
    worker = start_worker(pg_url, tmp_path / "worker.log", **shared)
    try:
        await wait_http(f"{base}/api/v1/health", api, limit=120)  # a loaded machine

        async def drained() -> bool:
            return (await statuses(pg_engine))["sent"] == len(ids)

        await wait_until(drained)
        for _ in range(20):
            async with httpx.AsyncClient(base_url=base) as client:
                assert (await client.get("/api/v1/health")).status_code == 200
        scrapes = [await _scrape(base) for _ in range(4)]
        assert len(_pids(folder) - {worker.pid}) >= 2, "two API processes write their files"
        assert worker.pid in _pids(folder)
        for scraped in scrapes:  # whichever process answered, the same sums
            health = {"method": "GET", "route": "/api/v1/health", "status": "200"}
            # As many as the server's access log shows (the start-up wait may have retried).
            served = (tmp_path / "api.log").read_text().count('"GET /api/v1/health HTTP/1.1" 200')
            assert served >= 21
            assert scraped.value("convoc_http_requests_total", **health) == served
            # Counted by the worker process, read by an API process.
            assert scraped.value("convoc_dispatcher_messages_total", disposition="sent") == MESSAGES
            assert scraped.value("convoc_dispatcher_claimed_total") == MESSAGES
            assert scraped.value("convoc_dispatcher_ticks_total", result="ok") >= 1
            accepted = {"provider": "console", "outcome": "accepted"}
            assert scraped.value("convoc_sms_attempts_total", **accepted) == MESSAGES
            assert scraped.value("convoc_sms_send_duration_seconds_count") == MESSAGES
            assert scraped.value("convoc_sms_circuit_state", provider="console") == 0
            assert scraped.value("convoc_dispatcher_last_tick_timestamp_seconds") > 0
            # Read from the database by the API process at scrape time.
            assert scraped.value("convoc_messages", kind="reminder", status="sent") == MESSAGES
            assert scraped.value("convoc_messages_due") == 0
            assert scraped.value("convoc_messages_oldest_due_lateness_seconds") == 0
            assert scraped.value("convoc_receipts_pending") == 0
            assert "612345678" not in scraped.body  # the seeded person's number
        missing = used_metric_names() - scrapes[0].names
        assert not missing, f"used by deploy/ but not exposed: {sorted(missing)}"

        worker.send_signal(signal.SIGTERM)  # a clean stop hands back its live gauges
        assert worker.wait(timeout=30) == 0
        assert list(folder.glob(f"counter_*-{worker.pid}.db"))
        assert not list(folder.glob(f"gauge_livemax_*-{worker.pid}.db"))
        after = await _scrape(base)
        assert after.value("convoc_dispatcher_messages_total", disposition="sent") == MESSAGES
    finally:
        stop(worker, api)


async def test_serve_alone_counts_in_a_directory_of_its_own_and_removes_it(
    pg_url: str, pg_engine: AsyncEngine, tmp_path: Path
) -> None:
    """No PROMETHEUS_MULTIPROC_DIR: `serve` makes a temporary one for its processes (the
    embedded dispatcher's included), gone once it stopped."""
    ours = _temporary_dirs()
    await seed_due_messages(pg_engine, 3)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    environment = {"CONVOC_METRICS_TOKEN": TOKEN, "CONVOC_WORKER_EMBEDDED": "true"}
    api = start_api(pg_url, port, tmp_path / "api.log", CONVOC_WORKER_INTERVAL_SECONDS="0.5",
                    **environment)  # fmt: skip
    try:
        assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
        await wait_http(f"{base}/api/v1/health", api, limit=120)  # a loaded machine

        async def drained() -> bool:
            return (await statuses(pg_engine))["sent"] == 3

        await wait_until(drained)
        created = _temporary_dirs() - ours
        assert any(_pids(folder) for folder in created), "the processes write there"
        scraped = await _scrape(base)
        assert scraped.value("convoc_dispatcher_messages_total", disposition="sent") == 3
    finally:
        stop(api)
    assert "Application shutdown complete" in (tmp_path / "api.log").read_text()
    assert not created & _temporary_dirs()
