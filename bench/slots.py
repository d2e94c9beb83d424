"""Free-slot search benchmark: a place with 2 years of slots, through the API, on PostgreSQL.

    python -m bench.slots [--places 20] [--runs 300] [--reuse]

Fills a scratch database with generate_series: one SPIP (Europe/Paris), ``--places`` places of
5 agendas each, 16 half-hour slots per agenda and working day over 2027–2028 (about 42,000
slots per place, a third of them full). Then times ``GET /api/v1/places/{id}/slots?free=true``
in process (the ASGI application called directly with a bearer token: routing, the token's
check, the query and the JSON, no network), each request on another period, ``--runs`` times
after 10 warm-ups:

- a week (the default period), whole (``limit=1000``);
- four weeks, whole: every page followed (``limit=1000``, then the ``Link`` of the next page),
  timed from the first request to the last answer;
- four weeks, the default page (``limit`` absent: the first 200);
- the first 50 free slots from a date (``from`` = that day, ``to`` a year later, ``limit=50``).

The load average is recorded before and after each search (the machine is shared), with this
process's CPU time per search (the API and the client, PostgreSQL's own time aside): on a loaded
machine wall-clock time also counts the wait for a core. Target: p95 < 30 ms (wall clock). ``--reuse`` times the database of an earlier run (brought to the current schema).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text

from app.auth.service import issue_token
from app.cli import run_migrations
from app.config import Settings
from app.core import clock
from app.db import create_engine, create_sessionmaker
from app.models import Agent
from bench.common import (
    database_url,
    load_average,
    load_report,
    load_snapshot,
    machine,
    recreate_database,
    run,
    save,
)

DB_NAME = "convoc_bench_slots"
SECRET = "bench-slots-secret-" + "s" * 24
TARGET_P95_MS = 30.0
NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
WARM_UPS = 10

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
    "INSERT INTO agent (spip_id, name, email, role, active, failed_logins, created_at, updated_at) "
    "SELECT id, 'Secrétariat banc', 'slots@bench.fr', 'secretariat', true, 0, now(), now() "
    "FROM spip",
    "ANALYZE",
]

# label → (days after ``from`` for ``to``, limit or None for the default page, follow pages)
SEARCHES: dict[str, tuple[int, int | None, bool]] = {
    "week": (6, 1000, False),
    "four_weeks_whole": (27, 1000, True),
    "four_weeks_default_page": (27, None, False),
    "first_50_from_a_date": (365, 50, False),
}
LABELS = {
    "week": "a week, whole",
    "four_weeks_whole": "4 weeks, whole (every page)",
    "four_weeks_default_page": "4 weeks, default page (200)",
    "first_50_from_a_date": "first 50 free from a date",
}


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "runs": len(ordered),
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1], 2),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1], 2),
        "max_ms": round(ordered[-1], 2),
    }


async def fill(url: str, places: int) -> float:
    engine = create_engine(Settings(env="test", secret_key=SECRET, database_url=url))
    start = time.perf_counter()
    async with engine.begin() as conn:
        for statement in FILL:
            await conn.execute(text(statement.format(places=places)))
    await engine.dispose()
    return time.perf_counter() - start


async def search(
    client: httpx.AsyncClient, path: str, params: dict[str, Any], follow: bool
) -> tuple[int, int]:
    """Free slots received and requests made."""
    answer = await client.get(path, params=params)
    received, requests = len(answer.raise_for_status().json()), 1
    while follow and (link := answer.links.get("next")):
        answer = await client.get(link["url"])
        received, requests = received + len(answer.raise_for_status().json()), requests + 1
    return received, requests


async def timed_search(
    call: Callable[[date], Awaitable[tuple[int, int]]], runs: int
) -> dict[str, Any]:
    samples, cpu, found, pages = [], [], 0, 0
    before = load_average()
    for n in range(runs + WARM_UPS):
        first = date(2027, 3, 1) + timedelta(days=(n * 7) % 600)
        start, start_cpu = time.perf_counter(), time.process_time()
        received, requests = await call(first)
        elapsed = (time.perf_counter() - start) * 1000
        if n >= WARM_UPS:
            samples.append(elapsed)
            cpu.append((time.process_time() - start_cpu) * 1000)
            found, pages = max(found, received), max(pages, requests)
    return percentiles(samples) | {
        # This process's CPU per search (the API and the client, not PostgreSQL): what the
        # search costs whatever the load, where wall-clock time also counts waiting for a core.
        "cpu_p50_ms": round(statistics.median(cpu), 2),
        "free_slots_returned_max": found,
        "requests_max": pages,
        "loadavg_before": before,
        "loadavg_after": load_average(),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--places", type=int, default=20)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--reuse", action="store_true", help="time an already filled database")
    args = parser.parse_args()
    snapshot = load_snapshot()
    fill_s = None
    if args.reuse:
        url = database_url(DB_NAME)
        await asyncio.to_thread(run_migrations, url)
    else:
        url = await recreate_database(DB_NAME)
        await asyncio.to_thread(run_migrations, url)
        fill_s = await fill(url, args.places)
    settings = Settings(env="test", secret_key=SECRET, database_url=url, worker_embedded=False)
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    clock.set_clock(lambda: NOW)
    async with sessionmaker() as session:
        total = await session.scalar(text("SELECT count(*) FROM slot"))
        place_id = await session.scalar(text("SELECT min(id) FROM place"))
        per_place = await session.scalar(
            text(f"SELECT count(*) FROM slot WHERE place_id = {place_id}")
        )
        find_agent = text("SELECT id FROM agent WHERE email = 'slots@bench.fr'")
        if (agent_id := await session.scalar(find_agent)) is None:  # a database of an older run
            await session.execute(text(FILL[-2]))
            agent_id = await session.scalar(find_agent)
        token = (await issue_token(session, await session.get_one(Agent, agent_id), settings)).token
        await session.commit()

    from app.main import create_app  # after the settings: the application reads them

    app = create_app(settings)
    app.state.sessionmaker = sessionmaker
    path = f"/api/v1/places/{place_id}/slots"
    results = {}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://bench",
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        for label, (days, limit, follow) in SEARCHES.items():

            async def call(first: date, days: int = days, limit: int | None = limit,
                           follow: bool = follow) -> tuple[int, int]:  # fmt: skip
                params: dict[str, Any] = {
                    "free": "true",
                    "from": first.isoformat(),
                    "to": (first + timedelta(days=days)).isoformat(),
                } | ({"limit": limit} if limit else {})
                return await search(client, path, params, follow)

            results[label] = await timed_search(call, args.runs)
    await engine.dispose()
    clock.reset_clock()
    result = {
        "machine": machine(),
        "load": load_report(snapshot),
        "parameters": {"places": args.places, "runs": args.runs, "now": NOW.isoformat()},
        "slots_total": total,
        "slots_in_place": per_place,
        "fill_seconds": None if fill_s is None else round(fill_s, 1),
        "free_slot_search": results,
        "summary": [
            {
                "metric": f"free slots of a place (2 years), {LABELS[label]} (p95)",
                "value": row["p95_ms"],
                "unit": "ms",
                "target": f"< {TARGET_P95_MS:.0f} ms",
                "ok": row["p95_ms"] < TARGET_P95_MS,
            }
            for label, row in results.items()
        ],
    }
    saved = save("slots", result)
    filled = "reused" if fill_s is None else f"filled in {fill_s:.1f} s"
    print(f"slots: {total} in all, {per_place} in the place ({filled})")
    print(f"load average: {result['load']}")
    for label, row in results.items():
        print(f"free-slot search, {label}: {row}")
    print(f"written to {saved}")


if __name__ == "__main__":
    run(main)
