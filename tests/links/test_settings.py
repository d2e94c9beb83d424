"""Where the links point: CONVOC_PUBLIC_URL, https in production, the server's own address in
development, no link in production until it is set."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.config import Settings

SECRET = "s" * 40


def test_development_links_point_at_the_server_itself() -> None:
    settings = Settings(env="development", host="127.0.0.1", port=8123)
    assert settings.link_base_url == "http://127.0.0.1:8123"


def test_production_sends_no_link_until_the_public_address_is_set() -> None:
    assert Settings(env="production", secret_key=SECRET).link_base_url is None
    settings = Settings(env="production", secret_key=SECRET, public_url="https://convoc.fr/")
    assert settings.link_base_url == "https://convoc.fr"


def test_production_refuses_a_plain_http_address() -> None:
    with pytest.raises(ValidationError, match="https://"):
        Settings(env="production", secret_key=SECRET, public_url="http://convoc.fr")


def test_an_address_with_parameters_is_refused() -> None:
    with pytest.raises(ValidationError, match="sans paramètres"):
        Settings(env="test", secret_key=SECRET, public_url="https://convoc.fr/?a=1")
