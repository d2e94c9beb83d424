"""Rotating secrets without downtime: the new key signs, the previous one is still accepted —
agents stay logged in, forms opened before the rotation still send, receipts sent to the old
URL still count. Through real server processes restarted with the new settings."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.sms.base import ReceiptRequest
from app.sms.config import SmsSettings
from app.sms.providers.brevo import BrevoProvider
from app.web.security import csrf_token, csrf_valid
from tests.reminders.processes import stop
from tests.servers import login, start_server
from tests.sms.support import provider_config

OLD, NEW = "o" * 40, "n" * 40


async def _me(base: str, token: str) -> int:
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        answer = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        return answer.status_code


async def test_a_session_survives_a_key_rotation_and_only_with_the_previous_key(
    fresh_url: str, fresh_engine: AsyncEngine, tmp_path: Path
) -> None:
    before = await start_server(fresh_url, fresh_engine, tmp_path / "a.log", CONVOC_SECRET_KEY=OLD)
    try:
        async with httpx.AsyncClient(base_url=before.base, timeout=10) as client:
            await login(client)
            token = client.headers["Authorization"].removeprefix("Bearer ")
        assert await _me(before.base, token) == 200
    finally:
        stop(before.process)

    rotating = await start_server(
        fresh_url,
        fresh_engine,
        tmp_path / "b.log",
        CONVOC_SECRET_KEY=NEW,
        CONVOC_SECRET_KEY_PREVIOUS=OLD,
    )
    try:
        assert await _me(rotating.base, token) == 200  # still logged in
    finally:
        stop(rotating.process)

    after = await start_server(fresh_url, fresh_engine, tmp_path / "c.log", CONVOC_SECRET_KEY=NEW)
    try:
        assert await _me(after.base, token) == 401  # the rotation is over: the old key is gone
    finally:
        stop(after.process)


def test_forms_signed_with_the_previous_key_are_accepted_during_the_rotation() -> None:
    old = Settings(env="test", secret_key=OLD)
    rotating = Settings(env="test", secret_key=NEW, secret_key_previous=OLD)
    done = Settings(env="test", secret_key=NEW)
    sent = csrf_token("session-binding", old)
    assert csrf_valid(sent, "session-binding", rotating)
    assert not csrf_valid(sent, "session-binding", done)
    assert not csrf_valid(sent, "another-binding", rotating)
    with pytest.raises(ValueError, match="CONVOC_SECRET_KEY_PREVIOUS"):
        Settings(env="test", secret_key=NEW, secret_key_previous=NEW)


def _receipt(token: str) -> ReceiptRequest:
    return ReceiptRequest(
        method="POST",
        url=f"https://convoc.example/api/v1/sms/receipts/brevo/{token}",
        headers={},
        query={},
        body=b"{}",
        path_token=token,
    )


async def test_receipts_sent_to_the_previous_url_still_count_during_the_rotation() -> None:
    old_token, new_token = "p" * 43, "q" * 43
    config = provider_config(
        "brevo", "https://api.brevo.com", receipt_token=new_token, previous_receipt_token=old_token
    )
    provider = BrevoProvider(config, api_key="xkeysib-1")
    try:
        assert provider.verify(_receipt(new_token))
        assert provider.verify(_receipt(old_token))
        assert not provider.verify(_receipt("r" * 43))
    finally:
        await provider.aclose()
    settings = SmsSettings(
        _env_file=None,
        providers=("brevo",),
        brevo_api_key="xkeysib-1",
        public_base_url="https://convoc.example",
        receipt_token=new_token,
        receipt_token_previous=old_token,
    )
    assert settings.provider_config("brevo").previous_receipt_token == old_token
    with pytest.raises(ValidationError, match="CONVOC_SMS_RECEIPT_TOKEN_PREVIOUS"):
        SmsSettings(_env_file=None, receipt_token=new_token, receipt_token_previous="short")
