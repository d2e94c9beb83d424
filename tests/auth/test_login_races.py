"""Lock-out, rate limit and proxy trust under parallel attempts, through a real server.

Each test runs ``python -m app serve`` on a fresh demo database (both backends) and fires its
attempts concurrently, as an attacker would: counts read then written back let most of them
escape (``failed_logins`` stayed at 4 after 80 wrong passwords; 42 of 60 attempts passed a limit
of 30).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.clock import utcnow
from app.models import Agent, AuditEvent, LoginThrottle
from tests.reminders.processes import stop
from tests.servers import CPIP, DEMO_PASSWORD, Server, start_server

MAX_FAILURES = 10  # the default CONVOC_LOGIN_MAX_FAILURES


async def attempt(
    client: httpx.AsyncClient, email: str, password: str, forwarded_for: str | None = None
) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return await client.post(
        "/api/v1/auth/token", data={"username": email, "password": password}, headers=headers
    )


async def behind_proxy(fresh_url: str, engine: AsyncEngine, log: Path, **env: str) -> Server:
    """A server that believes X-Forwarded-For from loopback, so each attempt can come from an
    address of its own (the lock-out test must not hit the per-address limit)."""
    return await start_server(fresh_url, engine, log, CONVOC_TRUSTED_PROXIES="127.0.0.1", **env)


async def test_parallel_wrong_passwords_lock_the_account(
    fresh_url: str, fresh_engine: AsyncEngine, tmp_path: Path
) -> None:
    server = await behind_proxy(fresh_url, fresh_engine, tmp_path / "api.log")
    try:
        async with httpx.AsyncClient(base_url=server.base, timeout=60) as client:
            first = await asyncio.gather(
                *(attempt(client, CPIP, f"Mauvais-{n}", f"198.51.100.{n}") for n in range(50))
            )
            then = await asyncio.gather(
                *(attempt(client, CPIP, f"Encore-{n}", f"203.0.113.{n}") for n in range(30))
            )
            right = await attempt(client, CPIP, DEMO_PASSWORD, "192.0.2.1")
    finally:
        stop(server.process)
    assert Counter(r.status_code for r in [*first, *then]) == {401: 80}
    assert right.status_code == 401, "a locked account must refuse the right password"
    async with fresh_engine.connect() as conn:
        locked_until = await conn.scalar(select(Agent.locked_until).where(Agent.email == CPIP))
        actions = dict(
            (
                await conn.execute(
                    select(AuditEvent.action, func.count())
                    .join(Agent, Agent.id == AuditEvent.entity_id)
                    .where(AuditEvent.entity == "agent", Agent.email == CPIP)
                    .group_by(AuditEvent.action)
                )
            ).all()
        )
    assert locked_until is not None and locked_until > utcnow()
    # Exactly the limit counted, one lock-out, and every later attempt refused as locked.
    assert actions.get("login_failed") == MAX_FAILURES
    assert actions.get("account_locked") == 1
    assert actions.get("login_refused_locked") == 80 + 1 - MAX_FAILURES
    assert "login" not in actions


async def test_parallel_attempts_cannot_pass_the_address_limit(
    fresh_url: str, fresh_engine: AsyncEngine, tmp_path: Path
) -> None:
    server = await behind_proxy(
        fresh_url, fresh_engine, tmp_path / "api.log", CONVOC_LOGIN_RATE_LIMIT="30"
    )
    try:
        async with httpx.AsyncClient(base_url=server.base, timeout=60) as client:
            answers = await asyncio.gather(
                *(
                    attempt(client, f"inconnu{n}@justice.fr", "Mauvais-mot", "203.0.113.7")
                    for n in range(60)
                )
            )
            elsewhere = await attempt(client, CPIP, DEMO_PASSWORD, "203.0.113.8")
    finally:
        stop(server.process)
    assert Counter(r.status_code for r in answers) == {401: 30, 429: 30}
    for refused in (r for r in answers if r.status_code == 429):
        assert refused.json()["error"] == "too_many_attempts"
        assert 1 <= int(refused.headers["retry-after"]) <= 5 * 60
        assert "réessayez dans" in refused.json()["detail"]
    assert elsewhere.status_code == 200, "another address keeps its own count"
    async with fresh_engine.connect() as conn:
        counted = dict(
            (await conn.execute(select(LoginThrottle.client, LoginThrottle.attempts))).all()
        )
    assert counted == {"203.0.113.7": 30, "203.0.113.8": 1}


async def test_forwarded_addresses_are_ignored_unless_the_proxy_is_trusted(
    fresh_url: str, fresh_engine: AsyncEngine, tmp_path: Path
) -> None:
    """By default the connection's address counts: a client cannot pick a new address per
    attempt with X-Forwarded-For and so escape the limit."""
    server = await start_server(
        fresh_url, fresh_engine, tmp_path / "api.log", CONVOC_LOGIN_RATE_LIMIT="5"
    )
    try:
        async with httpx.AsyncClient(base_url=server.base, timeout=60) as client:
            answers = [
                await attempt(client, "inconnu@justice.fr", "Mauvais-mot", f"198.51.100.{n}")
                for n in range(6)
            ]
    finally:
        stop(server.process)
    assert [r.status_code for r in answers] == [401] * 5 + [429]
    async with fresh_engine.connect() as conn:
        counted_under = (await conn.scalars(select(LoginThrottle.client))).all()
    assert counted_under == ["127.0.0.1"]
