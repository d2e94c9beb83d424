"""Real processes for the PostgreSQL integration tests: workers, the SMS simulator, the API.

Every wait is bounded and every process is terminated (then killed) by the helpers' callers in
``finally`` blocks.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.models import Agent, Appointment, Notification, Person, Place, Spip

ROOT = Path(__file__).resolve().parents[2]
SENT_LINE = re.compile(r"sms\.console_sent reference=(\d+)")


def zone_at_noon() -> str:
    """A fixed-offset zone where it is about noon now, so the send window is open."""
    offset = 12 - datetime.now(UTC).hour  # local = UTC + offset
    offset = max(-12, min(14, offset if offset <= 14 else offset - 24))
    return f"Etc/GMT{'-' if offset >= 0 else '+'}{abs(offset)}"  # Etc/GMT-3 is UTC+3


async def _insert_one(conn: AsyncConnection, model: Any, **values: Any) -> int:
    """Insert one row and return its id."""
    return int(
        (await conn.execute(insert(model).values(**values).returning(model.id))).scalar_one()
    )


async def seed_due_messages(
    engine: AsyncEngine, count: int, *, not_after: Callable[[int], timedelta] | None = None
) -> list[int]:
    """``count`` reminders due now, of as many convocations of one person (once per database).

    ``not_after(i)`` is the i-th row's send_not_after from now (default: one day).
    """
    now = datetime.now(UTC)
    not_after = not_after or (lambda i: timedelta(days=1))
    async with engine.begin() as conn:
        tz = zone_at_noon()
        stamps = {"created_at": now, "updated_at": now}
        spip_id = await _insert_one(
            conn, Spip, code="SPIP-W", name="SPIP W", timezone=tz, phone_region="FR", **stamps
        )
        place_id = await _insert_one(
            conn, Place, spip_id=spip_id, name="Antenne", address="1 rue", timezone=tz,
            active=True, **stamps,
        )  # fmt: skip
        agent_id = await _insert_one(
            conn, Agent, spip_id=spip_id, name="A", email="a@w.fr", role="cpip", active=True,
            **stamps,
        )  # fmt: skip
        person_id = await _insert_one(
            conn, Person, spip_id=spip_id, referent_agent_id=agent_id, first_name="P",
            last_name="Q", phone="+33612345678", phone_status="valid", archived=False, **stamps,
        )  # fmt: skip
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
                            spip_id=spip_id,
                            kind="reminder",
                            sequence=1,
                            idempotency_key=f"{a}:reminder:1",
                            status="planned",
                            planned_at=now - timedelta(minutes=1),
                            send_at=now - timedelta(minutes=1),
                            send_not_after=now + not_after(i),
                            attempts=0,
                            created_at=now,
                            updated_at=now,
                        )
                        for i, a in enumerate(appointment_ids)
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
            worker.wait(timeout=10)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_http(url: str, process: subprocess.Popen[bytes], limit: float = 30.0) -> None:
    """Wait until ``url`` answers 200, failing early if ``process`` died."""
    deadline = time.monotonic() + limit
    async with httpx.AsyncClient(timeout=1.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"process exited with {process.returncode} before {url}")
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} did not answer in {limit} s")


def start_simulator(
    port: int, log_path: Path, *, api_key: str, webhook_secret: str, **flags: float
) -> subprocess.Popen[bytes]:
    """``python -m app.sms.simulator`` on ``port``; ``flags`` are its options (error_5xx=0.3)."""
    environment = os.environ | {
        "CONVOC_SIM_API_KEY": api_key,
        "CONVOC_SIM_WEBHOOK_SECRET": webhook_secret,
    }
    command = [sys.executable, "-m", "app.sms.simulator", "--port", str(port)]
    for name, value in flags.items():
        command += [f"--{name.replace('_', '-')}", str(value)]
    with log_path.open("wb") as log:
        return subprocess.Popen(
            command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=environment
        )


def start_api(url: str, port: int, log_path: Path, **env: str) -> subprocess.Popen[bytes]:
    """``python -m app serve`` on ``port``, without the embedded dispatcher."""
    environment = (
        os.environ
        | {
            "CONVOC_ENV": "test",
            "CONVOC_SECRET_KEY": "w" * 40,
            "CONVOC_DATABASE_URL": url,
            "CONVOC_WORKER_EMBEDDED": "false",
            "CONVOC_LOG_LEVEL": "INFO",
        }
        | env
    )
    command = [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as log:
        return subprocess.Popen(
            command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=environment
        )


async def simulator_stats(base: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        return dict((await client.get(f"{base}/_stats")).json())
