"""What a database error answers, by SQLSTATE (``app.core.sqlstate``), built as SQLAlchemy's
asyncpg dialect raises it: a bare ``DBAPIError``, not an ``OperationalError``.

The real thing (a PostgreSQL cluster shutting down) is in
``tests/reliability/test_database_shutdown_postgres.py``.
"""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.config import Settings
from app.core import sqlstate
from app.db import DatabaseUnreachable, SessionDep, create_engine, create_sessionmaker
from app.main import create_app
from tests.core.test_logging import asyncpg_error


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("57P03", 503, "service_unavailable"),  # cannot connect now: shutting down, starting up
        ("57P01", 503, "service_unavailable"),  # admin shutdown (connection terminated)
        ("57P02", 503, "service_unavailable"),  # crash shutdown
        ("57014", 503, "service_unavailable"),  # statement cancelled (statement_timeout)
        ("08006", 503, "service_unavailable"),  # connection failure
        ("53300", 503, "service_unavailable"),  # too many connections
        ("53100", 503, "service_unavailable"),  # disk full
        ("58030", 503, "service_unavailable"),  # I/O error
        ("40001", 409, "conflict"),  # serialization failure
        ("40P01", 409, "conflict"),  # deadlock detected
        ("22021", 422, "invalid_value"),  # data exception (unchanged)
        ("42P01", 500, "internal_error"),  # undefined table: our bug, not the database's state
    ],
)
async def test_database_errors_answer_by_sqlstate(
    settings: Settings, code: str, status: int, error: str
) -> None:
    app: FastAPI = create_app(settings)

    @app.get("/boom")
    async def boom() -> None:
        raise asyncpg_error(code, "message du serveur")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/boom")
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert "message du serveur" not in response.text


def test_the_sqlstate_is_read_from_the_translated_error() -> None:
    exc = asyncpg_error("57P03", "the database system is shutting down")
    assert type(exc).__name__ == "DBAPIError"  # why the OperationalError check missed it
    assert sqlstate.sqlstate(exc) == "57P03"
    assert sqlstate.is_unavailable(exc)
    assert not sqlstate.is_conflict(exc)


# ------------------------------------------------ OSError: the database's, or anything else's

UNREACHABLE = "La base de données est momentanément indisponible."


@pytest.mark.parametrize(
    "error",
    [
        FileNotFoundError(2, "No such file or directory", "/var/convoc/exports/dupont-marie.csv"),
        ConnectionRefusedError(111, "Connect call failed ('sms.provider.example', 443)"),
        TimeoutError("lecture du fichier de Marie Dupont"),
        PermissionError(13, "Permission denied", "/var/convoc/dupont"),
    ],
)
async def test_an_oserror_not_from_the_database_is_an_internal_error(
    caplog: pytest.LogCaptureFixture, error: OSError
) -> None:
    """A file, an SMS provider's socket, a timeout of our own: not "the database is away" (503,
    retry later), but an unexpected error, logged without its text (a file name, an address)."""
    app = create_app(Settings(env="test", secret_key="e" * 40))

    @app.get("/boom")
    async def boom() -> None:
        raise error

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    with caplog.at_level(logging.INFO):
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/boom")
    assert response.status_code == 500, response.text
    assert response.json() == {
        "error": "internal_error",
        "detail": "Erreur interne : l'équipe technique est prévenue.",
    }
    assert UNREACHABLE not in response.text
    lines = [r.getMessage() for r in caplog.records if "unexpected_error" in r.getMessage()]
    assert lines, caplog.text
    assert f"error={type(error).__name__}" in lines[0]
    assert "in boom" in lines[0]  # where it was raised
    assert "db.unreachable" not in caplog.text
    for secret in ("dupont", "Dupont", "provider.example"):
        assert secret not in caplog.text


async def test_a_database_that_refuses_connections_answers_503(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """asyncpg lets a refused connection through as a bare ConnectionRefusedError: the engine
    names it DatabaseUnreachable (still an OSError, for the dispatcher and the commit)."""
    settings = Settings(
        env="test",
        secret_key="e" * 40,
        database_url="postgresql+asyncpg://convoc:convoc@127.0.0.1:1/convoc",  # nothing listens
    )
    engine = create_engine(settings)
    app = create_app(settings)
    app.state.sessionmaker = create_sessionmaker(engine)

    @app.get("/count")
    async def count(session: SessionDep) -> int | None:
        return await session.scalar(text("SELECT 1"))

    try:
        with pytest.raises(DatabaseUnreachable) as raised:
            async with engine.connect():
                pass
        assert isinstance(raised.value, OSError)
        assert isinstance(raised.value.__cause__, ConnectionRefusedError)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        with caplog.at_level(logging.INFO):
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                response = await client.get("/count")
    finally:
        await engine.dispose()
    assert response.status_code == 503, response.text
    assert response.json() == {"error": "service_unavailable", "detail": UNREACHABLE}
    assert "db.unreachable path=/count error=ConnectionRefusedError" in caplog.text
