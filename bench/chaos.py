"""Chaos benchmark (the long version of the CI chaos test): 20,000 due messages, 4 worker
processes, the simulator failing 20 % of requests temporarily, a random worker SIGKILLed every
few seconds and restarted until everything is out.

    python -m bench.chaos [--messages 20000] [--workers 4] [--kill-every 2,4]

Afterwards, from the simulator's own counts: every message accepted exactly once (none lost,
none twice), none accepted after its ``send_not_after``. Messages in flight in a worker at the
instant it was killed (accepted by the provider, result not yet written) are sent again when
their lease runs out, with the same ``reference``: the provider answers them from its
idempotency record (``replayed``, bounded by kills × per-worker concurrency). With
``--no-idempotency`` the simulator forgets references, as providers without such a key do, and
those re-sends become duplicate SMS, measured against the same bound.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from app.cli import run_migrations
from app.config import Settings
from app.db import create_engine
from app.reminders.references import notification_id_of
from bench.common import load_report, load_snapshot, machine, recreate_database, run, save
from bench.dispatch import (
    API_KEY,
    SECRET_KEY,
    WEBHOOK_SECRET,
    count_status,
    count_unsettled,
    free_port,
    seed,
    spawn,
    terminate,
    wait_for_line,
    wait_http,
)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--kill-every", default="2,4", help="seconds, min,max")
    parser.add_argument("--limit", type=float, default=900.0)
    parser.add_argument(
        "--no-idempotency",
        action="store_true",
        help="the simulator forgets references (a provider without an idempotency key)",
    )
    args = parser.parse_args()
    low, high = (float(x) for x in args.kill_every.split(","))
    rng = random.Random(20)
    load = load_snapshot()
    url = await recreate_database("convoc_bench_chaos")
    await asyncio.to_thread(run_migrations, url)
    engine = create_engine(Settings(env="test", secret_key=SECRET_KEY), url)
    port = free_port()
    simulator_url = f"http://127.0.0.1:{port}"
    env = {
        "CONVOC_ENV": "test",
        "CONVOC_SECRET_KEY": SECRET_KEY,
        "CONVOC_DATABASE_URL": url,
        "CONVOC_LOG_LEVEL": "INFO",
        "CONVOC_WORKER_INTERVAL_SECONDS": "0.5",
        "CONVOC_WORKER_LEASE_SECONDS": "10",
        "CONVOC_WORKER_CONCURRENCY": str(args.concurrency),
        "CONVOC_SMS_PROVIDERS": "http",
        "CONVOC_SMS_HTTP_BASE_URL": simulator_url,
        "CONVOC_SMS_HTTP_API_KEY": API_KEY,
        "CONVOC_SMS_HTTP_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "CONVOC_SMS_HTTP_RATE_LIMIT": "1000",
        "CONVOC_SMS_HTTP_READ_TIMEOUT": "2",
        "CONVOC_SMS_RETRY_BASE_SECONDS": "0.5",
        "CONVOC_SMS_RETRY_CAP_SECONDS": "5",
        "CONVOC_SMS_CIRCUIT_COOLDOWN_SECONDS": "1",
    }
    kills = 0
    with tempfile.TemporaryDirectory(prefix="convoc-bench-chaos-") as folder:
        logs = Path(folder)
        simulator = spawn(
            [sys.executable, "-m", "app.sms.simulator", "--port", str(port),
             "--latency-ms", "20", "--error-5xx", "0.2", "--seed", "20",
             "--idempotency-hours", "0" if args.no_idempotency else "24"],
            logs / "simulator.log",
            {"CONVOC_SIM_API_KEY": API_KEY},
        )  # fmt: skip
        workers: list[Any] = []
        try:
            await wait_http(f"{simulator_url}/_health", simulator)
            t0 = datetime.now(UTC).replace(microsecond=0)
            await seed(engine, args.messages, t0)
            for i in range(args.workers):
                log = logs / f"worker{i}-0.log"
                workers.append(spawn([sys.executable, "-m", "app", "worker"], log, env))
                await wait_for_line(log, "worker.started", 1)
            start = time.monotonic()
            while time.monotonic() - start < args.limit:
                await asyncio.sleep(rng.uniform(low, high))
                if await count_unsettled(engine) == 0:
                    break
                victim = rng.randrange(len(workers))
                workers[victim].kill()
                workers[victim].wait(timeout=10)
                kills += 1
                log = logs / f"worker{victim}-{kills}.log"
                workers[victim] = spawn([sys.executable, "-m", "app", "worker"], log, env)
            elapsed = time.monotonic() - start
            async with httpx.AsyncClient(timeout=30) as client:
                stats = (await client.get(f"{simulator_url}/_stats")).json()
            statuses = await count_status(engine)
            async with engine.connect() as conn:
                not_after = {
                    i: at
                    for i, at in await conn.execute(
                        text("SELECT id, send_not_after FROM notification")
                    )
                }
        finally:
            terminate(*workers, simulator)
    await engine.dispose()
    # The simulator counts per reference (<notification id>-<nonce>): count per notification.
    accepted: dict[int | None, int] = {}
    for reference, count in stats["accepted"].items():
        key = notification_id_of(reference)
        accepted[key] = accepted.get(key, 0) + count
    expected = set(range(1, args.messages + 1))
    missing = len(expected - set(accepted))
    duplicates = sum(n - 1 for n in accepted.values())
    late = sum(
        1
        for ref, at in stats["accepted_at"].items()
        if datetime.fromisoformat(at) > not_after[notification_id_of(ref)]
    )
    bound = kills * args.concurrency
    replayed = int(stats.get("replayed_total", 0))
    # With the key, a re-send is replayed, not sent: exactly once. Without it, the same
    # re-sends are duplicate SMS, within the bound.
    duplicate_target = bound if args.no_idempotency else 0
    result = {
        "machine": machine(),
        "load": load_report(load),
        "parameters": {
            "messages": args.messages,
            "workers": args.workers,
            "concurrency": args.concurrency,
            "simulator": {"latency_ms": 20, "error_5xx": 0.2},
            "kill_every_seconds": [low, high],
            "lease_seconds": 10,
            "idempotency": not args.no_idempotency,
        },
        "seconds": round(elapsed, 1),
        "kills": kills,
        "accepted_references": len(accepted),
        "missing": missing,
        "duplicates": duplicates,
        "duplicate_bound": bound,
        "replayed": replayed,
        "accepted_after_send_not_after": late,
        "rejected": stats["rejected"],
        "statuses": statuses,
        "summary": [
            {"metric": "messages lost", "value": missing, "unit": "", "target": "= 0",
             "ok": missing == 0},
            {"metric": "accepted after send_not_after", "value": late, "unit": "", "target": "= 0",
             "ok": late == 0},
            {"metric": f"duplicate SMS ({kills} kills)", "value": duplicates, "unit": "",
             "target": f"<= {duplicate_target}" if duplicate_target else "= 0",
             "ok": duplicates <= duplicate_target},
            {"metric": "re-sends answered from the idempotency record", "value": replayed,
             "unit": "", "target": f"<= {bound}", "ok": replayed <= bound},
            {"metric": "chaos run duration", "value": round(elapsed, 1), "unit": "s",
             "target": "-", "ok": None},
        ],
    }  # fmt: skip
    path = save("chaos", result)
    print(f"chaos benchmark → {path}")
    print(
        f"  {args.messages} messages, {kills} kills in {elapsed:.0f} s: lost {missing}, "
        f"late {late}, duplicates {duplicates}, replayed {replayed} (bound {bound}), "
        f"5xx {stats['rejected']}"
    )


if __name__ == "__main__":
    run(main)
