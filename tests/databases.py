"""The test databases: which backends run, and a fresh PostgreSQL database per use.

PostgreSQL comes from ``CONVOC_TEST_POSTGRES_URL``. When it is unreachable the PostgreSQL half is
skipped with a loud message, except under ``CI=true`` where that is a failure.
"""

from __future__ import annotations

import asyncio
import os
import uuid

import asyncpg
import pytest

POSTGRES_URL = os.environ.get(
    "CONVOC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BACKENDS = os.environ.get("CONVOC_TEST_BACKENDS", "sqlite,postgres").split(",")

_postgres_problem: list[str] = []


def _pg_admin_dsn() -> str:
    return POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")


async def _pg_execute(sql: str) -> None:
    conn = await asyncpg.connect(_pg_admin_dsn(), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _create_postgres_database() -> str:
    name = f"convoc_test_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_pg_execute(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        message = f"PostgreSQL injoignable ({POSTGRES_URL}) : {type(exc).__name__}: {exc}"
        _postgres_problem.append(message)
        if IN_CI:
            pytest.fail("CI=true : la moitié PostgreSQL des tests est obligatoire. " + message)
        pytest.skip(message)
    base, _, _ = _pg_admin_dsn().rpartition("/")
    return f"{base}/{name}"


def _drop_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
