"""Two installations (two databases) sharing one provider account, with real processes: one
simulator, one worker per database.

Their notification ids are the same (both databases start at 1): with the id as reference,
the simulator answered the second installation's message "replayed" and it was never sent.
The reference carries a per-message nonce (``app.reminders.references``), so both are sent,
while a re-send of one same message is still replayed (one SMS).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.cli import run_migrations
from app.config import Settings
from app.db import create_engine
from app.models import Notification
from tests.reminders.processes import (
    free_port,
    seed_due_messages,
    simulator_stats,
    start_simulator,
    start_worker,
    statuses,
    stop,
    wait_http,
    wait_until,
)

API_KEY = "shared-account-key"
WEBHOOK_SECRET = "w" * 40


def provider_env(simulator: str) -> dict[str, str]:
    return {
        "CONVOC_SMS_PROVIDERS": "http",
        "CONVOC_SMS_HTTP_BASE_URL": simulator,
        "CONVOC_SMS_HTTP_API_KEY": API_KEY,
        "CONVOC_SMS_HTTP_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "CONVOC_WORKER_INTERVAL_SECONDS": "0.3",
    }


async def migrated(tmp_path: Path) -> list[tuple[str, AsyncEngine]]:
    """Two migrated databases (SQLite files), as two installations would have."""
    urls = [f"sqlite:///{tmp_path / name}.db" for name in ("staging", "production")]
    for url in urls:
        await asyncio.to_thread(run_migrations, url)
    settings = Settings(env="test", secret_key="k" * 40)
    return [(url, create_engine(settings, url)) for url in urls]


async def all_sent(engines: list[AsyncEngine]) -> bool:
    found = [await statuses(engine) for engine in engines]
    return all(counts == {"sent": 1} for counts in found)


async def test_two_installations_sharing_an_account_both_send_the_same_notification_id(
    tmp_path: Path,
) -> None:
    installations = await migrated(tmp_path)
    engines = [engine for _, engine in installations]
    ids = [await seed_due_messages(engine, 1) for engine in engines]
    assert ids[0] == ids[1]  # the same notification id in both databases
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    simulator = start_simulator(
        port, tmp_path / "simulator.log", api_key=API_KEY, webhook_secret=WEBHOOK_SECRET
    )
    workers: list[Any] = []
    try:
        await wait_http(f"{base}/_health", simulator)
        workers = [
            start_worker(url, tmp_path / f"worker-{i}.log", **provider_env(base))
            for i, (url, _) in enumerate(installations)
        ]
        await wait_until(lambda: all_sent(engines), limit=60)
        stats = await simulator_stats(base)
        assert stats["accepted_total"] == 2, stats
        assert stats["replayed_total"] == 0, stats
        assert len(stats["accepted"]) == 2  # two distinct references
        assert all(reference.startswith(f"{ids[0][0]}-") for reference in stats["accepted"])

        # The same message sent again (a lost answer, a lease run out): replayed, one SMS.
        async with engines[0].begin() as conn:
            await conn.execute(
                update(Notification).values(
                    status="planned", send_at=datetime.now(UTC), lease_owner=None
                )
            )

        async def replayed() -> bool:
            return int((await simulator_stats(base))["replayed_total"]) == 1

        await wait_until(replayed, limit=60)
        await wait_until(lambda: all_sent(engines), limit=60)
        stats = await simulator_stats(base)
        assert stats["accepted_total"] == 2, stats
        assert sorted(stats["accepted"].values()) == [1, 1]
    finally:
        stop(*workers, simulator)
        for engine in engines:
            await engine.dispose()
