"""Claim benchmark: take a batch of 500 due messages among 10 million notification rows.

    python -m bench.claim [--rows 10000000] [--runs 50]

Fills a scratch PostgreSQL database with generate_series: 10 million notifications, most of
them sent or delivered long ago, some failed / skipped / cancelled / expired, 1 % planned for
later, 20,000 planned and due now, 2,000 ``sending`` under a live lease (other workers). Then
times the dispatcher's own ``claim`` (``FOR UPDATE SKIP LOCKED`` sub-select + ``UPDATE …
RETURNING``), each claim in a transaction rolled back, so every run claims from the same
state. Median of ``--runs`` after a warm-up; EXPLAIN (ANALYZE, BUFFERS) of one claim goes into
the JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, text

from app.cli import run_migrations
from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.reminders.dispatcher import DispatchConfig, claim
from bench.common import load_report, load_snapshot, machine, recreate_database, run, save

TARGET_MS = 20.0
BATCH = 500

FILL = [
    "INSERT INTO spip (code, name, timezone, phone_region, created_at, updated_at) "
    "VALUES ('SPIP-1', 'SPIP 1', 'Europe/Paris', 'FR', now(), now())",
    "INSERT INTO place (spip_id, name, timezone, active, created_at, updated_at) "
    "SELECT id, 'Antenne', timezone, true, now(), now() FROM spip",
    "INSERT INTO person (spip_id, first_name, last_name, phone, phone_status, archived, "
    "created_at, updated_at) SELECT 1, 'P', 'N' || g, '+33612345678', 'valid', false, now(), now() "
    "FROM generate_series(1, 1000) g",
    "INSERT INTO appointment (spip_id, person_id, place_id, appointment_type_id, starts_at, "
    "duration_minutes, status, summons_requested, created_at, updated_at) "
    "SELECT 1, g, 1, (SELECT min(id) FROM appointment_type), now() + interval '2 days', 45, "
    "'booked', false, now(), now() FROM generate_series(1, 1000) g",
    # History: 10 million rows over three years, statuses as a real table holds them; 1 % planned
    # for the coming weeks; the last 22,000 rows are the live ones (due, or leased).
    "INSERT INTO notification (appointment_id, spip_id, kind, sequence, idempotency_key, status, "
    "reason, planned_at, send_at, send_not_after, attempts, lease_owner, lease_expires_at, "
    "provider, segments, sent_at, created_at, updated_at) "
    "SELECT 1 + g % 1000, 1, 'reminder', g, 'k:' || g, "
    "CASE WHEN g > {history} + 2000 THEN 'planned' WHEN g > {history} THEN 'sending' "
    "WHEN g % 100 = 0 THEN 'planned' "
    "ELSE (ARRAY['delivered','delivered','delivered','delivered','delivered','delivered','sent',"
    "'failed','skipped','cancelled','expired','undelivered'])[1 + g % 12] END, "
    "NULL, t.at, "
    "CASE WHEN g > {history} + 2000 THEN now() - interval '1 minute' "
    "WHEN g > {history} THEN now() WHEN g % 100 = 0 THEN now() + (g % 30 + 1) * interval '1 day' "
    "ELSE t.at END, "
    "CASE WHEN g > {history} OR g % 100 = 0 THEN now() + interval '40 days' ELSE t.at + interval '2 days' END, "
    "1, CASE WHEN g > {history} AND g <= {history} + 2000 THEN 'other-worker' END, "
    "CASE WHEN g > {history} AND g <= {history} + 2000 THEN now() + interval '1 hour' END, "
    "'http', 1, t.at, t.at, t.at "
    "FROM generate_series(1, {rows}) g, "
    "LATERAL (SELECT now() - interval '3 years' + (g::float / {rows}) * interval '3 years' AS at) t",
    "VACUUM ANALYZE notification",
]


async def fill(url: str, rows: int) -> float:
    engine = create_engine(Settings(env="test", secret_key="c" * 40), url)
    start = time.perf_counter()
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        for statement in FILL:
            await conn.execute(text(statement.format(rows=rows, history=rows - 22_000)))
    await engine.dispose()
    return time.perf_counter() - start


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="reuse the filled database")
    args = parser.parse_args()
    load = load_snapshot()
    name = "convoc_bench_claim"
    fill_seconds = None
    if args.keep:
        from bench.common import database_url

        url = database_url(name)
    else:
        url = await recreate_database(name)
        await asyncio.to_thread(run_migrations, url)
        fill_seconds = await fill(url, args.rows)
    engine = create_engine(Settings(env="test", secret_key="c" * 40), url)
    sessionmaker = create_sessionmaker(engine)
    config = replace(DispatchConfig(), batch_size=BATCH, worker_id="bench-claim")
    captured: list[tuple[str, Any]] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _capture(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "SKIP LOCKED" in statement and not statement.startswith("EXPLAIN"):
            captured[:] = [(statement, params)]

    async def one_claim() -> tuple[float, int]:
        async with sessionmaker() as session:
            start = time.perf_counter()
            ids = await claim(session, datetime.now(UTC), config)
            elapsed = (time.perf_counter() - start) * 1000
            await session.rollback()
        return elapsed, len(ids)

    await one_claim()  # warm-up (plans, caches)
    samples, sizes = [], set()
    for _ in range(args.runs):
        elapsed, size = await one_claim()
        samples.append(elapsed)
        sizes.add(size)
    statement, params = captured[0]
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection
        transaction = driver.transaction()
        await transaction.start()
        try:  # EXPLAIN ANALYZE runs the UPDATE: roll it back
            plan = [
                r[0] for r in await driver.fetch("EXPLAIN (ANALYZE, BUFFERS) " + statement, *params)
            ]
        finally:
            await transaction.rollback()
    async with engine.connect() as conn:
        total = await conn.scalar(text("SELECT count(*) FROM notification"))
        due = await conn.scalar(
            text("SELECT count(*) FROM notification WHERE status = 'planned' AND send_at <= now()")
        )
    await engine.dispose()
    median = statistics.median(samples)
    result = {
        "machine": machine(),
        "load": load_report(load),
        "parameters": {"rows": total, "due_rows": due, "batch": BATCH, "runs": args.runs},
        "fill_seconds": round(fill_seconds, 1) if fill_seconds is not None else None,
        "claim_ms": {
            "median": round(median, 2),
            "p90": round(sorted(samples)[int(0.9 * (len(samples) - 1))], 2),
            "min": round(min(samples), 2),
            "max": round(max(samples), 2),
        },
        "claimed_per_run": sorted(sizes),
        "explain_analyze": plan,
        "summary": [
            {
                "metric": f"claim {BATCH} due among {total:,} rows (median)",
                "value": round(median, 2),
                "unit": "ms",
                "target": f"< {TARGET_MS:g}",
                "ok": median < TARGET_MS and sizes == {BATCH},
            }
        ],
    }
    path = save("claim", result)
    print(f"claim benchmark → {path}")
    print(
        f"  median {median:.2f} ms over {args.runs} claims of {sorted(sizes)} rows among {total:,}"
    )
    print("\n".join(plan))


if __name__ == "__main__":
    run(main)
