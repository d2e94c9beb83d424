"""Helpers for the SMS tests: provider configurations, messages, a fake monotonic clock."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from app.sms.base import OutgoingSms
from app.sms.providers.spec import ProviderConfig

RECEIPT_TOKEN = "tok_" + "a" * 40


def provider_config(name: str, base_url: str, **overrides: Any) -> ProviderConfig:
    config = ProviderConfig(
        name=name,
        base_url=base_url,
        connect_timeout=1.0,
        read_timeout=2.0,
        max_connections=5,
        rate_limit=None,
        callback_url=f"https://convoc.example/api/v1/sms/receipts/{name}/{RECEIPT_TOKEN}",
        receipt_token=RECEIPT_TOKEN,
        public_base_url="https://convoc.example",
    )
    return replace(config, **overrides)


def outgoing(**overrides: Any) -> OutgoingSms:
    values: dict[str, Any] = {
        "to": "+33612345678",
        "body": "Rappel : convocation au SPIP lundi 18 janvier 2027 à 14h30.",
        "sender": "SPIP92",
        "reference": "notif-42",
    }
    values.update(overrides)
    return OutgoingSms(**values)


class FakeTime:
    """A monotonic clock that only moves when told to, and a ``sleep`` that moves it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
