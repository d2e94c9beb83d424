"""The connection pool never hands out a connection the server has closed.

Convoc does not use ``pool_pre_ping`` (three round trips per checkout with asyncpg); a local
check drops connections the server closed. Here the server closes one (as a restart or an
administrator would) while it sits in the pool: the next request must not fail.
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import text

from app.config import Settings
from app.db import create_engine


def to_asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def test_a_connection_closed_by_the_server_is_replaced_at_checkout(
    settings: Settings,
) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("SQLite : pas de serveur pour fermer une connexion")
    engine = create_engine(settings)
    try:
        async with engine.connect() as conn:
            victim = await conn.scalar(text("SELECT pg_backend_pid()"))
        # Back in the pool; an administrator's session has the server end it.
        admin = await asyncpg.connect(to_asyncpg_dsn(settings.database_url))
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", victim)
        finally:
            await admin.close()
        await asyncio.sleep(0.2)  # the server's goodbye reaches the pooled socket

        for _ in range(3):  # every pooled connection gets checked out again
            async with engine.connect() as conn:
                assert await conn.scalar(text("SELECT 1")) == 1
                assert await conn.scalar(text("SELECT pg_backend_pid()")) != victim
    finally:
        await engine.dispose()
