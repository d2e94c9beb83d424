"""Engines and sessions. One session per request or job; only the edge commits.

The request's commit happens **before** its answer is sent: a client told 201 can read what it
created at once, and a commit that fails answers an error, never a success (see ``get_session``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.config import Settings, to_async_url
from app.core.errors import CommitFailed
from app.core.sqlfunc import sqlite_local_date

log = logging.getLogger("convoc.db")


class DatabaseUnreachable(OSError):
    """The database server cannot be reached: connection refused, a host name that does not
    resolve, a connect timeout, a socket that failed.

    asyncpg lets these through as bare ``OSError``s (SQLAlchemy translates only the driver's own
    errors). The engine raises this one in their place (``_name_unreachable_database``), so that
    an ``OSError`` from anything else (a file, an SMS provider's socket) is never answered as the
    database's absence. Still an ``OSError``: what caught those before (the commit's
    ``CommitFailed``, the dispatcher's retry while the database is away) catches it as before.
    """


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
    _name_unreachable_database(engine)
    return engine


def _name_unreachable_database(engine: AsyncEngine) -> None:
    """Raise ``DatabaseUnreachable`` for the driver's bare ``OSError``: when connecting
    (SQLAlchemy's ``do_connect`` hook connects as it would, around the driver's call) and on an
    open connection (``handle_error``, which sees every error of a statement, commit or
    rollback; the driver's own errors arrive wrapped in a ``DBAPIError`` and are left alone)."""

    @event.listens_for(engine.sync_engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        try:
            return dialect.connect(*cargs, **cparams)
        except OSError as exc:
            raise DatabaseUnreachable(*exc.args) from exc

    @event.listens_for(engine.sync_engine, "handle_error")
    def _on_error(context: ExceptionContext) -> BaseException | None:
        error = context.original_exception
        bare = context.sqlalchemy_exception is None and isinstance(error, OSError)
        if bare and not isinstance(error, DatabaseUnreachable):
            return DatabaseUnreachable(*error.args)
        return None


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

    Every transaction begins ``IMMEDIATE``, i.e. takes the write lock at ``BEGIN`` and waits
    for it (busy timeout) there. A deferred transaction that reads and then writes cannot
    upgrade while another connection writes: SQLite fails it at once with SQLITE_BUSY, the busy
    timeout does not apply, and the API answered 503 to a single agent whenever the embedded
    dispatcher's tick overlapped. Nearly every request may write (a token's last use, an audit
    line), so all transactions take the lock; reads wait for the writer in front of them (a few
    milliseconds) instead of failing. Rails does the same for SQLite since 7.1.
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
        conn.exec_driver_sql("BEGIN IMMEDIATE")


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
    """FastAPI dependency: the request's unit of work, committed when the handler succeeds.

    Declared with ``scope="function"`` (``SessionDep``): FastAPI then runs the code after
    ``yield`` as soon as the route function has returned and its answer is serialised, but
    **before** the answer is sent. With the default ("request") scope that code runs after the
    response has gone out: a client could read a 404 for what it had just been told was
    created, and a failed commit lost a write the client had been told was stored.

    A commit that fails answers an error: 409 for a constraint (the integrity handler), else
    503 ``commit_failed``, which says the write may not be stored.
    """
    async with request.app.state.sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        try:
            await session.commit()
        except IntegrityError:
            raise
        except (DBAPIError, OSError) as exc:
            log.error("db.commit_failed error=%s", type(getattr(exc, "orig", exc)).__name__)
            raise CommitFailed() from exc


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
