"""Is the database at the code's migration head? Until it is, the API refuses traffic.

A new image may start before its migration step has run (a rolling upgrade, a compose start-up
where the API container wins the race): answering with the old schema would mean 500s, or worse,
writes the new code thinks it made. So every request but liveness (``/health``,
``/api/v1/health``) gets a 503 ``schema_outdated`` — readiness included, so a load balancer
keeps the process out — until ``alembic_version`` holds the head this code was built with.
The check is one indexed read, repeated at most every few seconds while the schema is behind,
and never again once it is current (migrations only move forward in production).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from functools import lru_cache
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("convoc.schema")

RECHECK_SECONDS = 2.0
LIVENESS_PATHS = frozenset({"/health", "/api/v1/health"})  # the process answers: never gated
RETRY_AFTER_SECONDS = 5


def alembic_ini() -> Path:
    """The project's ``alembic.ini``: in the working directory (the image's), else the
    checkout's."""
    ini = Path.cwd() / "alembic.ini"
    if not ini.exists():
        ini = Path(__file__).resolve().parents[2] / "alembic.ini"
    return ini


@lru_cache(maxsize=1)
def code_head() -> str:
    """The migration head this code expects (one head: the history is linear)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(Config(str(alembic_ini()))).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"migrations: one head expected, found {sorted(heads)}")
    return heads[0]


async def database_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at; ``None`` before the first migration or when the
    database cannot say (unreachable: the pool's own errors are reported elsewhere)."""
    try:
        async with engine.connect() as connection:
            found = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    except (DBAPIError, OSError):
        return None
    return None if found is None else str(found)


class SchemaStatus:
    """Whether the database has caught up with ``code_head()``, re-read at most every
    ``RECHECK_SECONDS`` until it has."""

    def __init__(self, engine: AsyncEngine, expected: str | None = None) -> None:
        self._engine = engine
        self.expected = expected or code_head()
        self._current = False
        self._checked_at = float("-inf")
        self.found: str | None = None

    async def current(self) -> bool:
        if self._current:
            return True
        now = time.monotonic()
        if now - self._checked_at >= RECHECK_SECONDS:
            self._checked_at = now
            self.found = await database_revision(self._engine)
            self._current = self.found == self.expected
            if self._current:
                log.info("schema.current revision=%s", self.expected)
            else:
                log.warning("schema.outdated found=%s expected=%s", self.found, self.expected)
        return self._current


_BODY = json.dumps(
    {
        "error": "schema_outdated",
        "detail": (
            "Le service démarre : la base de données n'est pas encore à jour "
            "(python -m app migrate). Réessayez dans quelques secondes."
        ),
    },
    ensure_ascii=False,
).encode()


class SchemaGate:
    """ASGI middleware: 503 ``schema_outdated`` while ``app.state.schema_status`` says the
    database is behind. No status installed (tests' own sessionmaker): no gate."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in LIVENESS_PATHS:
            await self.app(scope, receive, send)
            return
        status: SchemaStatus | None = getattr(scope["app"].state, "schema_status", None)
        if status is None or await status.current():
            await self.app(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json; charset=utf-8"),
                    (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": _BODY})


async def wait_until_current(status: SchemaStatus) -> None:
    """For the dispatcher: sleep until the schema is current (a database value, polled: no
    event tells a process that another one migrated)."""
    while True:
        if await status.current():
            return
        await asyncio.sleep(RECHECK_SECONDS)
