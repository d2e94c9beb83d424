"""Free-slot search benchmark: a place with 2 years of slots, on PostgreSQL.

    python -m bench.slots [--places 20] [--runs 300]

Fills a scratch database with generate_series: one SPIP (Europe/Paris), ``--places`` places of
5 agendas each, 16 half-hour slots per agenda and working day over 2027–2028 (about 42,000
slots per place, a third of them full), then times ``app.agendas.service.list_slots`` with
``free=True`` for one place — the query behind ``GET /places/{id}/slots?free=true`` and the
building of its rows — over a week (the default period) and over four weeks, each in its own
session. Target: p95 < 30 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text

from app.agendas import service as agenda_service
from app.agendas.schemas import SlotRead
from app.cli import run_migrations
from app.config import Settings
from app.core import clock
from app.db import create_engine, create_sessionmaker
from app.models import Place
from bench.common import load_report, load_snapshot, machine, recreate_database, run, save

DB_NAME = "convoc_bench_slots"
TARGET_P95_MS = 30.0
NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)

FILL = [
    "INSERT INTO spip (code, name, timezone, phone_region, created_at, updated_at) "
    "VALUES ('SPIP-SLOTS', 'SPIP créneaux', 'Europe/Paris', 'FR', now(), now())",
    "INSERT INTO place (spip_id, name, timezone, active, created_at, updated_at) "
    "SELECT id, 'Antenne ' || g, timezone, true, now(), now() FROM spip, generate_series(1, {places}) g",
    "INSERT INTO agenda (spip_id, place_id, name, appointment_types, active, created_at, updated_at) "
    "SELECT p.spip_id, p.id, 'Agenda ' || g, '[]', true, now(), now() "
    "FROM place p, generate_series(1, 5) g",
    "INSERT INTO slot (agenda_id, spip_id, place_id, starts_at, duration_minutes, capacity, booked, "
    "closed, created_at, updated_at) "
    "SELECT a.id, a.spip_id, a.place_id, "
    "(d + interval '8 hours' + k * interval '30 minutes') AT TIME ZONE 'Europe/Paris', 30, 2, "
    "(a.id + k + extract(doy from d)::int) % 3, false, now(), now() "
    "FROM agenda a, generate_series(timestamp '2027-01-01', timestamp '2028-12-31', interval '1 day') d, "
    "generate_series(0, 15) k WHERE extract(isodow from d) < 6",
    "ANALYZE",
]


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "runs": len(ordered),
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1], 2),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1], 2),
        "max_ms": round(ordered[-1], 2),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--places", type=int, default=20)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    snapshot = load_snapshot()
    url = await recreate_database(DB_NAME)
    await asyncio.to_thread(run_migrations, url)
    engine = create_engine(Settings(env="test", secret_key="b" * 40, database_url=url))
    fill_start = time.perf_counter()
    async with engine.begin() as conn:
        for statement in FILL:
            await conn.execute(text(statement.format(places=args.places)))
    async with engine.connect() as conn:
        total = await conn.scalar(text("SELECT count(*) FROM slot"))
        place_id = await conn.scalar(text("SELECT min(id) FROM place"))
        per_place = await conn.scalar(
            text(f"SELECT count(*) FROM slot WHERE place_id = {place_id}")
        )
    fill_s = time.perf_counter() - fill_start
    clock.set_clock(lambda: NOW)
    sessionmaker = create_sessionmaker(engine)
    results = {}
    for label, days in (("week", 6), ("four_weeks", 27)):
        samples, found = [], 0
        for n in range(args.runs + 10):
            first = date(2027, 3, 1) + timedelta(days=(n * 7) % 600)
            start = time.perf_counter()
            async with sessionmaker() as session:
                place = await session.get_one(Place, place_id)
                views = await agenda_service.list_slots(
                    session, place=place, first=first, last=first + timedelta(days=days), free=True
                )
                rows = [SlotRead.from_view(v) for v in views]
            elapsed = (time.perf_counter() - start) * 1000
            if n >= 10:  # warm-up
                samples.append(elapsed)
                found = max(found, len(rows))
        results[label] = percentiles(samples) | {"free_slots_returned_max": found}
    await engine.dispose()
    clock.reset_clock()
    week, four = results["week"], results["four_weeks"]
    result = {
        "machine": machine(),
        "load": load_report(snapshot),
        "parameters": {"places": args.places, "runs": args.runs, "now": NOW.isoformat()},
        "slots_total": total,
        "slots_in_place": per_place,
        "fill_seconds": round(fill_s, 1),
        "free_slot_search": results,
        "summary": [
            {
                "metric": f"free slots of a place, {label} of 2 years (p95)",
                "value": row["p95_ms"],
                "unit": "ms",
                "target": f"< {TARGET_P95_MS:.0f} ms",
                "ok": row["p95_ms"] < TARGET_P95_MS,
            }
            for label, row in (("a week", week), ("4 weeks", four))
        ],
    }
    path = save("slots", result)
    print(f"slots: {total} in all, {per_place} in the place (filled in {fill_s:.1f} s)")
    for label, row in results.items():
        print(f"free-slot search, {label}: {row}")
    print(f"written to {path}")


if __name__ == "__main__":
    run(main)
