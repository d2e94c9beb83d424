"""Migration 7d4e2b9c1a05 fills ``person.search_name`` for rows written before it, on both
databases, with the keys the application writes; and it downgrades."""

from __future__ import annotations

import asyncio

import pytest
from alembic import command
from sqlalchemy import inspect

from app.config import Settings
from app.core.text import search_key
from app.db import create_engine
from tests.conftest import BACKENDS
from tests.migrations.support import alembic_config, on_scratch_database, run_sql

BEFORE = "7a41d2c9e8b3"
NAMES = [("Éloïse", "Lefèvre"), ("Jean-Pierre", "O'Doe"), ("Lætitia", "Cœur")]


def _exercise(url: str) -> None:
    config = alembic_config(url)
    command.upgrade(config, BEFORE)
    now = "'2027-01-15 10:00:00+00:00'"
    inserts = [
        "INSERT INTO spip (code, name, timezone, phone_region, created_at, updated_at) "
        f"VALUES ('SPIP-MIG', 'SPIP', 'Europe/Paris', 'FR', {now}, {now})"
    ] + [
        "INSERT INTO person (spip_id, first_name, last_name, phone_status, archived, "
        f"created_at, updated_at) SELECT id, '{first.replace(chr(39), chr(39) * 2)}', "
        f"'{last.replace(chr(39), chr(39) * 2)}', 'none', false, {now}, {now} "
        "FROM spip WHERE code = 'SPIP-MIG'"
        for first, last in NAMES
    ]
    asyncio.run(run_sql(url, inserts))
    command.upgrade(config, "head")
    rows = asyncio.run(run_sql(url, ["SELECT first_name, last_name, search_name FROM person"]))
    assert sorted(rows) == sorted((f, last, search_key(f, last)) for f, last in NAMES)
    assert ("Éloïse", "Lefèvre", "eloise lefevre") in rows
    command.downgrade(config, BEFORE)
    assert "search_name" not in asyncio.run(_person_columns(url))
    assert len(asyncio.run(run_sql(url, ["SELECT id FROM person"]))) == len(NAMES)


async def _person_columns(url: str) -> set[str]:
    engine = create_engine(Settings(env="test", database_url=url, secret_key="x" * 40))
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda c: {col["name"] for col in inspect(c).get_columns("person")}
            )
    finally:
        await engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_migration_fills_search_name_of_existing_persons(backend: str) -> None:
    on_scratch_database(backend, _exercise)
