"""Hostile delivery receipts: authentic (signed, right token) but built to crash the parser.

A receipt nested thousands of levels deep made ``json.loads`` raise ``RecursionError``: a 500
with a traceback. It is refused with 400 ``invalid_receipt``, at the depth limit every JSON
reader shares (``app.core.json_depth.MAX_JSON_DEPTH``). Twilio posts forms (no JSON to nest);
LINK Mobility sends no receipts.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.core.json_depth import MAX_JSON_DEPTH, json_too_deep
from app.main import create_app
from app.sms.config import SmsSettings
from app.sms.gateway import SmsGateway
from app.sms.providers.http import SIGNATURE_HEADER, sign
from tests.sms.conftest import PUBLIC_BASE, WEBHOOK_SECRET
from tests.sms.support import RECEIPT_TOKEN

DEEP_BODIES = {
    "arrays_2000": b"[" * 2000 + b"]" * 2000,
    "objects_1000": b'{"status":' * 1000 + b'"delivered"' + b"}" * 1000,
    "inside_a_field": b'{"id": "m-1", "status": "delivered", "error_code": '
    + b"[" * 3000
    + b"]" * 3000
    + b"}",
    "just_over_the_limit": b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1),
}


@pytest.fixture
async def receiver(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    """A server receiving receipts from ``http`` (signed) and Brevo (path token only)."""
    app = create_app(settings)
    app.state.sessionmaker = sessionmaker
    app.state.sms_gateway = gateway = SmsGateway.from_settings(
        SmsSettings(
            _env_file=None,
            providers=("http", "brevo"),
            http_api_key="http-api-key",
            http_webhook_secret=WEBHOOK_SECRET,
            brevo_api_key="xkeysib-123",
            public_base_url=PUBLIC_BASE,
            receipt_token=RECEIPT_TOKEN,
        )
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as client:
        yield client
    await gateway.aclose()


# Declared as JSON, a body is refused by the request guard, as on every JSON route; declared as
# anything else, the receipt reader's own check refuses it.
CONTENT_TYPES = {"application/json": "json_too_deep", "text/plain": "invalid_receipt"}


def assert_refused_as_unreadable(response: httpx.Response, code: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == code
    assert f"plus de {MAX_JSON_DEPTH} niveaux" in body["detail"]
    assert "Traceback" not in response.text


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
@pytest.mark.parametrize("name", DEEP_BODIES)
async def test_a_signed_http_receipt_nested_too_deep_is_a_400_not_a_500(
    receiver: httpx.AsyncClient, name: str, content_type: str
) -> None:
    body = DEEP_BODIES[name]
    response = await receiver.post(
        f"/sms/receipts/http/{RECEIPT_TOKEN}",
        content=body,
        headers={"content-type": content_type, SIGNATURE_HEADER: sign(WEBHOOK_SECRET, body)},
    )
    assert_refused_as_unreadable(response, CONTENT_TYPES[content_type])


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
@pytest.mark.parametrize("name", DEEP_BODIES)
async def test_a_brevo_receipt_nested_too_deep_is_a_400_not_a_500(
    receiver: httpx.AsyncClient, name: str, content_type: str
) -> None:
    response = await receiver.post(
        f"/sms/receipts/brevo/{RECEIPT_TOKEN}",
        content=DEEP_BODIES[name],
        headers={"content-type": content_type},
    )
    assert_refused_as_unreadable(response, CONTENT_TYPES[content_type])


async def test_a_receipt_at_the_depth_limit_is_still_read(receiver: httpx.AsyncClient) -> None:
    """The limit refuses nesting, not receipts: a batch (2 levels) is read as before."""
    body = json.dumps([{"messageId": "b-1", "msg_status": "delivered"}]).encode()
    response = await receiver.post(
        f"/sms/receipts/brevo/{RECEIPT_TOKEN}",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"applied": 0, "ignored": 0, "pending": 1}


@pytest.mark.parametrize(
    ("raw", "too_deep"),
    [
        (b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH, False),
        (b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), True),
        (b'{"a": "' + b"[" * 5000 + b'"}', False),  # brackets inside a string are text
        (b'["\\"' + b"[" * 100 + b'"]', False),  # an escaped quote does not end the string
        (b'["\\\\", ' + b"[" * 100 + b"]" * 100 + b"]", True),  # an escaped backslash does
        (b"[" * 100_000, True),  # unbalanced: still counted, never parsed
        (b"[]" * 10_000, False),  # many, but side by side
    ],
    ids=lambda value: repr(value)[:30] if isinstance(value, bytes) else str(value),
)
def test_json_depth_is_counted_without_parsing(raw: bytes, too_deep: bool) -> None:
    assert json_too_deep(raw) is too_deep
