"""Running one migration on a scratch database of either backend, with rows written before it."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from alembic.config import Config
from sqlalchemy import text

from app.config import Settings
from app.db import create_engine
from tests.conftest import _create_postgres_database, _drop_postgres_database


def alembic_config(url: str) -> Config:
    config = Config(str(Path(__file__).resolve().parents[2] / "alembic.ini"))
    config.attributes["url"] = url
    config.attributes["configure_logging"] = False
    return config


async def run_sql(url: str, statements: list[str]) -> list[tuple[object, ...]]:
    """Run the statements in one transaction; the rows of the last one that returns any."""
    engine = create_engine(Settings(env="test", database_url=url, secret_key="x" * 40))
    try:
        async with engine.begin() as conn:
            rows: list[tuple[object, ...]] = []
            for statement in statements:
                result = await conn.execute(text(statement))
                if result.returns_rows:
                    rows = [tuple(r) for r in result.all()]
            return rows
    finally:
        await engine.dispose()


def on_scratch_database(backend: str, exercise: Callable[[str], None]) -> None:
    if backend == "postgres":
        url = _create_postgres_database()
        try:
            exercise(url)
        finally:
            _drop_postgres_database(url)
    else:
        with tempfile.TemporaryDirectory(prefix="convoc-mig-") as folder:
            exercise(f"sqlite+aiosqlite:///{Path(folder) / 'convoc.db'}")
