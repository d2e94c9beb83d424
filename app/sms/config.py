"""SMS settings, read from the environment (prefix ``CONVOC_SMS_``) and an optional ``.env``.

``CONVOC_SMS_PROVIDERS`` is an ordered failover list (``brevo,twilio``): the gateway tries the
providers in that order. Each provider has a base URL (so it can be pointed at a local server),
credentials, an optional connect/read timeout overriding the common one, and a rate limit in
messages per second.

Delivery receipts come back to ``{CONVOC_SMS_PUBLIC_BASE_URL}/api/v1/sms/receipts/{provider}``
followed by ``/{CONVOC_SMS_RECEIPT_TOKEN}`` when a token is set. The token is the only proof of
authenticity for providers that do not sign their callbacks (Brevo), so it is then required;
for the others (``http``: HMAC-SHA256, Twilio: HMAC-SHA1) it is an extra check.

The settings refuse, with French messages, what would fail silently or leak: a provider listed
without its credentials, ``console`` mixed with real providers (it would swallow messages),
short secrets, a public URL in plain HTTP (the token would travel in clear), credentials sent
to a non-loopback host in plain HTTP.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, Final
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.sms.sender import InvalidSender, validate_sender

KNOWN_PROVIDERS: Final = ("console", "http", "brevo", "twilio", "linkmobility")
RECEIPTS_PATH: Final = "/api/v1/sms/receipts"
MIN_SECRET_LENGTH: Final = 32
# The dispatcher's retry policy (``app.reminders.dispatcher.backoff``): the first retry waits
# up to RETRY_BASE_SECONDS, each next one up to twice as long, never more than RETRY_CAP_SECONDS.
RETRY_BASE_SECONDS: Final = 30.0
RETRY_CAP_SECONDS: Final = 1800.0

# Providers whose callbacks carry no signature: the path token is their only proof.
_TOKEN_ONLY_RECEIPTS: Final = frozenset({"brevo"})
_LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1"})
_TOKEN_SHAPE: Final = re.compile(r"[A-Za-z0-9_\-]+")


@dataclass(frozen=True)
class ProviderConfig:
    """What every HTTP provider needs besides its credentials."""

    name: str
    base_url: str
    connect_timeout: float
    read_timeout: float
    max_connections: int
    rate_limit: float | None  # messages per second; None: unlimited
    callback_url: str | None  # where the provider posts its receipts; None: no receipts
    receipt_token: str | None
    public_base_url: str | None


def _timeout(default: float) -> Any:
    return Field(default=default, gt=0, le=120)


def _rate(default: float) -> Any:
    return Field(default=default, gt=0, le=1000)


class SmsSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CONVOC_SMS_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        # A refused configuration is printed at start-up: never with the secrets it holds.
        hide_input_in_errors=True,
    )

    providers: Annotated[tuple[str, ...], NoDecode] = ("console",)
    default_sender: str = "SPIP"
    public_base_url: str | None = None
    receipt_token: SecretStr | None = None

    connect_timeout: float = _timeout(3.0)
    read_timeout: float = _timeout(10.0)
    max_connections: int = Field(default=10, ge=1, le=200)

    circuit_failure_threshold: int = Field(default=5, ge=1, le=1000)
    circuit_cooldown_seconds: float = Field(default=60.0, gt=0, le=3600)
    throttle_default_seconds: float = Field(default=10.0, gt=0, le=3600)
    retry_base_seconds: float = Field(default=RETRY_BASE_SECONDS, gt=0)
    retry_cap_seconds: float = Field(default=RETRY_CAP_SECONDS, gt=0)

    http_base_url: str = "http://127.0.0.1:9100"
    http_api_key: SecretStr | None = None
    http_webhook_secret: SecretStr | None = None
    http_rate_limit: float = _rate(50.0)
    http_connect_timeout: float | None = None
    http_read_timeout: float | None = None

    brevo_base_url: str = "https://api.brevo.com"
    brevo_api_key: SecretStr | None = None
    brevo_rate_limit: float = _rate(10.0)
    brevo_connect_timeout: float | None = None
    brevo_read_timeout: float | None = None

    twilio_base_url: str = "https://api.twilio.com"
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_rate_limit: float = _rate(10.0)
    twilio_connect_timeout: float | None = None
    twilio_read_timeout: float | None = None

    linkmobility_base_url: str = "https://europe.ipx.com"
    linkmobility_username: str | None = None
    linkmobility_password: SecretStr | None = None
    linkmobility_rate_limit: float = _rate(10.0)
    linkmobility_connect_timeout: float | None = None
    linkmobility_read_timeout: float | None = None

    @field_validator(
        "public_base_url",
        "receipt_token",
        "http_api_key",
        "http_webhook_secret",
        "brevo_api_key",
        "twilio_account_sid",
        "twilio_auth_token",
        "twilio_messaging_service_sid",
        "linkmobility_username",
        "linkmobility_password",
        *(f"{name}_{kind}_timeout" for name in KNOWN_PROVIDERS[1:] for kind in ("connect", "read")),
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # `CONVOC_SMS_BREVO_API_KEY=` in a .env means "not set", not "an empty key".
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("providers", mode="before")
    @classmethod
    def _split_providers(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return ("console",)
        if isinstance(value, str):
            value = value.split(",")
        return tuple(str(item).strip().lower() for item in value if str(item).strip())

    @field_validator("default_sender")
    @classmethod
    def _check_sender(cls, value: str) -> str:
        try:
            return validate_sender(value)
        except InvalidSender as exc:
            raise ValueError(f"CONVOC_SMS_DEFAULT_SENDER : {exc}") from None

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> SmsSettings:
        problems = [
            *self._provider_list_problems(),
            *self._credential_problems(),
            *self._url_problems(),
            *self._receipt_problems(),
        ]
        if self.retry_cap_seconds < self.retry_base_seconds:
            problems.append(
                "CONVOC_SMS_RETRY_CAP_SECONDS doit être supérieur ou égal à "
                "CONVOC_SMS_RETRY_BASE_SECONDS."
            )
        if problems:
            raise ValueError("Configuration SMS refusée :\n- " + "\n- ".join(problems))
        return self

    def _provider_list_problems(self) -> list[str]:
        problems: list[str] = []
        if not self.providers:
            problems.append("CONVOC_SMS_PROVIDERS est vide : indiquez au moins « console ».")
        for name in self.providers:
            if name not in KNOWN_PROVIDERS:
                problems.append(
                    f"CONVOC_SMS_PROVIDERS : fournisseur inconnu « {name} » "
                    f"(valeurs possibles : {', '.join(KNOWN_PROVIDERS)})."
                )
        duplicates = sorted({name for name in self.providers if self.providers.count(name) > 1})
        if duplicates:
            problems.append(
                f"CONVOC_SMS_PROVIDERS : « {', '.join(duplicates)} » figure plusieurs fois."
            )
        if "console" in self.providers and len(self.providers) > 1:
            problems.append(
                "CONVOC_SMS_PROVIDERS : « console » n'envoie aucun SMS ; il ne peut pas figurer "
                "dans une liste de bascule avec de vrais fournisseurs (les messages seraient "
                "perdus sans erreur)."
            )
        return problems

    def _credential_problems(self) -> list[str]:
        problems: list[str] = []
        listed = set(self.providers)
        if "http" in listed:
            problems += _require_secret("CONVOC_SMS_HTTP_API_KEY", self.http_api_key, "http")
            problems += _require_secret(
                "CONVOC_SMS_HTTP_WEBHOOK_SECRET", self.http_webhook_secret, "http", strong=True
            )
        if "brevo" in listed:
            problems += _require_secret("CONVOC_SMS_BREVO_API_KEY", self.brevo_api_key, "brevo")
        if "twilio" in listed:
            sid = self.twilio_account_sid or ""
            if not sid.startswith("AC"):
                problems.append(
                    "CONVOC_SMS_TWILIO_ACCOUNT_SID est requis quand « twilio » est listé "
                    "(identifiant de compte commençant par « AC »)."
                )
            problems += _require_secret(
                "CONVOC_SMS_TWILIO_AUTH_TOKEN", self.twilio_auth_token, "twilio"
            )
        if "linkmobility" in listed:
            if not self.linkmobility_username:
                problems.append(
                    "CONVOC_SMS_LINKMOBILITY_USERNAME est requis quand « linkmobility » est listé."
                )
            problems += _require_secret(
                "CONVOC_SMS_LINKMOBILITY_PASSWORD", self.linkmobility_password, "linkmobility"
            )
        return problems

    def _url_problems(self) -> list[str]:
        problems: list[str] = []
        for name in self.providers:
            if name == "console" or name not in KNOWN_PROVIDERS:
                continue
            variable = f"CONVOC_SMS_{name.upper()}_BASE_URL"
            problem = _url_problem(variable, getattr(self, f"{name}_base_url"))
            if problem:
                problems.append(problem + " Les identifiants du fournisseur y circuleraient.")
        if self.public_base_url is not None:
            problem = _url_problem("CONVOC_SMS_PUBLIC_BASE_URL", self.public_base_url)
            if problem:
                problems.append(problem + " Le jeton des accusés de réception y circulerait.")
        return problems

    def _receipt_problems(self) -> list[str]:
        problems: list[str] = []
        token = self.receipt_token.get_secret_value() if self.receipt_token else None
        if token is not None:
            if len(token) < MIN_SECRET_LENGTH:
                problems.append(
                    f"CONVOC_SMS_RECEIPT_TOKEN doit faire au moins {MIN_SECRET_LENGTH} caractères."
                )
            if not _TOKEN_SHAPE.fullmatch(token):
                problems.append(
                    "CONVOC_SMS_RECEIPT_TOKEN ne peut contenir que des lettres, chiffres, « - » et "
                    "« _ » (il figure dans une URL) : "
                    'python -c "import secrets; print(secrets.token_urlsafe(32))"'
                )
        needs_token = sorted(_TOKEN_ONLY_RECEIPTS & set(self.providers))
        if self.public_base_url is not None and token is None and needs_token:
            problems.append(
                f"CONVOC_SMS_RECEIPT_TOKEN est requis avec « {', '.join(needs_token)} » : ses "
                "accusés de réception ne sont pas signés, le jeton secret de l'URL est leur "
                "seule preuve d'authenticité."
            )
        return problems

    # ---------------------------------------------------------------------------------------

    @property
    def receipt_token_value(self) -> str | None:
        return self.receipt_token.get_secret_value() if self.receipt_token else None

    def callback_url(self, provider: str) -> str | None:
        """The receipt URL given to ``provider``; ``None`` when no public URL is configured."""
        if self.public_base_url is None:
            return None
        url = f"{self.public_base_url.rstrip('/')}{RECEIPTS_PATH}/{provider}"
        token = self.receipt_token_value
        return f"{url}/{token}" if token else url

    def provider_config(self, name: str) -> ProviderConfig:
        if name not in KNOWN_PROVIDERS or name == "console":
            raise ValueError(f"no HTTP configuration for provider {name!r}")
        connect: float | None = getattr(self, f"{name}_connect_timeout")
        read: float | None = getattr(self, f"{name}_read_timeout")
        return ProviderConfig(
            name=name,
            base_url=str(getattr(self, f"{name}_base_url")).rstrip("/"),
            connect_timeout=connect or self.connect_timeout,
            read_timeout=read or self.read_timeout,
            max_connections=self.max_connections,
            rate_limit=getattr(self, f"{name}_rate_limit"),
            callback_url=self.callback_url(name),
            receipt_token=self.receipt_token_value,
            public_base_url=self.public_base_url.rstrip("/") if self.public_base_url else None,
        )


def _require_secret(
    variable: str, value: SecretStr | None, provider: str, *, strong: bool = False
) -> list[str]:
    if value is None:
        return [f"{variable} est requis quand « {provider} » est listé dans CONVOC_SMS_PROVIDERS."]
    if strong and len(value.get_secret_value()) < MIN_SECRET_LENGTH:
        return [f"{variable} doit faire au moins {MIN_SECRET_LENGTH} caractères."]
    return []


def _url_problem(variable: str, url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{variable} n'est pas une URL http(s) valide (« {url} »)."
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
        return f"{variable} doit être en https (http n'est admis que vers 127.0.0.1/localhost)."
    return None


@lru_cache
def get_sms_settings() -> SmsSettings:
    return SmsSettings()
