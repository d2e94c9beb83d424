"""Shared helpers for the benchmarks: machine facts, versions, a scratch PostgreSQL database."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
ADMIN_URL = os.environ.get(
    "CONVOC_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def machine() -> dict[str, Any]:
    import sqlalchemy

    mem_kb = 0
    with contextlib.suppress(OSError, ValueError):
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "sqlalchemy": sqlalchemy.__version__,
        "postgresql": subprocess.run(
            ["psql", "--version"], capture_output=True, text=True, check=False
        ).stdout.strip(),
    }


def database_url(name: str) -> str:
    """``ADMIN_URL`` with its database replaced by ``name`` (the query, e.g. ``?host=`` for a
    Unix socket, kept)."""
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


async def recreate_database(name: str) -> str:
    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return database_url(name)


async def timed(fn: Callable[[], Awaitable[Any]], runs: int) -> dict[str, float]:
    """Milliseconds of ``runs`` calls after one warm-up call."""
    await fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - start) * 1000)
    return {
        "runs": runs,
        "median_ms": round(statistics.median(samples), 1),
        "min_ms": round(min(samples), 1),
        "max_ms": round(max(samples), 1),
    }


def save(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False))
    return path


def run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(main())


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def busy_neighbours() -> list[str]:
    """Other benchmarks running on the machine meanwhile (they share its cores): module names
    only, never command lines (they may carry tokens)."""
    out = subprocess.run(["pgrep", "-af", "bench\\."], capture_output=True, text=True, check=False)
    names = set()
    for line in out.stdout.splitlines():
        pid, _, command = line.partition(" ")
        found = re.search(r"-m (bench\.[a-z_]+)", command)
        if found and int(pid) not in (os.getpid(), os.getppid()):
            names.add(found.group(1))
    return sorted(names)


def load_snapshot() -> dict[str, Any]:
    """The machine's load when a benchmark starts, and the other benchmarks sharing its cores."""
    return {"loadavg_before": load_average(), "other_benchmarks_running": busy_neighbours()}


def load_report(snapshot: dict[str, Any]) -> dict[str, Any]:
    """``snapshot`` with the load average at the end, for the results file."""
    return {**snapshot, "loadavg_after": load_average()}
