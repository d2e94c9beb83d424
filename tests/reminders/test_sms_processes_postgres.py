"""The gateway end to end, with real processes on PostgreSQL: a worker (``python -m app worker``)
sending through the ``http`` provider to the simulator (``python -m app.sms.simulator``) over
loopback, and the API (``python -m app serve``) receiving the simulator's signed receipts.

Every wait is bounded; every process is stopped in a ``finally`` block.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.models import Notification, NotificationAttempt, NotificationPart, PendingReceipt
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

API_KEY = "process-api-key"
WEBHOOK_SECRET = "p" * 40
RECEIPT_TOKEN = "t" * 40
SETTLED = ("sent", "delivered", "undelivered", "failed", "expired")


def http_provider_env(simulator: str, **extra: str) -> dict[str, str]:
    return {
        "CONVOC_SMS_PROVIDERS": "http",
        "CONVOC_SMS_HTTP_BASE_URL": simulator,
        "CONVOC_SMS_HTTP_API_KEY": API_KEY,
        "CONVOC_SMS_HTTP_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "CONVOC_SMS_HTTP_RATE_LIMIT": "500",
        "CONVOC_SMS_HTTP_READ_TIMEOUT": "0.5",
        "CONVOC_SMS_RETRY_BASE_SECONDS": "0.2",
        "CONVOC_SMS_RETRY_CAP_SECONDS": "1",
        "CONVOC_SMS_CIRCUIT_COOLDOWN_SECONDS": "1",
        "CONVOC_WORKER_INTERVAL_SECONDS": "0.3",
        **extra,
    }


async def rows(engine: AsyncEngine) -> list[Row[Any]]:
    async with engine.connect() as conn:
        result = await conn.execute(
            select(
                Notification.id,
                Notification.status,
                Notification.provider,
                Notification.send_not_after,
            ).order_by(Notification.id)
        )
        return list(result.all())


async def attempts(engine: AsyncEngine) -> list[tuple[int, str, str, str | None]]:
    async with engine.connect() as conn:
        result = await conn.execute(
            select(
                NotificationAttempt.notification_id,
                NotificationAttempt.provider,
                NotificationAttempt.outcome,
                NotificationAttempt.error_code,
            ).order_by(NotificationAttempt.id)
        )
        return [(n, provider, outcome, code) for n, provider, outcome, code in result]


async def all_settled(engine: AsyncEngine, total: int) -> bool:
    counts = await statuses(engine)
    return sum(counts[s] for s in SETTLED) == total


def tight(i: int) -> bool:
    return i % 6 == 5


def deadline(i: int) -> timedelta:
    return timedelta(seconds=0.1 + i * 0.02) if tight(i) else timedelta(days=1)


async def test_thirty_percent_temporary_failures_every_message_delivered_exactly_once(
    pg_url: str, pg_engine: AsyncEngine, tmp_path: Path
) -> None:
    port = free_port()
    simulator_url = f"http://127.0.0.1:{port}"
    simulator = start_simulator(
        port,
        tmp_path / "simulator.log",
        api_key=API_KEY,
        webhook_secret=WEBHOOK_SECRET,
        error_5xx=0.2,
        error_timeout=0.05,
        error_429=0.05,
        retry_after=0.2,
        timeout_sleep_ms=1500,
        seed=11,
    )
    worker: subprocess.Popen[bytes] | None = None
    try:
        await wait_http(f"{simulator_url}/_health", simulator)
        worker = start_worker(
            pg_url,
            tmp_path / "worker.log",
            **http_provider_env(simulator_url, CONVOC_WORKER_CONCURRENCY="10"),
        )
        # 150 messages with a day to go; among them, 30 whose last useful moment comes during
        # the run (0.1 s to 3.6 s away), so some go out just in time and others too late.
        ids = await seed_due_messages(pg_engine, 180, not_after=deadline)
        await wait_until(lambda: all_settled(pg_engine, len(ids)), limit=120)
        stats = await simulator_stats(simulator_url)
    finally:
        stop(*(p for p in (worker, simulator) if p is not None))

    by_id = {row.id: row for row in await rows(pg_engine)}
    sent = {i for i, row in by_id.items() if row.status == "sent"}
    relaxed = [n for i, n in enumerate(ids) if not tight(i)]
    assert set(relaxed) <= sent, Counter(by_id[i].status for i in relaxed)
    assert set(sent) <= set(ids)
    # Exactly once: every sent message accepted once, nothing else accepted, no duplicate.
    assert stats["duplicates"] == {}
    assert by_notification(stats["accepted"]) == {i: 1 for i in sent}
    # Failures really happened, of every temporary kind.
    assert {"5xx", "timeout", "429"} <= set(stats["rejected"])
    # Never accepted after its send_not_after (the request leaves before it; loopback latency).
    for reference, accepted_at in stats["accepted_at"].items():
        row = by_id[notification_id(reference)]
        assert datetime.fromisoformat(accepted_at) <= row.send_not_after + timedelta(seconds=0.5)
    rushed = Counter(by_id[n].status for i, n in enumerate(ids) if tight(i))
    assert set(rushed) <= {"sent", "failed", "expired"}, rushed
    # Every attempt recorded: one "accepted" per sent message, and the failures before.
    recorded = await attempts(pg_engine)
    accepted = Counter(n for n, _, outcome, _ in recorded if outcome == "accepted")
    assert accepted == Counter(dict.fromkeys(sent, 1))
    assert any(outcome == "temporary" for _, _, outcome, _ in recorded)
    assert worker is not None and worker.returncode == 0


async def test_a_dead_first_provider_is_failed_over_by_a_worker_process(
    pg_url: str, pg_engine: AsyncEngine, tmp_path: Path
) -> None:
    port = free_port()
    simulator_url = f"http://127.0.0.1:{port}"
    simulator = start_simulator(
        port, tmp_path / "simulator.log", api_key=API_KEY, webhook_secret=WEBHOOK_SECRET
    )
    worker: subprocess.Popen[bytes] | None = None
    try:
        await wait_http(f"{simulator_url}/_health", simulator)
        env = http_provider_env(
            simulator_url,
            CONVOC_SMS_PROVIDERS="brevo,http",
            CONVOC_SMS_BREVO_BASE_URL=f"http://127.0.0.1:{closed_port()}",
            CONVOC_SMS_BREVO_API_KEY="brevo-key",
            CONVOC_SMS_CIRCUIT_COOLDOWN_SECONDS="60",
            CONVOC_WORKER_CONCURRENCY="1",
        )
        worker = start_worker(pg_url, tmp_path / "worker.log", **env)
        ids = await seed_due_messages(pg_engine, 30)
        await wait_until(lambda: all_settled(pg_engine, len(ids)), limit=60)
        stats = await simulator_stats(simulator_url)
    finally:
        stop(*(p for p in (worker, simulator) if p is not None))

    assert {row.status for row in await rows(pg_engine)} == {"sent"}
    assert {row.provider for row in await rows(pg_engine)} == {"http"}
    assert by_notification(stats["accepted"]) == {i: 1 for i in ids}
    recorded = await attempts(pg_engine)
    brevo = Counter((outcome, code) for _, name, outcome, code in recorded if name == "brevo")
    # Refused connections until its circuit opens (5 in a row), then skipped without a call.
    assert brevo[("temporary", "connection_error")] == 5
    assert brevo[("skipped", "circuit_open")] == len(ids) - 5
    last = {n: (name, outcome) for n, name, outcome, _ in recorded}
    assert set(last.values()) == {("http", "accepted")}


async def test_simulator_receipts_reach_the_api_and_show_in_the_timeline(
    pg_url: str, pg_engine: AsyncEngine, tmp_path: Path
) -> None:
    sim_port, api_port = free_port(), free_port()
    simulator_url, api_url = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{api_port}"
    env = http_provider_env(
        simulator_url,
        CONVOC_SMS_PUBLIC_BASE_URL=api_url,
        CONVOC_SMS_RECEIPT_TOKEN=RECEIPT_TOKEN,
    )
    simulator = start_simulator(
        sim_port,
        tmp_path / "simulator.log",
        api_key=API_KEY,
        webhook_secret=WEBHOOK_SECRET,
        receipt_delay_ms=20,
        undelivered=0.25,
        seed=5,
    )
    api = start_api(pg_url, api_port, tmp_path / "api.log", **env)
    worker: subprocess.Popen[bytes] | None = None
    try:
        await wait_http(f"{simulator_url}/_health", simulator)
        await wait_http(f"{api_url}/api/v1/health", api)
        worker = start_worker(pg_url, tmp_path / "worker.log", **env)
        ids = await seed_due_messages(pg_engine, 20)

        async def all_receipts_applied() -> bool:
            counts = await statuses(pg_engine)
            return counts["delivered"] + counts["undelivered"] == len(ids)

        await wait_until(all_receipts_applied, limit=60)
        stats = await simulator_stats(simulator_url)
        timelines = await read_timelines(api_url, pg_engine)
    finally:
        stop(*(p for p in (worker, api, simulator) if p is not None))

    assert by_notification(stats["accepted"]) == {i: 1 for i in ids}
    assert (stats["receipts_sent"], stats["receipts_failed"]) == (len(ids), 0)
    assert sorted(timelines) == sorted(ids)
    for status, delivered_at, parts in timelines.values():
        assert status in ("delivered", "undelivered")
        assert (delivered_at is not None) == (status == "delivered")
        assert [p_status for _, p_status in parts] == [status]
    async with pg_engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(PendingReceipt)) == 0


Timeline = dict[int, tuple[str, object, list[tuple[str, str]]]]


async def read_timelines(api_url: str, engine: AsyncEngine) -> Timeline:
    """Each notification's status, delivered_at and parts, through the API when it answers
    anonymously; from the database when agent authentication guards the timeline (401)."""
    async with engine.connect() as conn:
        appointment_ids = list(await conn.scalars(select(Notification.appointment_id)))
    found: Timeline = {}
    async with httpx.AsyncClient(base_url=f"{api_url}/api/v1", timeout=5.0) as client:
        for appointment_id in appointment_ids:
            response = await client.get(f"/appointments/{appointment_id}/notifications")
            if response.status_code == 401:
                return await _timelines_from_database(engine)
            assert response.status_code == 200, response.text
            for n in response.json():
                parts = [(p["provider_message_id"], p["status"]) for p in n["parts"]]
                found[n["id"]] = (n["status"], n["delivered_at"], parts)
    return found


async def _timelines_from_database(engine: AsyncEngine) -> Timeline:
    async with engine.connect() as conn:
        parts: dict[int, list[tuple[str, str]]] = {}
        for n, message_id, status in await conn.execute(
            select(
                NotificationPart.notification_id,
                NotificationPart.provider_message_id,
                NotificationPart.status,
            ).order_by(NotificationPart.id)
        ):
            parts.setdefault(n, []).append((message_id, status))
        result = await conn.execute(
            select(Notification.id, Notification.status, Notification.delivered_at)
        )
        return {i: (status, at, parts.get(i, [])) for i, status, at in result}
