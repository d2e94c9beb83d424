"""``INSERT … ON CONFLICT`` for the database in use: SQLite and PostgreSQL spell it alike, but
SQLAlchemy builds it from each dialect's own ``insert``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession


def insert_for(session: AsyncSession, table: Table) -> Any:
    """An insert with ``on_conflict_do_nothing`` / ``on_conflict_do_update`` and ``excluded``."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql_insert(table)
    return sqlite_insert(table)
