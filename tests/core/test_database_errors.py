"""What a database error answers, by SQLSTATE (``app.core.sqlstate``), built as SQLAlchemy's
asyncpg dialect raises it: a bare ``DBAPIError``, not an ``OperationalError``.

The real thing (a PostgreSQL cluster shutting down) is in
``tests/reliability/test_database_shutdown_postgres.py``.
"""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.core import sqlstate
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
