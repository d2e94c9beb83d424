"""Dashboard benchmark: ``GET /tableau-de-bord`` for one SPIP-year, on the reports benchmark's
database (10 million convocations over 100 SPIPs and 3 years by default).

    python -m bench.dashboard [--convocations 10000000] [--requests 50] [--reuse [--rebuild]]

Fills a scratch PostgreSQL database with ``bench.reports``'s statements, rebuilds the monthly
aggregates (as the daily job does), adds a manager to SPIP 1, logs in through the login page
(cookie session, CSRF) and times sequential GETs of the dashboard in process (the ASGI
application called directly: the server's time, no network), for the year 2026 by month (the
report served by the aggregates; target p95 < 300 ms), 1–30 December by month (a month so far,
as a manager opens it every day: live data), and, for comparison, by agent (live
data: the aggregates hold months and types only).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from typing import Any

import httpx
from sqlalchemy import text

from app.auth.passwords import hash_now
from app.cli import run_migrations
from app.config import Settings
from app.core import clock
from app.db import create_engine, create_sessionmaker
from app.main import create_app
from app.reports import attendance
from bench.booking_api import percentiles
from bench.common import database_url, load_report, load_snapshot, machine, recreate_database, save
from bench.reports import NOW, fill

DB_NAME = "convoc_bench_dashboard"
SECRET = "bench-dashboard-secret-" + "s" * 24
PASSWORD = "Banc-d-essai-tableau-de-bord"
EMAIL = "dpip-bench@bench.fr"
TARGET_P95_MS = 300.0
CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')
YEAR = {"du": "2026-01-01", "au": "2026-12-31"}
# A month so far, as a manager sees it every day: not a whole closed month, so read live.
MONTH_SO_FAR = {"du": "2026-12-01", "au": "2026-12-30", "groupe": "mois"}
VIEWS = {
    "SPIP-year by month": {**YEAR, "groupe": "mois"},
    "SPIP-month so far (live)": MONTH_SO_FAR,
    "SPIP-year by agent (live)": {**YEAR, "groupe": "agent"},
}
TARGETED = {"SPIP-year by month"}
SLOW = {"SPIP-year by agent (live)"}  # seconds a request: fewer of them


async def add_manager(url: str) -> None:
    engine = create_engine(Settings(env="test", secret_key=SECRET, database_url=url))
    values = {"email": EMAIL, "hash": hash_now(PASSWORD)}
    async with engine.begin() as conn:
        # Kept from an earlier run (--reuse): the audit trail names it, so it stays.
        kept = await conn.execute(
            text("UPDATE agent SET password_hash = :hash WHERE email = :email"), values
        )
        if not kept.rowcount:
            await conn.execute(
                text(
                    "INSERT INTO agent (spip_id, name, email, role, active, failed_logins, "
                    "password_hash, created_at, updated_at) VALUES (1, 'DPIP banc', :email, "
                    "'manager', true, 0, :hash, now(), now())"
                ),
                values,
            )
    await engine.dispose()


async def log_in(client: httpx.AsyncClient) -> None:
    form = await client.get("/connexion")
    token = CSRF.search(form.text)
    assert token, "no CSRF field on the login page"
    data = {"csrf": token.group(1), "email": EMAIL, "password": PASSWORD, "suivant": "/"}
    answer = await client.post("/connexion", data=data)
    assert answer.status_code == 303, answer.status_code


async def measure(client: httpx.AsyncClient, params: dict[str, str], n: int) -> dict[str, Any]:
    first = await client.get("/tableau-de-bord", params=params)
    assert first.status_code == 200, first.text[:500]
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        answer = await client.get("/tableau-de-bord", params=params)
        answer.raise_for_status()
        samples.append((time.perf_counter() - start) * 1000)
    return {"html_kb": round(len(first.content) / 1024, 1), "requests": n, **percentiles(samples)}


async def main(args: argparse.Namespace) -> None:
    snapshot = load_snapshot()
    fill_seconds = rebuild_seconds = migrate_seconds = 0.0
    clock.set_clock(lambda: NOW)  # the benchmark's year is closed: served by the aggregates
    settings = Settings(env="test", secret_key=SECRET, database_url=database_url(DB_NAME))
    if args.reuse:
        # An earlier run's database, brought to the current schema (a no-op when it is).
        start = time.perf_counter()
        await asyncio.to_thread(run_migrations, settings.database_url)
        migrate_seconds = time.perf_counter() - start
    else:
        url = await recreate_database(DB_NAME)
        await asyncio.to_thread(run_migrations, url)
        fill_seconds = await fill(url, args.convocations)
    if not args.reuse or args.rebuild:
        engine = create_engine(settings)
        start = time.perf_counter()
        async with create_sessionmaker(engine)() as session:
            await attendance.rebuild(session)
            await session.commit()
        rebuild_seconds = time.perf_counter() - start
        await engine.dispose()
    await add_manager(settings.database_url)
    app = create_app(settings)
    engine = create_engine(settings)
    app.state.sessionmaker = create_sessionmaker(engine)
    results: dict[str, dict[str, Any]] = {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://bench") as client:
        await log_in(client)
        for name, params in VIEWS.items():
            runs = args.requests if name not in SLOW else max(3, args.requests // 10)
            results[name] = await measure(client, params, runs)
    await engine.dispose()
    summary = [
        {
            "metric": f"GET /tableau-de-bord, {name}, p95",
            "value": row["p95_ms"],
            "unit": "ms",
            "target": f"< {TARGET_P95_MS:.0f} ms" if name in TARGETED else "-",
            "ok": row["p95_ms"] < TARGET_P95_MS if name in TARGETED else None,
        }
        for name, row in results.items()
    ]
    payload = {
        "machine": machine(),
        "load": load_report(snapshot),
        "parameters": {"convocations": args.convocations, "spips": 100, "years": 3},
        "fill_seconds": round(fill_seconds, 1),
        "rebuild_seconds": round(rebuild_seconds, 1),
        "migrate_seconds": round(migrate_seconds, 1),
        "views": results,
        "summary": summary,
    }
    saved = save("dashboard", payload)
    for name, row in results.items():
        print(f"  {name:<28} {row}")
    print(f"load: {payload['load']}\nrésultats : {saved}")


def cli() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--convocations", type=int, default=10_000_000)
    parser.add_argument("--requests", type=int, default=50, help="sequential GETs per view")
    parser.add_argument("--reuse", action="store_true", help="time an already filled database")
    parser.add_argument(
        "--rebuild", action="store_true", help="with --reuse: rebuild the monthly aggregates first"
    )
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
