"""The inbound SMS URL's token is masked in logs exactly like the receipts URL's (uvicorn's
access lines print the path: the real-process test of replies caught it there)."""

from __future__ import annotations

import pytest

from app.logging import redact_path, redact_text

TOKEN = "Xq3" + "s" * 40


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        (f"/api/v1/sms/inbound/http/{TOKEN}", "/api/v1/sms/inbound/http/***"),
        (f"/api/v1/sms/inbound/brevo/{TOKEN}?x=1", "/api/v1/sms/inbound/brevo/***"),
        ("/api/v1/sms/inbound/twilio", "/api/v1/sms/inbound/twilio"),
        (f"/API/V1/SMS/InBound/brevo/{TOKEN}", "/API/V1/sms/inbound/brevo/***"),
        (f"/api/v1/sms%2Finbound/brevo/{TOKEN}", "/api/v1/sms/inbound/brevo/***"),
        (f"/api/v1/%73ms/in%62ound/brevo/{TOKEN}", "/api/v1/sms/inbound/brevo/***"),
        (f"/api/v1/sms/inbound/{TOKEN}", "/api/v1/sms/inbound/***"),  # token as provider
        (f"/api/v1/sms/receipts/brevo/{TOKEN}", "/api/v1/sms/receipts/brevo/***"),  # unchanged
    ],
)
def test_inbound_paths_are_logged_without_their_token(path: str, logged: str) -> None:
    assert redact_path(path) == logged


def test_an_access_line_keeps_no_inbound_token() -> None:
    line = f'127.0.0.1:5 - "POST /api/v1/sms/inbound/http/{TOKEN} HTTP/1.1" 200 OK'
    assert TOKEN not in redact_text(line)
    assert "/api/v1/sms/inbound/http/*** HTTP/1.1" in redact_text(line)
