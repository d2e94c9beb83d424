"""Logs never carry personal data or secrets: uvicorn's access log included.

The receipts URL's token (``/api/v1/sms/receipts/<provider>/<token>``) is masked on every line:
our error lines, uvicorn's access lines for any path a client may send, and tracebacks.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_dbapi
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import DatabaseUnreachable
from app.logging import RedactAccessLog, redact_path, redact_text
from app.main import create_app
from app.reminders import delivery
from app.sms.config import SmsSettings
from app.sms.gateway import SmsGateway

TOKEN = "tok_" + "S3cr3t" * 7  # 46 characters, as CONVOC_SMS_RECEIPT_TOKEN
PIECES = [TOKEN[i : i + 10] for i in range(0, len(TOKEN) - 10, 5)]


def assert_no_token(text: str) -> None:
    leaked = [piece for piece in PIECES if piece in text]
    assert not leaked, text


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/api/v1/persons?q=Dupont&limit=20", "/api/v1/persons"),
        ("/api/v1/sms/receipts/brevo/Xq3-secret-token", "/api/v1/sms/receipts/brevo/***"),
        ("/api/v1/sms/receipts/http/tok?x=1", "/api/v1/sms/receipts/http/***"),
        ("/api/v1/sms/receipts/twilio", "/api/v1/sms/receipts/twilio"),
        ("/api/v1/appointments/12", "/api/v1/appointments/12"),
        (f"/api/v1/sms/receipts/http/{TOKEN}/", "/api/v1/sms/receipts/http/***"),
        (f"/api/v1/sms/receipts/http//{TOKEN}", "/api/v1/sms/receipts/http/***"),
        (f"/api/v1//sms//receipts/http/{TOKEN}", "/api/v1/sms/receipts/http/***"),
        (f"/API/V1/SMS/Receipts/brevo/{TOKEN}", "/API/V1/sms/receipts/brevo/***"),
        (f"/api/v1/sms/receipts/brevo/{TOKEN[:9]}/{TOKEN[9:]}", "/api/v1/sms/receipts/brevo/***"),
        (f"/api/v1/sms%2Freceipts/brevo/{TOKEN}", "/api/v1/sms/receipts/brevo/***"),
        (f"/api/v1/%73ms/re%63eipts/brevo/{TOKEN}", "/api/v1/sms/receipts/brevo/***"),
        (f"/api/v1/sms/receipts/brevo%2F{TOKEN}", "/api/v1/sms/receipts/brevo/***"),
        (f"/api/v1/sms/receipts/{TOKEN}", "/api/v1/sms/receipts/***"),  # token as provider
        (f"/api/v1/sms/receipts/brevo/{TOKEN}%20HTTP", "/api/v1/sms/receipts/brevo/***"),
    ],
)
def test_paths_are_logged_without_query_or_receipt_token(path: str, logged: str) -> None:
    assert redact_path(path) == logged


def test_tokens_are_masked_in_free_text() -> None:
    text = (
        f"GET https://convoc.example/api/v1/sms/receipts/brevo/{TOKEN} failed; "
        f"scope={{'path': '/api/v1/sms/receipts/brevo/{TOKEN}', "
        f"'raw_path': b'/api/v1/sms/receipts/brevo/{TOKEN}'}}"
    )
    assert_no_token(redact_text(text))
    assert redact_text(text).count("/sms/receipts/brevo/***") == 3


def test_the_api_redacts_uvicorn_access_lines(caplog: pytest.LogCaptureFixture) -> None:
    create_app()
    access = logging.getLogger("uvicorn.access")
    assert any(isinstance(f, RedactAccessLog) for f in access.filters)
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        # The very call uvicorn's HTTP protocol makes for each request.
        access.info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5000",
            "GET",
            "/api/v1/persons?q=Dupont",
            "1.1",
            200,
        )
    assert caplog.messages == ['127.0.0.1:5000 - "GET /api/v1/persons HTTP/1.1" 200']
    assert "Dupont" not in caplog.text


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PROPFIND", "DELETE"])
@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/sms/receipts/brevo/{TOKEN}/",
        f"/api/v1/sms/receipts/brevo//{TOKEN}",
        f"/api/v1/SMS/RECEIPTS/brevo/{TOKEN}",
        f"/api/v1/sms/receipts/brevo/{TOKEN[:9]}/{TOKEN[9:]}",  # %2F decoded by uvicorn
        f"/api/v1/sms/receipts/{TOKEN}",
    ],
)
def test_odd_receipt_paths_are_masked_in_access_lines(
    caplog: pytest.LogCaptureFixture, method: str, path: str
) -> None:
    create_app()
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", method, path, "1.1", 404
        )
    assert_no_token(caplog.text)
    assert "/sms/receipts/" in caplog.text


# ------------------------------------------------------------------ the API's error lines


def asyncpg_error(sqlstate: str, message: str) -> DBAPIError:
    """The exception SQLAlchemy's asyncpg dialect raises for a server error of ``sqlstate``."""
    import asyncpg

    server_error = asyncpg.exceptions.PostgresError.new({"C": sqlstate, "M": message})
    dbapi = AsyncAdapt_asyncpg_dbapi(asyncpg)
    translated = dbapi._asyncpg_error_translate[asyncpg.exceptions.PostgresError](
        message, server_error
    )
    return DBAPIError.instance("SELECT 1", {}, translated, dbapi.Error)


FAILURES: dict[str, tuple[Any, int, str]] = {
    "integrity": (IntegrityError("INSERT", {}, Exception("dup")), 409, "db.integrity_error"),
    "pool": (PoolTimeout(), 503, "db.pool_exhausted"),
    "data": (asyncpg_error("22021", "bad byte"), 422, "db.data_exception"),
    "shutdown": (asyncpg_error("57P03", "shutting down"), 503, "db.unavailable"),
    "overflow": (OverflowError("date"), 422, "api.overflow"),
    "unreachable": (DatabaseUnreachable(111, "Connect call failed"), 503, "db.unreachable"),
    "os_error": (FileNotFoundError(2, "No such file", "export.csv"), 500, "api.unexpected_error"),
    "unexpected": (RuntimeError(f"boom at /api/v1/sms/receipts/brevo/{TOKEN}"), 500, "api."),
}


@pytest.fixture
async def receiver(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    app.state.sessionmaker = sessionmaker
    app.state.sms_gateway = gateway = SmsGateway.from_settings(
        SmsSettings(
            _env_file=None,
            providers=("brevo",),
            brevo_api_key="xkeysib-123",
            public_base_url="https://convoc.example",
            receipt_token=TOKEN,
        )
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client
    await gateway.aclose()


@pytest.mark.parametrize("failure", FAILURES)
async def test_error_lines_mask_the_receipt_token(
    receiver: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    failure: str,
) -> None:
    """Each exception handler's line (and the traceback of an unexpected one, whose message
    quotes the URL) when a receipt fails after its token was accepted."""
    error, status, event = FAILURES[failure]

    async def fail(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(delivery, "apply_receipts", fail)
    with caplog.at_level(logging.INFO):
        response = await receiver.post(
            f"/api/v1/sms/receipts/brevo/{TOKEN}?debug={TOKEN}",
            content=b'{"messageId": "b-1", "msg_status": "delivered"}',
            headers={"content-type": "application/json"},
        )
    assert response.status_code == status, response.text
    lines = [r for r in caplog.records if r.getMessage().startswith(event)]
    assert lines, caplog.text
    assert "path=/api/v1/sms/receipts/brevo/***" in lines[0].getMessage()
    assert_no_token(caplog.text)
    if failure == "unexpected":
        assert "RuntimeError: boom at /api/v1/sms/receipts/brevo/***" in caplog.text
