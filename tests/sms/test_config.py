"""SMS settings: the failover list, per-provider settings, and refusal of unsafe configurations."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from app.sms.config import SmsSettings
from app.sms.gateway import SmsGateway
from app.sms.providers.brevo import BrevoProvider
from app.sms.providers.console import ConsoleProvider
from app.sms.providers.twilio import TwilioProvider
from app.sms.sender import InvalidSender, validate_sender

TOKEN = "t" * 40
SID = "AC" + "0" * 32


def settings(**values: Any) -> SmsSettings:
    return SmsSettings(_env_file=None, **values)


def refusal(**values: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        settings(**values)
    return str(caught.value)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("CONVOC_SMS_"):
            monkeypatch.delenv(name)


def test_default_is_the_console_provider() -> None:
    config = settings()
    assert config.providers == ("console",)
    assert config.default_sender == "SPIP"


def test_providers_is_an_ordered_failover_list_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONVOC_SMS_PROVIDERS", " Twilio, brevo ")
    monkeypatch.setenv("CONVOC_SMS_BREVO_API_KEY", "xkeysib")
    monkeypatch.setenv("CONVOC_SMS_TWILIO_ACCOUNT_SID", SID)
    monkeypatch.setenv("CONVOC_SMS_TWILIO_AUTH_TOKEN", "token")
    monkeypatch.setenv("CONVOC_SMS_BREVO_READ_TIMEOUT", "")  # empty means unset
    config = settings()
    assert config.providers == ("twilio", "brevo")
    assert config.provider_config("brevo").read_timeout == config.read_timeout


async def test_gateway_is_built_in_the_configured_order() -> None:
    config = settings(
        providers="brevo,twilio",
        brevo_api_key="xkeysib",
        twilio_account_sid=SID,
        twilio_auth_token="token",
        brevo_rate_limit=5,
    )
    gateway = SmsGateway.from_settings(config)
    try:
        assert gateway.provider_names == ("brevo", "twilio")
        assert isinstance(gateway.provider("brevo"), BrevoProvider)
        assert isinstance(gateway.provider("twilio"), TwilioProvider)
    finally:
        await gateway.aclose()


async def test_console_gateway_from_default_settings() -> None:
    gateway = SmsGateway.from_settings(settings())
    assert isinstance(gateway.provider("console"), ConsoleProvider)
    await gateway.aclose()


def test_per_provider_settings() -> None:
    config = settings(
        providers="http",
        http_api_key="k",
        http_webhook_secret="s" * 32,
        http_base_url="http://127.0.0.1:9100/",
        http_read_timeout=1.5,
        http_rate_limit=20,
        public_base_url="https://convoc.example/",
        receipt_token=TOKEN,
    )
    http = config.provider_config("http")
    assert http.base_url == "http://127.0.0.1:9100"
    assert (http.connect_timeout, http.read_timeout, http.rate_limit) == (3.0, 1.5, 20)
    assert http.callback_url == f"https://convoc.example/api/v1/sms/receipts/http/{TOKEN}"


def test_callback_url_without_token_for_signed_providers() -> None:
    config = settings(
        providers="http",
        http_api_key="k",
        http_webhook_secret="s" * 32,
        public_base_url="https://convoc.example",
    )
    assert config.callback_url("http") == "https://convoc.example/api/v1/sms/receipts/http"
    assert settings().callback_url("http") is None


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"providers": "brevo"}, "CONVOC_SMS_BREVO_API_KEY est requis"),
        ({"providers": "twilio", "twilio_auth_token": "x"}, "CONVOC_SMS_TWILIO_ACCOUNT_SID"),
        ({"providers": "twilio", "twilio_account_sid": SID}, "CONVOC_SMS_TWILIO_AUTH_TOKEN"),
        ({"providers": "linkmobility"}, "CONVOC_SMS_LINKMOBILITY_USERNAME"),
        ({"providers": "http", "http_api_key": "k"}, "CONVOC_SMS_HTTP_WEBHOOK_SECRET"),
        (
            {"providers": "http", "http_api_key": "k", "http_webhook_secret": "short"},
            "au moins 32 caractères",
        ),
        ({"providers": "sms4all"}, "fournisseur inconnu « sms4all »"),
        ({"providers": "brevo,brevo", "brevo_api_key": "k"}, "figure plusieurs fois"),
        ({"providers": "console,brevo", "brevo_api_key": "k"}, "« console » n'envoie aucun SMS"),
        ({"default_sender": "0612345678"}, "au moins une lettre"),
        ({"default_sender": "SPIP-NANTERRE"}, "de 3 à 11 caractères"),
        ({"retry_base_seconds": 60, "retry_cap_seconds": 30}, "RETRY_CAP_SECONDS"),
    ],
)
def test_unsafe_configuration_is_refused_in_french(values: dict[str, Any], message: str) -> None:
    assert message in refusal(**values)


def test_public_url_must_be_https_outside_loopback() -> None:
    assert "CONVOC_SMS_PUBLIC_BASE_URL doit être en https" in refusal(
        public_base_url="http://convoc.example"
    )
    assert settings(public_base_url="http://127.0.0.1:8000").public_base_url


def test_provider_credentials_never_travel_in_clear_to_a_remote_host() -> None:
    assert "CONVOC_SMS_BREVO_BASE_URL doit être en https" in refusal(
        providers="brevo", brevo_api_key="k", brevo_base_url="http://brevo.example"
    )


def test_unsigned_receipts_need_the_path_token() -> None:
    message = refusal(
        providers="brevo", brevo_api_key="k", public_base_url="https://convoc.example"
    )
    assert "CONVOC_SMS_RECEIPT_TOKEN est requis avec « brevo »" in message


@pytest.mark.parametrize(("token", "message"), [("short", "32"), ("x/" * 20, "lettres")])
def test_receipt_token_must_be_long_and_url_safe(token: str, message: str) -> None:
    assert message in refusal(receipt_token=token)


def test_refusal_never_prints_the_secrets_it_was_given() -> None:
    message = refusal(providers="twilio", twilio_auth_token="very-secret-token-value")
    assert "very-secret-token-value" not in message


def test_several_problems_are_reported_together() -> None:
    message = refusal(providers="brevo,linkmobility")
    assert "BREVO_API_KEY" in message and "LINKMOBILITY_USERNAME" in message


@pytest.mark.parametrize("sender", ["SPIP", "SPIP 92", "SPIP-NORD", "JUSTICE", "Spip.75"])
def test_valid_senders(sender: str) -> None:
    assert validate_sender(f" {sender} ") == sender


@pytest.mark.parametrize("sender", ["AB", "SPIP NANTERRE", "12345", "SPÏP", "SPIP!", "-SPIP", ""])
def test_invalid_senders(sender: str) -> None:
    with pytest.raises(InvalidSender):
        validate_sender(sender)
