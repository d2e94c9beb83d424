"""Reports benchmark: 10 million convocations over 100 SPIPs and 3 years, on PostgreSQL.

    python bench/reports.py [--convocations 10000000] [--keep]

Fills a scratch database with generate_series (SPIPs in metropolitan and overseas zones, one
announcing SMS per convocation with realistic statuses), rebuilds the monthly aggregates, then
times (median of 5 after a warm-up):
  1. one SPIP over a year, by month (target < 300 ms);
  2. the national view over a year (target < 3 s);
and, for comparison, the same two straight from live data (no aggregates).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, date, datetime

from sqlalchemy import text

from app.cli import run_migrations
from app.config import Settings
from app.core import clock
from app.db import create_engine, create_sessionmaker
from app.reports import attendance
from bench.common import database_url, machine, recreate_database, run, save, timed

ZONES = [
    "Europe/Paris", "America/Cayenne", "Indian/Reunion", "Indian/Mayotte", "America/Guadeloupe",
    "America/Martinique", "America/Miquelon", "Pacific/Tahiti", "Pacific/Noumea", "Pacific/Wallis",
]  # fmt: skip
# "Now" is fixed so that the benchmark's year is fully closed (served by the aggregates).
NOW = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)

FILL = [
    "INSERT INTO spip (code, name, timezone, phone_region, created_at, updated_at) "
    "SELECT 'SPIP-' || g, 'SPIP ' || g, (ARRAY[{zones}])[1 + g % {nzones}], 'FR', now(), now() "
    "FROM generate_series(1, 100) g",
    "INSERT INTO place (spip_id, name, timezone, active, created_at, updated_at) "
    "SELECT id, 'Antenne', timezone, true, now(), now() FROM spip",
    "INSERT INTO agent (spip_id, name, email, role, active, failed_logins, created_at, updated_at) "
    "SELECT s.id, 'Agent ' || s.id || '-' || g, 'a' || s.id || '-' || g || '@bench.fr', 'cpip', true, 0, "
    "now(), now() FROM spip s, generate_series(1, 20) g",
    "INSERT INTO person (spip_id, first_name, last_name, phone, phone_status, archived, "
    "created_at, updated_at) SELECT 1 + g % 100, 'P', 'N' || g, '+33612345678', 'valid', false, "
    "now(), now() FROM generate_series(1, 200000) g",
    # Convocations: spread over 2024-01-01 .. 2026-12-31, working hours, realistic outcomes.
    "INSERT INTO appointment (spip_id, person_id, place_id, appointment_type_id, agent_id, "
    "starts_at, duration_minutes, status, cancel_reason, summons_requested, created_at, updated_at) "
    "SELECT 1 + g % 100, 1 + (g % 200000), 1 + g % 100, 1 + g % 7, 1 + (g % 100) * 20 + g % 20, "
    "timestamptz '2024-01-01 07:00+00' + ((g * 7919) % 1096) * interval '1 day' "
    "+ ((g * 31) % 10) * interval '1 hour', 45, "
    "(ARRAY['honored','honored','honored','honored','honored','honored','missed','missed',"
    "'excused','cancelled','booked'])[1 + (g * 13) % 11], "
    "CASE WHEN (g * 13) % 11 = 9 THEN (ARRAY['cancelled','rescheduled'])[1 + g % 2] END, "
    "false, now(), now() FROM generate_series(1::bigint, {n}) g",
    # One announcing SMS per convocation (most delivered), except those without a phone.
    "INSERT INTO notification (appointment_id, spip_id, kind, sequence, idempotency_key, status, "
    "reason, planned_at, send_at, send_not_after, attempts, provider, segments, sent_at, "
    "delivered_at, created_at, updated_at) "
    "SELECT id, spip_id, 'reminder', 1, id || ':reminder:1', "
    "(ARRAY['delivered','delivered','delivered','delivered','delivered','delivered','sent',"
    "'failed','skipped','undelivered'])[1 + id % 10], "
    "CASE WHEN id % 10 = 8 THEN 'no_phone' END, starts_at - interval '2 days', "
    "starts_at - interval '2 days', starts_at - interval '1 hour', 1, 'http', 1, "
    "starts_at - interval '2 days', starts_at - interval '2 days' + interval '20 seconds', now(), now() "
    "FROM appointment WHERE id % 17 <> 0",
    "ANALYZE",
]


async def fill(url: str, n: int) -> float:
    engine = create_engine(Settings(env="test", secret_key="b" * 40), url)
    start = time.perf_counter()
    zones = ", ".join(f"'{z}'" for z in ZONES)
    async with engine.connect() as conn:
        for statement in FILL:
            await conn.execute(text(statement.format(zones=zones, nzones=len(ZONES), n=n)))
            await conn.commit()
    await engine.dispose()
    return time.perf_counter() - start


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--convocations", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--reuse", action="store_true", help="time the database filled by an earlier run"
    )
    args = parser.parse_args()
    fill_seconds = 0.0
    if args.reuse:
        url = database_url("convoc_bench_reports")
    else:
        url = await recreate_database("convoc_bench_reports")
        await asyncio.to_thread(run_migrations, url)
        fill_seconds = await fill(url, args.convocations)
    clock.set_clock(lambda: NOW)
    settings = Settings(env="test", secret_key="b" * 40, database_url=url)
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    year = (date(2026, 1, 1), date(2026, 12, 31))

    async def report(spip_id: int | None) -> None:
        async with sessionmaker() as session:
            await attendance.attendance(
                session, spip_id=spip_id, start=year[0], end=year[1], group_by="month"
            )

    live = {
        "spip_year_by_month": await timed(lambda: report(1), args.runs),
        "national_year": await timed(lambda: report(None), max(1, args.runs // 2)),
    }
    start = time.perf_counter()
    async with sessionmaker() as session:
        months = await attendance.rebuild(session)
        await session.commit()
    rebuild_seconds = time.perf_counter() - start
    aggregated = {
        "spip_year_by_month": await timed(lambda: report(1), args.runs),
        "national_year": await timed(lambda: report(None), args.runs),
    }
    await engine.dispose()
    result = {
        "machine": machine(),
        "parameters": {
            "convocations": args.convocations,
            "spips": 100,
            "years": 3,
            "runs": args.runs,
        },
        "fill_seconds": round(fill_seconds, 1),
        "rebuild_seconds": round(rebuild_seconds, 1),
        "rebuilt_months": len(months),
        "with_aggregates": aggregated,
        "live_only": live,
        "targets_ms": {"spip_year_by_month": 300, "national_year": 3000},
        "summary": [
            {
                "metric": "one SPIP, a year by month (aggregates)",
                "value": aggregated["spip_year_by_month"]["median_ms"],
                "unit": "ms",
                "target": "< 300",
                "ok": aggregated["spip_year_by_month"]["median_ms"] < 300,
            },
            {
                "metric": "national view, a year (aggregates)",
                "value": aggregated["national_year"]["median_ms"],
                "unit": "ms",
                "target": "< 3000",
                "ok": aggregated["national_year"]["median_ms"] < 3000,
            },
            {
                "metric": "one SPIP, a year by month (live only)",
                "value": live["spip_year_by_month"]["median_ms"],
                "unit": "ms",
                "target": "-",
                "ok": None,
            },
            {
                "metric": "national view, a year (live only)",
                "value": live["national_year"]["median_ms"],
                "unit": "ms",
                "target": "-",
                "ok": None,
            },
        ],
    }
    path = save("reports", result)
    print(f"reports benchmark → {path}")
    for name, numbers in aggregated.items():
        print(
            f"  {name:<20} aggregates {numbers['median_ms']:>8} ms   live {live[name]['median_ms']:>8} ms"
        )


if __name__ == "__main__":
    run(main)
