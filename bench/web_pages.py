"""Web pages benchmark: server time and weight of the agents' pages on a large SPIP.

    python -m bench.web_pages [--requests 200]

Builds a scratch PostgreSQL database with one SPIP of 10,000 persons and 100,000 convocations
(two years past, six months ahead, five CPIPs, 12 of them today for the first CPIP), starts
``python -m app serve`` (one process), logs in through the login page as a CPIP and as the
secretariat (cookie session, CSRF) and times ``--requests`` sequential GETs of each page over
loopback, with the HTML's size. Targets (issue 15): p95 < 50 ms per page, the home page under
100 KB of HTML.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import time
from typing import Any

import httpx
from sqlalchemy import text

from app.auth.passwords import hash_now
from app.cli import run_migrations
from app.config import Settings
from app.db import create_engine
from bench.booking_api import free_port, percentiles, stop, wait_ready
from bench.common import ROOT, load_report, load_snapshot, machine, recreate_database, save

DB_NAME = "convoc_bench_web"
SECRET = "bench-web-secret-" + "s" * 24
PASSWORD = "Banc-d-essai-cheval-bleu-orage"
PERSONS = 10_000
APPOINTMENTS = 100_000
TARGET_P95_MS = 50.0
TARGET_HOME_KB = 100
# The list of convocations from today (a CPIP's own; the secretariat's whole SPIP, about 20,000
# to come: counted, then one page of 50) and the day's print view (per place, all of the day).
PAGES = ("/", "/a-renseigner", "/convocations", "/convocations/impression", "/personnes")
# The persons search, as agents type it: a name, a number's last digits, a full mobile.
SEARCHES = {"nom": "nom 42", "fin de numéro": "34 56", "mobile": "0694 00 42 42"}
CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')

SEED = [
    "INSERT INTO spip (code, name, timezone, phone_region, created_at, updated_at) "
    "VALUES ('SPIP-WEB', 'SPIP de banc d''essai', 'America/Cayenne', 'GF', now(), now())",
    "INSERT INTO place (spip_id, name, timezone, active, created_at, updated_at) "
    "SELECT id, 'Antenne ' || g, timezone, true, now(), now() FROM spip, generate_series(1, 3) g",
    "INSERT INTO person (spip_id, first_name, last_name, search_name, phone, phone_status, "
    "archived, created_at, updated_at) SELECT (SELECT id FROM spip), 'Prénom', 'Nom ' || g, "
    "'prenom nom ' || g, '+594694' || lpad(g::text, 6, '0'), 'valid', false, now(), now() "
    f"FROM generate_series(1, {PERSONS}) g",
    "INSERT INTO agent (spip_id, name, email, role, active, failed_logins, password_hash, "
    "created_at, updated_at) SELECT (SELECT id FROM spip), 'CPIP ' || g, "
    "'cpip' || g || '@bench.fr', 'cpip', true, 0, :hash, now(), now() FROM generate_series(1, 5) g",
    "INSERT INTO agent (spip_id, name, email, role, active, failed_logins, password_hash, "
    "created_at, updated_at) VALUES ((SELECT id FROM spip), 'Secrétariat', "
    "'secretariat@bench.fr', 'secretariat', true, 0, :hash, now(), now())",
    # Two years past and six months ahead, one every ~4 hours of the day's hours; past ones
    # mostly with an outcome, some left to record, a few cancelled.
    "INSERT INTO appointment (spip_id, person_id, place_id, appointment_type_id, agent_id, "
    "starts_at, duration_minutes, status, summons_requested, created_at, updated_at) "
    "SELECT (SELECT id FROM spip), (SELECT min(id) FROM person) + g % {persons}, "
    "(SELECT min(id) FROM place) + g % 3, (SELECT id FROM appointment_type WHERE code = "
    "'suivi_spip'), (SELECT min(id) FROM agent WHERE role = 'cpip') + g % 5, "
    "date_trunc('hour', now()) - interval '730 days' + (g * interval '910 days' / {n}), 45, "
    "CASE WHEN date_trunc('hour', now()) - interval '730 days' + (g * interval '910 days' / {n})"
    " > now() THEN 'booked' WHEN g % 50 = 0 THEN 'cancelled' WHEN g % 40 = 0 THEN 'booked' "
    "WHEN g % 7 = 0 THEN 'missed' ELSE 'honored' END, false, now(), now() "
    "FROM generate_series(1, {n}) g",
    # Today for the first CPIP: 12 convocations from 08:00 to 17:30 in Cayenne.
    "INSERT INTO appointment (spip_id, person_id, place_id, appointment_type_id, agent_id, "
    "starts_at, duration_minutes, status, summons_requested, created_at, updated_at) "
    "SELECT (SELECT id FROM spip), (SELECT min(id) FROM person) + g, (SELECT min(id) FROM place), "
    "(SELECT id FROM appointment_type WHERE code = 'suivi_spip'), "
    "(SELECT min(id) FROM agent WHERE role = 'cpip'), "
    "(date_trunc('day', now() AT TIME ZONE 'America/Cayenne') + interval '8 hours' "
    "+ g * interval '50 minutes') AT TIME ZONE 'America/Cayenne', 45, 'booked', false, now(), now() "
    "FROM generate_series(0, 11) g",
    "ANALYZE",
]


async def prepare() -> str:
    url = await recreate_database(DB_NAME)
    await asyncio.to_thread(run_migrations, url)
    engine = create_engine(Settings(env="test", secret_key=SECRET, database_url=url))
    async with engine.begin() as conn:
        for statement in SEED:
            sql = statement.replace("{persons}", str(PERSONS)).replace("{n}", str(APPOINTMENTS))
            await conn.execute(text(sql), {"hash": hash_now(PASSWORD)} if ":hash" in sql else {})
    await engine.dispose()
    return url


def start(url: str, port: int) -> subprocess.Popen[bytes]:
    # Development, so that the session cookie is not Secure (the benchmark speaks plain HTTP on
    # loopback); the dispatcher stays out, as in production.
    env = {
        **os.environ,
        "CONVOC_ENV": "development",
        "CONVOC_DATABASE_URL": url,
        "CONVOC_WORKER_EMBEDDED": "false",
        "CONVOC_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "app", "serve", "--port", str(port), "--workers", "1"]
    return subprocess.Popen(command, cwd=ROOT, env=env)


async def log_in(client: httpx.AsyncClient, email: str) -> None:
    form = await client.get("/connexion")
    token = CSRF.search(form.text)
    assert token, "no CSRF field on the login page"
    data = {"csrf": token.group(1), "email": email, "password": PASSWORD, "suivant": "/"}
    answer = await client.post("/connexion", data=data)
    assert answer.status_code == 303, answer.status_code


async def measure(
    client: httpx.AsyncClient, path: str, requests: int, search: str | None = None
) -> dict[str, Any]:
    """``requests`` sequential GETs of ``path`` — or, with ``search``, POSTs of the persons
    search form (the search is a POST: no name or number in a URL)."""

    async def once() -> httpx.Response:
        if search is None:
            return await client.get(path)
        return await client.post(path, data={"csrf": token, "q": search})

    token = ""
    if search is not None:
        found = CSRF.search((await client.get(path)).text)
        assert found, f"no CSRF field on {path}"
        token = found.group(1)
    first = await once()
    first.raise_for_status()
    samples = []
    for _ in range(requests):
        start_at = time.perf_counter()
        answer = await once()
        answer.raise_for_status()
        samples.append((time.perf_counter() - start_at) * 1000)
    return {"html_kb": round(len(first.content) / 1024, 1), **percentiles(samples)}


async def entity_pages(url: str) -> list[str]:
    """The pages of one busy person and of one of today's convocations (the first CPIP's)."""
    engine = create_engine(Settings(env="test", secret_key=SECRET, database_url=url))
    try:
        async with engine.connect() as conn:
            appointment_id, person_id = (
                await conn.execute(
                    text(
                        "SELECT a.id, a.person_id FROM appointment a JOIN agent g "
                        "ON g.id = a.agent_id WHERE g.email = 'cpip1@bench.fr' "
                        "AND a.starts_at > now() ORDER BY a.starts_at LIMIT 1"
                    )
                )
            ).one()
    finally:
        await engine.dispose()
    return [
        f"/convocations/{appointment_id}",
        f"/personnes/{person_id}",
        f"/personnes/{person_id}/convoquer",
    ]


async def main(args: argparse.Namespace) -> None:
    snapshot = load_snapshot()
    url = await prepare()
    port = free_port()
    server = start(url, port)
    base = f"http://127.0.0.1:{port}"
    results: dict[str, dict[str, Any]] = {}
    try:
        await wait_ready(base, server)
        entities = await entity_pages(url)
        for who in ("cpip1@bench.fr", "secretariat@bench.fr"):
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                await log_in(client, who)
                for path in (*PAGES, *entities):
                    results[f"{who.split('@')[0]} {path}"] = await measure(
                        client, path, args.requests
                    )
                for label, query in SEARCHES.items():
                    results[f"{who.split('@')[0]} /personnes ({label})"] = await measure(
                        client, "/personnes", args.requests, search=query
                    )
        async with httpx.AsyncClient(base_url=base, timeout=30) as anonymous:
            results["anonymous /connexion"] = await measure(anonymous, "/connexion", args.requests)
    finally:
        stop(server)
    summary = [
        {
            "metric": f"{page} p95",
            "value": row["p95_ms"],
            "unit": "ms",
            "target": f"< {TARGET_P95_MS:.0f} ms",
            "ok": row["p95_ms"] < TARGET_P95_MS,
        }
        for page, row in results.items()
    ]
    home = max(row["html_kb"] for page, row in results.items() if page.endswith(" /"))
    summary.append(
        {
            "metric": "home page HTML (largest)",
            "value": home,
            "unit": "KB",
            "target": f"< {TARGET_HOME_KB} KB",
            "ok": home < TARGET_HOME_KB,
        }
    )
    payload = {
        "machine": machine(),
        "load": load_report(snapshot),
        "data": {"persons": PERSONS, "appointments": APPOINTMENTS + 12},
        "requests_per_page": args.requests,
        "pages": results,
        "summary": summary,
    }
    saved = save("web_pages", payload)
    for page, row in results.items():
        print(f"  {page:<44} {row}")
    print(f"load: {payload['load']}\nrésultats : {saved}")


def cli() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200, help="sequential GETs per page")
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
