"""Fixtures for the SMS tests (helpers live in ``tests.sms.support``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.main import create_app
from app.sms.config import SmsSettings
from app.sms.gateway import SmsGateway
from tests.sms.support import RECEIPT_TOKEN, FakeTime

WEBHOOK_SECRET = "h" * 40
TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "twilio-auth-token"
PUBLIC_BASE = "https://convoc.example"


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def receipt_settings() -> SmsSettings:
    """What a server receiving receipts from ``http`` and Twilio is configured with."""
    return SmsSettings(
        _env_file=None,
        providers=("http", "twilio"),
        http_api_key="http-api-key",
        http_webhook_secret=WEBHOOK_SECRET,
        twilio_account_sid=TWILIO_SID,
        twilio_auth_token=TWILIO_TOKEN,
        public_base_url=PUBLIC_BASE,
        receipt_token=RECEIPT_TOKEN,
    )


@pytest.fixture
async def provider_client(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    """An anonymous client, as a provider calling back: no agent token."""
    app = create_app(settings)
    app.state.sessionmaker = sessionmaker
    app.state.sms_gateway = gateway = SmsGateway.from_settings(receipt_settings())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as client:
        yield client
    await gateway.aclose()
