"""Real worker processes against PostgreSQL: several side by side, and one killed mid-batch.

These tests need commits visible across processes, so each gets a database of its own.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.cli import run_migrations
from app.config import Settings
from app.core import clock as app_clock
from app.db import create_engine
from app.models import Agent, Appointment, Notification, Person, Place, Spip
from tests.conftest import _create_postgres_database, _drop_postgres_database

pytestmark = pytest.mark.postgres_only
SENT_LINE = re.compile(r"sms\.console_sent reference=(\d+)")


def _zone_at_noon() -> str:
    """A fixed-offset zone where it is about noon now, so the send window is open."""
    offset = 12 - datetime.now(UTC).hour  # local = UTC + offset
    offset = max(-12, min(14, offset if offset <= 14 else offset - 24))
    return f"Etc/GMT{'-' if offset >= 0 else '+'}{abs(offset)}"  # Etc/GMT-3 is UTC+3


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
    app_clock.reset_clock()  # workers run on the real clock: so does the seeding
    engine = create_engine(Settings(env="test", secret_key="k" * 40), pg_url)
    yield engine
    await engine.dispose()


async def seed_due_messages(engine: AsyncEngine, count: int) -> list[int]:
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        tz = _zone_at_noon()
        spip_id = (
            await conn.execute(
                insert(Spip)
                .values(
                    code="SPIP-W",
                    name="SPIP W",
                    timezone=tz,
                    phone_region="FR",
                    created_at=now,
                    updated_at=now,
                )
                .returning(Spip.id)
            )
        ).scalar_one()
        place_id = (
            await conn.execute(
                insert(Place)
                .values(
                    spip_id=spip_id,
                    name="Antenne",
                    address="1 rue",
                    timezone=tz,
                    active=True,
                    created_at=now,
                    updated_at=now,
                )
                .returning(Place.id)
            )
        ).scalar_one()
        agent_id = (
            await conn.execute(
                insert(Agent)
                .values(
                    spip_id=spip_id,
                    name="A",
                    email="a@w.fr",
                    role="cpip",
                    active=True,
                    created_at=now,
                    updated_at=now,
                )
                .returning(Agent.id)
            )
        ).scalar_one()
        person_id = (
            await conn.execute(
                insert(Person)
                .values(
                    spip_id=spip_id,
                    referent_agent_id=agent_id,
                    first_name="P",
                    last_name="Q",
                    phone="+33612345678",
                    phone_status="valid",
                    archived=False,
                    created_at=now,
                    updated_at=now,
                )
                .returning(Person.id)
            )
        ).scalar_one()
        type_id = (
            await conn.exec_driver_sql("SELECT id FROM appointment_type WHERE code='suivi_spip'")
        ).scalar_one()
        appointment_ids = (
            (
                await conn.execute(
                    insert(Appointment).returning(Appointment.id),
                    [
                        dict(
                            spip_id=spip_id,
                            person_id=person_id,
                            place_id=place_id,
                            appointment_type_id=type_id,
                            agent_id=agent_id,
                            starts_at=now + timedelta(days=2),
                            duration_minutes=45,
                            status="booked",
                            summons_requested=False,
                            created_at=now,
                            updated_at=now,
                        )
                        for _ in range(count)
                    ],
                )
            )
            .scalars()
            .all()
        )
        ids = (
            (
                await conn.execute(
                    insert(Notification).returning(Notification.id),
                    [
                        dict(
                            appointment_id=a,
                            kind="reminder",
                            sequence=1,
                            idempotency_key=f"{a}:reminder:1",
                            status="planned",
                            planned_at=now - timedelta(minutes=1),
                            send_at=now - timedelta(minutes=1),
                            send_not_after=now + timedelta(days=1),
                            attempts=0,
                            created_at=now,
                            updated_at=now,
                        )
                        for a in appointment_ids
                    ],
                )
            )
            .scalars()
            .all()
        )
    return list(ids)


def start_worker(url: str, log_path: Path, **env: str) -> subprocess.Popen[bytes]:
    environment = (
        os.environ
        | {
            "CONVOC_ENV": "test",
            "CONVOC_SECRET_KEY": "w" * 40,
            "CONVOC_DATABASE_URL": url,
            "CONVOC_WORKER_INTERVAL_SECONDS": "0.5",
            "CONVOC_WORKER_LEASE_SECONDS": "5",
            "CONVOC_LOG_LEVEL": "INFO",
        }
        | env
    )
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "app", "worker"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
        )


def sent_references(*logs: Path) -> Counter[int]:
    return Counter(int(m) for log in logs for m in SENT_LINE.findall(log.read_text()))


async def statuses(engine: AsyncEngine) -> Counter[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(Notification.status, func.count()).group_by(Notification.status)
        )
        return Counter({status: n for status, n in rows})


async def wait_until(predicate: Callable[[], Awaitable[bool]], limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


def stop(*workers: subprocess.Popen[bytes]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()


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
