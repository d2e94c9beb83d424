"""Booking API benchmark: POST /api/v1/appointments against the real server, on PostgreSQL.

    python -m bench.booking_api [--duration 15] [--rates 100,200,400] [--workers N]

Builds a scratch database (migrations, one SPIP, a place, persons with mobiles, a national
administrator with a bearer token), counts the SQL statements of one booking (in-process), starts
``python -m app serve --workers N`` (production's rule: one server process per core, so N
defaults to this machine's cores) and drives it from a load generator in *another* process
(``python -m bench.booking_api load …``):

  1. open loop at fixed rates (a request every 1/rate s, whatever the answers): offered and
     achieved throughput, p50/p95/p99 latency measured from the *scheduled* send time (so a
     stalled server is not hidden by a stalled client) — for the booking and for
     ``GET /api/v1/health/ready`` (one ``SELECT 1``: the server's ceiling);
  2. closed loop (N concurrent clients, as fast as answered): the maximum throughput of each,
     and their ratio.

Target: p95 < 50 ms at 100 bookings/s. The load generator runs on the same 2 cores as the
server and PostgreSQL; its own CPU share is printed with the results.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from app.auth.service import issue_token
from app.cli import run_migrations
from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.models import Agent
from bench.common import ROOT, machine, recreate_database, save

DB_NAME = "convoc_bench_booking"
SECRET = "bench-booking-secret-" + "s" * 24
PERSONS = 5000
TARGET_P95_MS = 50.0

SEED = [
    "INSERT INTO spip (code, name, timezone, phone_region, created_at, updated_at) "
    "VALUES ('SPIP-BENCH', 'SPIP de banc d''essai', 'Europe/Paris', 'FR', now(), now())",
    "INSERT INTO place (spip_id, name, timezone, active, created_at, updated_at) "
    "SELECT id, 'Antenne ' || g, timezone, true, now(), now() FROM spip, generate_series(1, 3) g",
    "INSERT INTO person (spip_id, first_name, last_name, phone, phone_status, archived, "
    "created_at, updated_at) SELECT (SELECT id FROM spip), 'P', 'N' || g, "
    "'+3361234' || lpad(g::text, 4, '0'), 'valid', false, now(), now() "
    "FROM generate_series(1, {persons}) g",
    "INSERT INTO agent (spip_id, name, email, role, active, failed_logins, created_at, updated_at) "
    "VALUES (NULL, 'Admin banc', 'admin@bench.fr', 'admin', true, 0, now(), now())",
    "ANALYZE",
]


# ---------------------------------------------------------------- setup: database and server


async def prepare_database() -> tuple[str, str, list[int], list[int]]:
    url = await recreate_database(DB_NAME)
    await asyncio.to_thread(run_migrations, url)
    settings = Settings(env="test", secret_key=SECRET, database_url=url)
    engine = create_engine(settings)
    async with engine.connect() as conn:
        for statement in SEED:
            await conn.execute(text(statement.format(persons=PERSONS)))
        await conn.commit()
        persons = list((await conn.scalars(text("SELECT id FROM person ORDER BY id"))).all())
        places = list((await conn.scalars(text("SELECT id FROM place ORDER BY id"))).all())
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session:
        admin = await session.scalar(text("SELECT id FROM agent WHERE email = 'admin@bench.fr'"))
        agent = await session.get_one(Agent, admin)
        issued = await issue_token(session, agent, settings)
        await session.commit()
    await engine.dispose()
    return url, issued.token, persons, places


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# The server's environment: production's, except the secret, the database and a token that
# does not lapse during the run (the dispatcher runs in its own processes in production too).
SERVER_ENV = {
    "CONVOC_ENV": "test",
    "CONVOC_SECRET_KEY": SECRET,
    "CONVOC_WORKER_EMBEDDED": "false",
    "CONVOC_LOG_LEVEL": "WARNING",
    "CONVOC_TOKEN_IDLE_MINUTES": "1440",
}


def start_server(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, **SERVER_ENV, "CONVOC_DATABASE_URL": url}
    command = [
        sys.executable, "-m", "app", "serve", "--port", str(port), "--workers", str(workers),
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env)


async def statements_per_booking(
    url: str, token: str, persons: list[int], places: list[int]
) -> int:
    """SQL statements one booking sends (BEGIN and COMMIT aside), counted
    in-process against the scratch database."""
    from sqlalchemy import event

    from app.main import create_app

    settings = Settings(env="test", secret_key=SECRET, database_url=url, worker_embedded=False)
    engine = create_engine(settings)
    app = create_app(settings)
    app.state.sessionmaker = create_sessionmaker(engine)
    statements: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    day = datetime.now(UTC).date() + timedelta(days=700)  # far from the load's bookings
    body = {"person_id": persons[0], "place_id": places[0], "appointment_type": "suivi_spip"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        for hour in (9, 10):  # the first warms the caches (prepared statements, token touch)
            statements.clear()
            response = await client.post(
                "http://bench/api/v1/appointments",
                json={**body, "starts_at": f"{day.isoformat()}T{hour:02d}:00"},
            )
            response.raise_for_status()
    await engine.dispose()
    return len(statements)


async def wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=base, timeout=2) as client:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"le serveur s'est arrêté (code {server.returncode})")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/api/v1/health/ready")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError("le serveur n'est pas prêt après 60 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


# ---------------------------------------------------------------- the load generator process


class Load:
    """Requests for one target: the booking (a new person/time each time) or readiness."""

    def __init__(self, kind: str, persons: list[int], places: list[int], offset: int) -> None:
        self.kind = kind
        self.persons = persons
        self.places = places
        self.counter = offset
        # Far enough to be bookable, near enough for the 730-day horizon.
        self.day0 = datetime.now(UTC).date() + timedelta(days=7)

    def request(self) -> tuple[str, str, bytes]:
        if self.kind == "ready":
            return "GET", "/api/v1/health/ready", b""
        i = self.counter
        self.counter += 1
        day = self.day0 + timedelta(days=(i // 40) % 600)
        body = {
            "person_id": self.persons[i % len(self.persons)],
            "place_id": self.places[i % len(self.places)],
            "appointment_type": "suivi_spip",
            "starts_at": f"{day.isoformat()}T{8 + (i % 10):02d}:{(i % 4) * 15:02d}",
        }
        return "POST", "/api/v1/appointments", json.dumps(body).encode()


class Connection:
    """One keep-alive HTTP/1.1 connection, spoken by hand: a Python HTTP client library costs
    more CPU per request than the server's own work on this 2-core machine."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port, self.token = host, port, token
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def send(self, method: str, path: str, body: bytes) -> str:
        try:
            return await asyncio.wait_for(self._send(method, path, body), timeout=10)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            self.close()
            return type(exc).__name__

    async def _send(self, method: str, path: str, body: bytes) -> str:
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Authorization: Bearer {self.token}\r\n"
        )
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        writer.write(head.encode() + b"\r\n" + body)
        status = (await reader.readline()).split()[1].decode()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await reader.readexactly(length)
        return status

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


def percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {"p50_ms": pick(0.50), "p95_ms": pick(0.95), "p99_ms": pick(0.99), "max_ms": pick(1.0)}


def outcome(statuses: dict[str, int], latencies: list[float], elapsed: float) -> dict[str, Any]:
    ok = sum(n for code, n in statuses.items() if code.startswith("2"))
    return {"achieved_rps": round(ok / elapsed, 1), "statuses": statuses, **percentiles(latencies)}


async def open_loop(
    load: Load, connections: list[Connection], rate: float, duration: float
) -> dict[str, Any]:
    """A request every 1/rate s for ``duration`` s, whatever the answers, over a fixed pool of
    connections (like wrk2); latency counts from the scheduled instant, queueing included."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    queue: asyncio.Queue[float | None] = asyncio.Queue()
    total = int(rate * duration)

    async def worker(conn: Connection) -> None:
        while (scheduled := await queue.get()) is not None:
            status = await conn.send(*load.request())
            latencies.append((time.perf_counter() - scheduled) * 1000)
            statuses[status] = statuses.get(status, 0) + 1

    workers = [asyncio.create_task(worker(c)) for c in connections]
    start = time.perf_counter() + 0.05
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait(scheduled)
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.wait(workers, timeout=30)
    for task in workers:
        task.cancel()
    elapsed = time.perf_counter() - start
    return {"mode": "open", "offered_rps": rate, "requests": total,
            **outcome(statuses, latencies, elapsed)}  # fmt: skip


async def closed_loop(load: Load, connections: list[Connection], duration: float) -> dict[str, Any]:
    """One client per connection, each sending its next request when the previous one answers."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    end = time.perf_counter() + duration

    async def worker(conn: Connection) -> None:
        while time.perf_counter() < end:
            sent = time.perf_counter()
            status = await conn.send(*load.request())
            latencies.append((time.perf_counter() - sent) * 1000)
            statuses[status] = statuses.get(status, 0) + 1

    start = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in connections))
    return {"mode": "closed", "concurrency": len(connections),
            **outcome(statuses, latencies, time.perf_counter() - start)}  # fmt: skip


async def load_main(args: argparse.Namespace) -> None:
    spec = json.loads(args.spec)
    first, last = spec["persons"]  # ids are consecutive in the fresh database
    load = Load(spec["kind"], list(range(first, last + 1)), spec["places"], spec["offset"])
    host, port = spec["base"].removeprefix("http://").split(":")
    count = spec["concurrency"] if spec["mode"] == "closed" else spec.get("connections", 64)
    connections = [Connection(host, int(port), spec["token"]) for _ in range(count)]
    for conn in connections[:8]:  # open a few connections outside the measure
        await conn.send(*load.request())
    cpu0, wall0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    if spec["mode"] == "open":
        result = await open_loop(load, connections, spec["rate"], spec["duration"])
    else:
        result = await closed_loop(load, connections, spec["duration"])
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime
    result["generator_cpu_share"] = round(cpu / (time.perf_counter() - wall0), 2)
    for conn in connections:
        conn.close()
    print(json.dumps(result))


# ---------------------------------------------------------------- the orchestrating process


def drive(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one measure in a separate load-generator process (bounded in time)."""
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "bench.booking_api", "load", "--spec", json.dumps(spec)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=spec["duration"] + 60,
            check=True,
        )
    except (subprocess.TimeoutExpired, subprocess.CalledProcessError) as exc:
        print(f"  load generator failed: {type(exc).__name__}", flush=True)
        return {"mode": spec["mode"], "offered_rps": spec.get("rate"), "failed": True,
                "achieved_rps": 0.0, "p50_ms": 0.0, "p95_ms": 1e9, "p99_ms": 1e9}  # fmt: skip
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


def server_cpu(pid: int) -> float:
    """User + system CPU seconds of the server process (and its children, for --workers)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    with contextlib.suppress(OSError):
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for p in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def measured(spec: dict[str, Any], pid: int) -> dict[str, Any]:
    """One measure, with the server's CPU share (cores busy) over its wall time."""
    cpu0, wall0 = server_cpu(pid), time.perf_counter()
    result = drive(spec)
    wall = time.perf_counter() - wall0
    result["server_cpu_share"] = round((server_cpu(pid) - cpu0) / wall, 2)
    return result


def row(
    metric: str, value: float, unit: str, target: str = "-", ok: bool | None = None
) -> dict[str, Any]:
    return {"metric": metric, "value": value, "unit": unit, "target": target, "ok": ok}


async def main(args: argparse.Namespace) -> None:
    rates = [float(r) for r in args.rates.split(",")]
    started = time.time()
    load_before = os.getloadavg()
    url, token, persons, places = await prepare_database()
    statements = await statements_per_booking(url, token, persons, places)
    print(f"  SQL statements per booking: {statements}", flush=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(url, port, args.workers)
    offset = 0
    results: dict[str, list[dict[str, Any]]] = {"book": [], "ready": []}
    try:
        await wait_ready(base, server)
        common = {
            "base": base,
            "token": token,
            "persons": [persons[0], persons[-1]],
            "places": places,
        }
        # Warm-up: connections, prepared statements, code paths.
        drive(
            {**common, "kind": "book", "mode": "open", "rate": 50, "duration": 3, "offset": offset}
        )
        offset += 1000
        for kind in ("book", "ready"):
            for rate in rates:
                spec = {
                    **common,
                    "kind": kind,
                    "mode": "open",
                    "rate": rate,
                    "duration": args.duration,
                    "offset": offset,
                }
                measure = measured(spec, server.pid)
                offset += int(rate * args.duration) + 100
                results[kind].append(measure)
                print(f"  {kind:<5} open   {rate:>6.0f}/s → {json.dumps(measure)}", flush=True)
            spec = {
                **common,
                "kind": kind,
                "mode": "closed",
                "concurrency": args.concurrency,
                "duration": args.duration,
                "offset": offset,
            }
            measure = measured(spec, server.pid)
            offset += 100_000
            results[kind].append(measure)
            print(f"  {kind:<5} closed {args.concurrency:>6}   → {json.dumps(measure)}", flush=True)
    finally:
        stop(server)

    at_100 = next(
        m for m in results["book"] if m["mode"] == "open" and m["offered_rps"] == rates[0]
    )
    ceiling_book = next(m for m in results["book"] if m["mode"] == "closed")["achieved_rps"]
    ceiling_ready = next(m for m in results["ready"] if m["mode"] == "closed")["achieved_rps"]
    knee = max(
        (m["offered_rps"] for m in results["book"] if m["mode"] == "open" and m["p95_ms"] < TARGET_P95_MS
         and m["achieved_rps"] >= 0.95 * m["offered_rps"]),
        default=0,
    )  # fmt: skip
    summary = [
        row(f"booking p95 at {rates[0]:.0f}/s", at_100["p95_ms"], "ms", f"< {TARGET_P95_MS:.0f}", at_100["p95_ms"] < TARGET_P95_MS),
        row(f"booking p50 at {rates[0]:.0f}/s", at_100["p50_ms"], "ms"),
        row(f"booking p99 at {rates[0]:.0f}/s", at_100["p99_ms"], "ms"),
        row("highest rate tested holding p95 < 50 ms", knee, "req/s"),
        row("booking max throughput (closed loop)", ceiling_book, "req/s"),
        row("/health/ready max throughput (ceiling)", ceiling_ready, "req/s"),
        row("booking / ready throughput ratio", round(ceiling_book / ceiling_ready, 2) if ceiling_ready else 0, "ratio"),
        row("SQL statements per booking", statements, "count"),
    ]  # fmt: skip
    result = {
        "machine": machine(),
        "parameters": {
            "rates": rates,
            "duration_s": args.duration,
            "closed_loop_concurrency": args.concurrency,
            "server": server_configuration(args.workers),
            "persons": PERSONS,
        },
        "versions": versions(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "seconds": round(time.time() - started),
        "booking": results["book"],
        "ready": results["ready"],
        "summary": summary,
    }
    path = save("booking_api", result)
    print(f"booking_api benchmark → {path}")
    for line in summary:
        print(f"  {line['metric']:<44} {line['value']:>8} {line['unit']:<6} {line['target']}")


def server_configuration(workers: int) -> dict[str, Any]:
    settings = Settings(env="test", secret_key=SECRET)
    return {
        "command": f"python -m app serve --workers {workers}",
        "workers": workers,
        "database_pool_size_per_process": settings.database_pool_size,
        **{k: v for k, v in SERVER_ENV.items() if k != "CONVOC_SECRET_KEY"},
    }


def versions() -> dict[str, str]:
    from importlib.metadata import version

    return {
        name: version(name)
        for name in (
            "fastapi",
            "starlette",
            "uvicorn",
            "uvloop",
            "httptools",
            "asyncpg",
            "pydantic",
        )
    }


def cli() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command")
    load = sub.add_parser("load", help="internal: the load generator process")
    load.add_argument("--spec", required=True)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per measure")
    parser.add_argument(
        "--rates", default="100,200,400", help="open-loop rates, first one is the target"
    )
    parser.add_argument("--concurrency", type=int, default=32, help="closed-loop clients")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="server processes (python -m app serve --workers); default: one per core, as in "
        "production",
    )
    args = parser.parse_args()
    if args.command == "load":
        asyncio.run(load_main(args))
        return
    # A terminated run still stops its server (the ``finally`` in main runs on SystemExit).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"Machine: {json.dumps(machine(), ensure_ascii=False)}", flush=True)
    print(f"Versions: {json.dumps(versions())}", flush=True)
    print(
        f"Parameters: rates={args.rates} duration={args.duration}s concurrency={args.concurrency} load={os.getloadavg()}",
        flush=True,
    )
    print(f"Server: {json.dumps(server_configuration(args.workers))}", flush=True)
    asyncio.run(main(args))


if __name__ == "__main__":
    cli()
