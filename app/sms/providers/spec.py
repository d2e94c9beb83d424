"""What a provider module declares to the registry (``app.sms.providers.registry``).

Each provider module owns:

* a **settings class**, one field per ``CONVOC_SMS_<PROVIDER>_<FIELD>`` variable (``api_key`` of
  ``brevo`` is ``CONVOC_SMS_BREVO_API_KEY``), with its default and bounds, and ``problems``: why
  the settings are refused when the provider is listed, in French, never quoting a secret.
  Derive from ``HttpProviderSettings`` for a provider called over HTTP (base URL, rate limit,
  timeout overrides), else from ``ProviderSettings``;
* a **factory**: its settings, the ``ProviderConfig`` the common settings give it, and an
  optional HTTP client (tests) → a provider instance;
* ``PROVIDER = ProviderSpec(name, settings class, factory)``.

``app.sms.config.SmsSettings`` reads every registered provider's variables from the
environment and ``.env``, and refuses the configuration with all its problems at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar, get_args
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator

from app.sms.base import SmsProvider

ENV_PREFIX: Final = "CONVOC_SMS_"
MIN_SECRET_LENGTH: Final = 32
_LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True)
class ProviderConfig:
    """What the common settings give every provider besides its own settings."""

    name: str
    base_url: str  # "" for a provider that calls no one (console)
    connect_timeout: float
    read_timeout: float
    max_connections: int
    rate_limit: float | None  # messages per second; None: unlimited
    callback_url: str | None  # where the provider posts its receipts; None: no receipts
    receipt_token: str | None
    public_base_url: str | None
    # The token before a rotation, still accepted until the receipts of messages sent with it
    # have come back (CONVOC_SMS_RECEIPT_TOKEN_PREVIOUS; docs/operations.md).
    previous_receipt_token: str | None = None


def variable(provider: str, field: str) -> str:
    """The environment variable of a provider's setting: ``CONVOC_SMS_BREVO_API_KEY``."""
    return f"{ENV_PREFIX}{provider.upper()}_{field.upper()}"


def blank_is_unset(value: Any, accepts_none: bool) -> Any:
    """``CONVOC_SMS_BREVO_API_KEY=`` in a .env means "not set", not "an empty key"."""
    if accepts_none and isinstance(value, str) and not value.strip():
        return None
    return value


def accepts_none(model: type[BaseModel], field: str) -> bool:
    """Whether ``field`` of ``model`` may be unset (``None``)."""
    return type(None) in get_args(model.model_fields[field].annotation)


class ProviderSettings(BaseModel):
    """A provider's own settings (none for the console provider)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any, info: ValidationInfo) -> Any:
        return blank_is_unset(value, accepts_none(cls, str(info.field_name)))

    def problems(self, name: str) -> list[str]:
        """Why these settings cannot work when ``name`` is listed in CONVOC_SMS_PROVIDERS."""
        return []


def timeout_override() -> Any:
    return Field(default=None, gt=0, le=120)


def rate_limit_field(default: float) -> Any:
    return Field(default=default, gt=0, le=1000)


class HttpProviderSettings(ProviderSettings):
    """What every provider called over HTTP has: where, how fast, how patiently."""

    base_url: str
    rate_limit: float = rate_limit_field(10.0)  # messages per second
    # Override CONVOC_SMS_CONNECT_TIMEOUT / CONVOC_SMS_READ_TIMEOUT for this provider.
    connect_timeout: float | None = timeout_override()
    read_timeout: float | None = timeout_override()

    def problems(self, name: str) -> list[str]:
        problem = url_problem(variable(name, "base_url"), self.base_url)
        return [problem + " Les identifiants du fournisseur y circuleraient."] if problem else []


S = TypeVar("S", bound=ProviderSettings)
Factory = Callable[[S, ProviderConfig, httpx.AsyncClient | None], SmsProvider]


@dataclass(frozen=True)
class ProviderSpec(Generic[S]):
    """One entry of the registry: a provider's name, settings and factory."""

    name: str
    settings: type[S]
    build: Factory[S]
    # Receipts carry no signature: the secret token of the receipt URL is their only proof,
    # so CONVOC_SMS_RECEIPT_TOKEN is required with a public URL (Brevo).
    unsigned_receipts: bool = False
    # Sends nothing (console): refused in a failover list with real providers.
    sends_nothing: bool = False


def missing_secret(
    variable_name: str, value: SecretStr | str | None, provider: str, *, strong: bool = False
) -> list[str]:
    """The problem with a required credential, if any (``strong``: a secret we share, which
    must be long enough)."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if not value:
        return [
            f"{variable_name} est requis quand « {provider} » est listé dans CONVOC_SMS_PROVIDERS."
        ]
    if strong and len(value) < MIN_SECRET_LENGTH:
        return [f"{variable_name} doit faire au moins {MIN_SECRET_LENGTH} caractères."]
    return []


def url_problem(variable_name: str, url: str) -> str | None:
    """Why ``url`` is refused: not http(s), or plain http to a host that is not loopback."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{variable_name} n'est pas une URL http(s) valide (« {url} »)."
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
        return (
            f"{variable_name} doit être en https (http n'est admis que vers 127.0.0.1/localhost)."
        )
    return None
