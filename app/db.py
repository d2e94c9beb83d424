"""Engines and sessions. One session per request or job; only the edge commits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.config import Settings, to_async_url
from app.core.sqlfunc import sqlite_local_date


def create_engine(settings: Settings, url: str | None = None) -> AsyncEngine:
    async_url = to_async_url(url or settings.database_url)
    kwargs: dict[str, Any] = {"echo": settings.database_echo}
    if async_url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs["pool_size"] = settings.database_pool_size
    engine = create_async_engine(async_url, **kwargs)
    if async_url.startswith("sqlite"):
        _make_sqlite_transactional(engine)
    else:
        _drop_closed_connections(engine)
    return engine


def _drop_closed_connections(engine: AsyncEngine) -> None:
    """Never hand out a connection the server has closed (a restart, an administrator).

    Not ``pool_pre_ping``: with asyncpg it costs three round trips (BEGIN, a query, ROLLBACK)
    on every checkout, i.e. on every request and every dispatcher transaction. A server that
    shuts down closes its sockets, which asyncpg notices on its own: checking that locally is
    free. A connection that dies silently (a network cut) still fails its first statement;
    SQLAlchemy then invalidates the whole pool, the API answers that one request 503 and the
    dispatcher retries.
    """

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if dbapi_connection.driver_connection.is_closed():
            # The pool discards it and checks out another (documented pool behaviour).
            raise DisconnectionError("connexion fermée par le serveur")


def _make_sqlite_transactional(engine: AsyncEngine) -> None:
    """Let SQLAlchemy, not the sqlite3 module, decide where transactions begin.

    The stdlib driver opens transactions lazily and breaks SAVEPOINTs; this is SQLAlchemy's
    documented recipe. Foreign keys are off by default in SQLite: turn them on.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
        # SQLite knows no time zones: reports compute local calendars with this function.
        dbapi_connection.create_function(
            "convoc_local_date", 2, sqlite_local_date, deterministic=True
        )

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def session_scope(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """The unit of work of a request or a job: commit on success, roll back on any error."""
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: the request's unit of work, committed when the handler succeeds."""
    async with session_scope(request.app.state.sessionmaker) as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
