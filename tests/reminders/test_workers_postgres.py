"""Real worker processes against PostgreSQL: several side by side, and one killed mid-batch.

These tests need commits visible across processes, so each gets a database of its own.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.reminders.processes import (
    seed_due_messages,
    sent_references,
    start_worker,
    statuses,
    stop,
    wait_until,
)

pytestmark = pytest.mark.postgres_only


async def test_two_worker_processes_send_each_message_exactly_once(
    pg_url: str, pg_engine: AsyncEngine, tmp_path: Path
) -> None:
    ids = await seed_due_messages(pg_engine, 2000)
    logs = [tmp_path / "w1.log", tmp_path / "w2.log"]
    workers = [start_worker(pg_url, log, CONVOC_WORKER_BATCH_SIZE="100") for log in logs]
    try:

        async def drained() -> bool:
            return (await statuses(pg_engine))["sent"] == len(ids)

        await wait_until(drained)
    finally:
        stop(*workers)
    counts = sent_references(*logs)
    assert set(counts) == set(ids)
    assert max(counts.values()) == 1, "a message was sent twice"
    per_worker = [len(sent_references(log)) for log in logs]
    assert all(n > 0 for n in per_worker), f"both workers should share the load: {per_worker}"
    assert all(w.returncode == 0 for w in workers)  # SIGTERM is a clean stop


async def test_a_worker_killed_mid_batch_loses_nothing(
    pg_url: str, pg_engine: AsyncEngine, tmp_path: Path
) -> None:
    ids = await seed_due_messages(pg_engine, 2000)
    first_log, second_log = tmp_path / "killed.log", tmp_path / "survivor.log"
    first = start_worker(
        pg_url, first_log, CONVOC_WORKER_BATCH_SIZE="50", CONVOC_WORKER_CONCURRENCY="5"
    )

    async def mid_drain() -> bool:
        counts = await statuses(pg_engine)
        return counts["sent"] >= 100

    try:
        await wait_until(mid_drain)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        at_kill = await statuses(pg_engine)
        assert at_kill["sent"] < len(ids), "the worker finished before it could be killed"
        second = start_worker(pg_url, second_log)
        try:

            async def all_sent() -> bool:
                return (await statuses(pg_engine))["sent"] == len(ids)

            await wait_until(all_sent)
        finally:
            stop(second)
    finally:
        if first.poll() is None:
            first.kill()
    counts = sent_references(first_log, second_log)
    assert set(counts) == set(ids), "a message was lost"
    # At-least-once at the wire: only rows in flight at the kill may go out twice.
    assert sum(n - 1 for n in counts.values()) <= at_kill["sending"]


async def test_a_worker_sigtermed_mid_drain_finishes_its_tick_and_holds_no_lease(
    pg_url: str, pg_engine: AsyncEngine, tmp_path: Path
) -> None:
    """Graceful shutdown (an orchestrator's SIGTERM): the tick in progress ends, every message
    it claimed is settled, none is left ``sending`` for its lease to run out: the next worker
    takes the rest at once, and nothing goes out twice."""
    ids = await seed_due_messages(pg_engine, 2000)
    first_log, second_log = tmp_path / "stopped.log", tmp_path / "next.log"
    first = start_worker(
        pg_url, first_log, CONVOC_WORKER_BATCH_SIZE="50", CONVOC_WORKER_CONCURRENCY="5"
    )
    try:

        async def mid_drain() -> bool:
            return (await statuses(pg_engine))["sent"] >= 100

        await wait_until(mid_drain)
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=40) == 0
    finally:
        if first.poll() is None:
            first.kill()
    after = await statuses(pg_engine)
    assert after["sent"] < len(ids), "the worker finished before it could be stopped"
    assert after["sending"] == 0, "a stopped worker left messages claimed"
    assert "worker.stopped" in first_log.read_text()
    second = start_worker(pg_url, second_log)
    try:

        async def all_sent() -> bool:
            return (await statuses(pg_engine))["sent"] == len(ids)

        await wait_until(all_sent)
    finally:
        stop(second)
    counts = sent_references(first_log, second_log)
    assert set(counts) == set(ids)
    assert max(counts.values()) == 1, "a message was sent twice"
