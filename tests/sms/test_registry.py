"""The provider registry: each provider module declares its settings and factory, and the SMS
settings read them from ``CONVOC_SMS_<PROVIDER>_<FIELD>`` without naming any provider."""

from __future__ import annotations

import os

import pytest

from app.sms.config import SmsSettings
from app.sms.providers.registry import PROVIDERS, build_provider
from app.sms.providers.spec import HttpProviderSettings, variable


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CONVOC_SMS_"):
            monkeypatch.delenv(name)


async def test_every_registered_provider_has_its_settings_and_its_factory() -> None:
    assert tuple(PROVIDERS) == ("console", "http", "brevo", "twilio", "linkmobility")
    for name, spec in PROVIDERS.items():
        assert spec.name == name
        provider = build_provider(name, _listed(name))
        assert provider.name == name
        await provider.aclose()


@pytest.mark.parametrize("name", [n for n, s in PROVIDERS.items() if s.settings.model_fields])
def test_each_provider_setting_is_read_from_its_own_variable(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_class = PROVIDERS[name].settings
    assert issubclass(settings_class, HttpProviderSettings)
    monkeypatch.setenv(variable(name, "base_url"), "https://sms.example/")
    monkeypatch.setenv(variable(name, "read_timeout"), "7")
    monkeypatch.setenv(variable(name, "rate_limit"), "3")
    settings = SmsSettings(_env_file=None)
    own = settings.provider_settings(name)
    assert isinstance(own, settings_class)
    assert (own.base_url, own.read_timeout, own.rate_limit) == ("https://sms.example/", 7, 3)
    config = settings.provider_config(name)
    assert (config.base_url, config.read_timeout, config.rate_limit) == (
        "https://sms.example",
        7,
        3,
    )


def _listed(name: str) -> SmsSettings:
    """Settings listing only ``name``, with the credentials it requires."""
    credentials = {
        "http": {"http_api_key": "k", "http_webhook_secret": "s" * 32},
        "brevo": {"brevo_api_key": "k"},
        "twilio": {"twilio_account_sid": "AC" + "0" * 32, "twilio_auth_token": "t"},
        "linkmobility": {"linkmobility_username": "u", "linkmobility_password": "p"},
    }
    return SmsSettings(_env_file=None, providers=name, **credentials.get(name, {}))


def test_no_provider_setting_shadows_another_setting() -> None:
    """``CONVOC_SMS_<PROVIDER>_<FIELD>`` must name one setting only: neither a common one
    (a provider ``retry`` with ``base_seconds``) nor another provider's."""
    flat = [f"{name}_{field}" for name, s in PROVIDERS.items() for field in s.settings.model_fields]
    common = set(SmsSettings.__annotations__)
    assert len(set(flat)) == len(flat)
    assert not common & set(flat)
