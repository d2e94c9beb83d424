"""Logs never carry personal data or secrets: uvicorn's access log included."""

from __future__ import annotations

import logging

import pytest

from app.logging import RedactAccessLog, redact_path
from app.main import create_app


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/api/v1/persons?q=Dupont&limit=20", "/api/v1/persons"),
        ("/api/v1/sms/receipts/brevo/Xq3-secret-token", "/api/v1/sms/receipts/brevo/***"),
        ("/api/v1/sms/receipts/http/tok?x=1", "/api/v1/sms/receipts/http/***"),
        ("/api/v1/sms/receipts/twilio", "/api/v1/sms/receipts/twilio"),
        ("/api/v1/appointments/12", "/api/v1/appointments/12"),
    ],
)
def test_paths_are_logged_without_query_or_receipt_token(path: str, logged: str) -> None:
    assert redact_path(path) == logged


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
