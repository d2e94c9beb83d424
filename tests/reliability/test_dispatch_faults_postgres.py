"""Reliability under faults, with real processes on PostgreSQL (short versions; the long chaos
run is ``python -m bench.chaos``).

* chaos: worker processes SIGKILLed and restarted while the provider fails 20 % of requests;
* the database stopped and restarted in the middle of a dispatch (a private cluster);
* the provider down for a few seconds, with and without a second provider to fail over to.

Every wait is bounded; every process and the private cluster are stopped in ``finally``
blocks or fixtures. No assertion is about time: only counts and instants of the simulator.
"""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.db import create_engine
from app.models import Notification
from tests.reliability.cluster import PrivateCluster
from tests.reminders.processes import (
    free_port,
    seed_due_messages,
    simulator_stats,
    start_api,
    start_simulator,
    start_worker,
    statuses,
    stop,
    wait_http,
    wait_until,
)
from tests.reminders.references import by_notification, notification_id
from tests.reminders.sending import closed_port

pytestmark = pytest.mark.postgres_only

API_KEY = "reliability-api-key"
WEBHOOK_SECRET = "r" * 40
SETTLED = ("sent", "delivered", "undelivered", "failed", "expired")


def provider_env(simulator: str, **extra: str) -> dict[str, str]:
    return {
        "CONVOC_SMS_PROVIDERS": "http",
        "CONVOC_SMS_HTTP_BASE_URL": simulator,
        "CONVOC_SMS_HTTP_API_KEY": API_KEY,
        "CONVOC_SMS_HTTP_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "CONVOC_SMS_HTTP_RATE_LIMIT": "1000",
        "CONVOC_SMS_HTTP_READ_TIMEOUT": "2",
        "CONVOC_SMS_RETRY_BASE_SECONDS": "0.2",
        "CONVOC_SMS_RETRY_CAP_SECONDS": "1",
        "CONVOC_SMS_CIRCUIT_COOLDOWN_SECONDS": "1",
        "CONVOC_WORKER_INTERVAL_SECONDS": "0.3",
        **extra,
    }


async def not_after_by_id(engine: AsyncEngine) -> dict[int, tuple[str, datetime]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(Notification.id, Notification.status, Notification.send_not_after)
        )
        return {i: (status, not_after) for i, status, not_after in rows}


def assert_within_windows(stats: dict[str, Any], rows: dict[int, tuple[str, datetime]]) -> None:
    for reference, accepted_at in stats["accepted_at"].items():
        _, not_after = rows[notification_id(reference)]
        assert datetime.fromisoformat(accepted_at) <= not_after, reference


async def sent_count(engine: AsyncEngine) -> int:
    counts = await statuses(engine)
    return counts["sent"] + counts["delivered"]


# -- (a) chaos ------------------------------------------------------------------------------------


async def test_chaos_killed_workers_and_failing_provider_lose_nothing(
    pg_url: str, pg_engine: AsyncEngine, tmp_path: Path
) -> None:
    """4 workers, 20 % temporary provider failures, a random worker SIGKILLed every 1–2 s and
    restarted: every message is accepted exactly once, re-sends only among rows in flight at
    a kill."""
    concurrency = 8
    port = free_port()
    simulator_url = f"http://127.0.0.1:{port}"
    simulator = start_simulator(
        port,
        tmp_path / "simulator.log",
        api_key=API_KEY,
        webhook_secret=WEBHOOK_SECRET,
        latency_ms=5,
        error_5xx=0.2,
        seed=7,
    )
    env = provider_env(
        simulator_url,
        CONVOC_WORKER_CONCURRENCY=str(concurrency),
        CONVOC_WORKER_BATCH_SIZE="50",
        CONVOC_WORKER_LEASE_SECONDS="5",
    )
    rng = random.Random(3)
    workers: list[subprocess.Popen[bytes]] = []
    kills = 0
    try:
        await wait_http(f"{simulator_url}/_health", simulator)
        ids = await seed_due_messages(pg_engine, 600)
        workers = [start_worker(pg_url, tmp_path / f"w{i}.log", **env) for i in range(4)]
        # Kill while there is work left, then let the survivors finish (bounded).
        at_first_kill = None
        for round_ in range(8):
            if kills >= 3 and await sent_count(pg_engine) >= len(ids) * 0.9:
                break
            await asyncio.sleep(rng.uniform(1.0, 2.0))
            if at_first_kill is None:
                at_first_kill = await sent_count(pg_engine)
            victim = rng.randrange(len(workers))
            workers[victim].send_signal(signal.SIGKILL)
            workers[victim].wait(timeout=10)
            kills += 1
            log = tmp_path / f"w{victim}-r{round_}.log"
            workers[victim] = start_worker(pg_url, log, **env)
        await wait_until(lambda: _all_sent(pg_engine, len(ids)), limit=120)
        stats = await simulator_stats(simulator_url)
    finally:
        stop(*workers, simulator)

    assert kills >= 3, "the chaos must actually kill workers"
    assert at_first_kill is not None and at_first_kill < len(ids), "killed after the work was done"
    accepted = by_notification(stats["accepted"])
    assert set(accepted) == set(ids), "a message was lost"
    assert stats["rejected"].get("5xx", 0) > 0  # the provider really failed
    # Exactly once. A SIGKILL between the provider's acceptance and the write of the result
    # leaves the row "sending"; when its lease runs out it is sent again, with the same
    # reference, which the provider answers from its idempotency record instead of sending a
    # second SMS. Only rows in flight in the killed worker (at most `concurrency`) are re-sent.
    assert max(accepted.values()) == 1, {k: n for k, n in accepted.items() if n > 1}
    assert stats["replayed_total"] <= kills * concurrency, (stats["replayed_total"], kills)
    assert_within_windows(stats, await not_after_by_id(pg_engine))


async def _all_sent(engine: AsyncEngine, total: int) -> bool:
    return await sent_count(engine) == total


# -- (b) database restart ---------------------------------------------------------------------


async def test_database_restart_workers_recover_and_api_answers_503(
    private_cluster: PrivateCluster, tmp_path: Path
) -> None:
    """The database stops mid-dispatch for a few seconds: workers wait and finish by themselves,
    nothing lost or doubled; the API's readiness answers a clean 503 JSON meanwhile."""
    url = await private_cluster.create_database("convoc_restart")
    engine = create_engine(Settings(env="test", secret_key="k" * 40), url)
    sim_port, api_port = free_port(), free_port()
    simulator_url, api_url = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{api_port}"
    simulator = start_simulator(
        sim_port, tmp_path / "sim.log", api_key=API_KEY, webhook_secret=WEBHOOK_SECRET,
        latency_ms=20,
    )  # fmt: skip
    # Leases outlast the outage: a result that comes back while the database is away is written
    # as soon as it returns, before any other worker could take the row again.
    env = provider_env(
        simulator_url,
        CONVOC_WORKER_LEASE_SECONDS="30",
        CONVOC_WORKER_CONCURRENCY="5",
        CONVOC_WORKER_BATCH_SIZE="20",
    )
    api = start_api(url, api_port, tmp_path / "api.log")
    workers: list[subprocess.Popen[bytes]] = []
    try:
        await wait_http(f"{simulator_url}/_health", simulator)
        await wait_http(f"{api_url}/api/v1/health/ready", api)
        ids = await seed_due_messages(engine, 300)
        await engine.dispose()
        workers = [start_worker(url, tmp_path / f"w{i}.log", **env) for i in range(2)]
        await wait_until(lambda: _some_accepted(simulator_url, 40), limit=60)
        private_cluster.stop()
        async with httpx.AsyncClient(timeout=10.0) as client:
            down = await client.get(f"{api_url}/api/v1/health/ready")
            progress = (await simulator_stats(simulator_url))["accepted_total"]
            await asyncio.sleep(3.0)
            private_cluster.start()

            async def ready() -> bool:
                return (await client.get(f"{api_url}/api/v1/health/ready")).status_code == 200

            await wait_until(ready, limit=30)
        await wait_until(lambda: _all_sent(engine, len(ids)), limit=120)
        stats = await simulator_stats(simulator_url)
        rows = await not_after_by_id(engine)
    finally:
        stop(*workers, api, simulator)
        await engine.dispose()

    assert progress < len(ids), "the outage must fall in the middle of the dispatch"
    assert down.status_code == 503
    assert down.headers["content-type"].startswith("application/json")
    assert down.json()["error"] == "service_unavailable"
    assert "Traceback" not in down.text and "asyncpg" not in down.text
    assert by_notification(stats["accepted"]) == {i: 1 for i in ids}, "lost or doubled"
    assert_within_windows(stats, rows)
    for worker in workers:
        assert worker.returncode == 0  # still alive at the end: SIGTERM is a clean stop


async def _some_accepted(simulator_url: str, count: int) -> bool:
    return int((await simulator_stats(simulator_url))["accepted_total"]) >= count


# -- (c) provider down ------------------------------------------------------------------------


async def _set_down(simulator_url: str, seconds: float) -> None:
    async with httpx.AsyncClient(timeout=5.0) as client:
        await client.post(f"{simulator_url}/_control", json={"down_for_seconds": seconds})


async def _outage_met(simulator_url: str) -> bool:
    return int((await simulator_stats(simulator_url))["rejected"].get("down", 0)) > 0


async def test_provider_down_messages_wait_and_go_out_within_their_windows(
    pg_url: str, pg_engine: AsyncEngine, tmp_path: Path
) -> None:
    port = free_port()
    simulator_url = f"http://127.0.0.1:{port}"
    simulator = start_simulator(
        port, tmp_path / "sim.log", api_key=API_KEY, webhook_secret=WEBHOOK_SECRET, latency_ms=5
    )
    worker: subprocess.Popen[bytes] | None = None
    try:
        await wait_http(f"{simulator_url}/_health", simulator)
        # Down until the worker has met the outage, then up again: a fixed outage of a few
        # seconds could end before a worker started on a loaded machine ever tried to send.
        await _set_down(simulator_url, 600)
        # Half of them must go out within the next 30 s, the others within the day.
        ids = await seed_due_messages(
            pg_engine,
            200,
            not_after=lambda i: timedelta(seconds=30) if i % 2 else timedelta(days=1),
        )
        worker = start_worker(pg_url, tmp_path / "worker.log", **provider_env(simulator_url))
        await wait_until(lambda: _outage_met(simulator_url), limit=60)
        await asyncio.sleep(1.0)  # a second of refusals: the retries are what is tested
        await _set_down(simulator_url, 0)
        await wait_until(lambda: _all_settled(pg_engine, len(ids)), limit=90)
        stats = await simulator_stats(simulator_url)
    finally:
        stop(*(p for p in (worker, simulator) if p is not None))
    rows = await not_after_by_id(pg_engine)
    assert stats["rejected"].get("down", 0) > 0, "the outage must have been met"
    assert by_notification(stats["accepted"]) == {i: 1 for i in ids}
    assert {status for status, _ in rows.values()} == {"sent"}
    assert_within_windows(stats, rows)


async def test_provider_down_fails_over_to_the_second_provider(
    pg_url: str, pg_engine: AsyncEngine, tmp_path: Path
) -> None:
    """The first provider (Brevo, unreachable) is down; the second (http, the simulator)
    carries every message, once, within its window."""
    port = free_port()
    simulator_url = f"http://127.0.0.1:{port}"
    simulator = start_simulator(
        port, tmp_path / "sim.log", api_key=API_KEY, webhook_secret=WEBHOOK_SECRET, latency_ms=5
    )
    worker: subprocess.Popen[bytes] | None = None
    try:
        await wait_http(f"{simulator_url}/_health", simulator)
        env = provider_env(
            simulator_url,
            CONVOC_SMS_PROVIDERS="brevo,http",
            CONVOC_SMS_BREVO_BASE_URL=f"http://127.0.0.1:{closed_port()}",
            CONVOC_SMS_BREVO_API_KEY="brevo-key",
            CONVOC_SMS_CIRCUIT_COOLDOWN_SECONDS="5",
        )
        ids = await seed_due_messages(pg_engine, 100, not_after=lambda i: timedelta(seconds=30))
        worker = start_worker(pg_url, tmp_path / "worker.log", **env)
        await wait_until(lambda: _all_settled(pg_engine, len(ids)), limit=60)
        stats = await simulator_stats(simulator_url)
    finally:
        stop(*(p for p in (worker, simulator) if p is not None))
    rows = await not_after_by_id(pg_engine)
    assert by_notification(stats["accepted"]) == {i: 1 for i in ids}
    assert {status for status, _ in rows.values()} == {"sent"}
    assert_within_windows(stats, rows)


async def _all_settled(engine: AsyncEngine, total: int) -> bool:
    counts = await statuses(engine)
    return sum(counts[s] for s in SETTLED) == total
