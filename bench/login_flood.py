"""Login flood benchmark: do other agents' requests wait while passwords are hashed?

    python -m bench.login_flood [--logins 25] [--rounds 8] [--workers 1]

Builds the booking benchmark's scratch PostgreSQL database, gives its administrator a password,
starts ``python -m app serve`` (one process by default: where a blocked event loop shows most)
and measures ``GET /api/v1/persons`` latency from one agent reading in a loop, first alone, then
while ``--logins`` logins at a time (each an Argon2id verification) hit the same server, round
after round. Before the fix the verification ran on the event loop: with 25 parallel logins a
person list took up to 3.6 s (median 7 ms). Target: the reader's p95 during the flood under
50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from typing import Any

import httpx
from sqlalchemy import text

from app.auth.passwords import hash_now
from app.config import Settings
from app.db import create_engine
from bench.booking_api import (
    SECRET,
    free_port,
    percentiles,
    prepare_database,
    start_server,
    stop,
    wait_ready,
)
from bench.common import load_report, load_snapshot, machine, save

PASSWORD = "Banc-d-essai-cheval-bleu-orage"
TARGET_P95_MS = 50.0


async def set_password(url: str) -> None:
    engine = create_engine(Settings(env="test", secret_key=SECRET, database_url=url))
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE agent SET password_hash = :h WHERE email = 'admin@bench.fr'"),
            {"h": hash_now(PASSWORD)},
        )
    await engine.dispose()


async def read_until(client: httpx.AsyncClient, stop_at: asyncio.Event) -> list[float]:
    samples: list[float] = []
    while not stop_at.is_set():
        start = time.perf_counter()
        answer = await client.get("/api/v1/persons", params={"limit": 20})
        answer.raise_for_status()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


async def flood(base: str, logins: int, rounds: int) -> tuple[list[float], int]:
    latencies: list[float] = []
    refused = 0
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:

        async def one() -> None:
            nonlocal refused
            start = time.perf_counter()
            answer = await client.post(
                "/api/v1/auth/token", data={"username": "admin@bench.fr", "password": PASSWORD}
            )
            latencies.append((time.perf_counter() - start) * 1000)
            refused += answer.status_code != 200

        for _ in range(rounds):
            await asyncio.gather(*(one() for _ in range(logins)))
    return latencies, refused


async def main(args: argparse.Namespace) -> None:
    snapshot = load_snapshot()
    url, token, _, _ = await prepare_database()
    await set_password(url)
    port = free_port()
    # Production's limits would refuse the flood (429) before any hash is checked.
    os.environ["CONVOC_LOGIN_RATE_LIMIT"] = "10000"
    server = start_server(url, port, args.workers)
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_ready(base, server)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as reader:
            for _ in range(20):  # warm-up
                await reader.get("/api/v1/persons", params={"limit": 20})
            done = asyncio.Event()
            alone_task = asyncio.create_task(read_until(reader, done))
            await asyncio.sleep(args.seconds_alone)
            done.set()
            alone = await alone_task
            done = asyncio.Event()
            during_task = asyncio.create_task(read_until(reader, done))
            started = time.perf_counter()
            login_latencies, refused = await flood(base, args.logins, args.rounds)
            flood_seconds = time.perf_counter() - started
            done.set()
            during = await during_task
    finally:
        stop(server)
    during_stats = percentiles(during)
    result: dict[str, Any] = {
        "machine": machine(),
        "load": load_report(snapshot),
        "server_processes": args.workers,
        "logins": {
            "parallel": args.logins,
            "rounds": args.rounds,
            "seconds": round(flood_seconds, 2),
            "per_second": round(args.logins * args.rounds / flood_seconds, 1),
            "refused": refused,
            **percentiles(login_latencies),
        },
        "reader_alone": {"requests": len(alone), **percentiles(alone)},
        "reader_during_flood": {"requests": len(during), **during_stats},
        "summary": [
            {
                "metric": "GET /persons p95 during a login flood",
                "value": during_stats["p95_ms"],
                "unit": "ms",
                "target": f"< {TARGET_P95_MS:.0f} ms",
                "ok": during_stats["p95_ms"] < TARGET_P95_MS,
            }
        ],
    }
    path = save("login_flood", result)
    for key in ("logins", "reader_alone", "reader_during_flood"):
        print(f"{key}: {result[key]}")
    print(f"load: {result['load']}\nrésultats : {path}")


def cli() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--logins", type=int, default=25, help="parallel logins per round")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds-alone", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
