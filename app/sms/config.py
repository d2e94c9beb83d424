"""SMS settings, read from the environment (prefix ``CONVOC_SMS_``) and an optional ``.env``.

``CONVOC_SMS_PROVIDERS`` is an ordered failover list (``brevo,twilio``): the gateway tries the
providers in that order. Each provider's own settings (``CONVOC_SMS_<PROVIDER>_*``: base URL,
credentials, timeouts overriding the common ones, rate limit in messages per second) are
declared by its module and registered in ``app.sms.providers.registry``; they are read here
as flat fields (``CONVOC_SMS_BREVO_API_KEY`` is ``brevo_api_key``, ``BrevoSettings.api_key``)
and handed to the provider as its settings class (``provider_settings``).

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
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any, Final

from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.sms.providers.registry import PROVIDERS
from app.sms.providers.spec import (
    MIN_SECRET_LENGTH,
    HttpProviderSettings,
    ProviderConfig,
    ProviderSettings,
    accepts_none,
    blank_is_unset,
    url_problem,
)
from app.sms.sender import InvalidSender, validate_sender

KNOWN_PROVIDERS: Final = tuple(PROVIDERS)
RECEIPTS_PATH: Final = "/api/v1/sms/receipts"
# The dispatcher's retry policy (``app.reminders.dispatcher.backoff``): the first retry waits
# up to RETRY_BASE_SECONDS, each next one up to twice as long, never more than RETRY_CAP_SECONDS.
RETRY_BASE_SECONDS: Final = 30.0
RETRY_CAP_SECONDS: Final = 1800.0

_TOKEN_SHAPE: Final = re.compile(r"[A-Za-z0-9_\-]+")


def _timeout(default: float) -> Any:
    return Field(default=default, gt=0, le=120)


def _flat(provider: str, field: str) -> str:
    """The flat field holding a provider's setting: ``brevo_api_key``."""
    return f"{provider}_{field}"


def _provider_fields() -> type[BaseSettings]:
    """Settings with one field per registered provider setting, with its type, default and
    bounds: pydantic-settings reads them from the environment and ``.env`` like any other."""
    fields: dict[str, Any] = {
        _flat(name, field): (info.annotation, info)
        for name, spec in PROVIDERS.items()
        for field, info in spec.settings.model_fields.items()
    }
    return create_model("ProviderFields", __base__=BaseSettings, **fields)


if TYPE_CHECKING:  # the fields are the registry's: nothing for a type checker to see
    _ProviderFields = BaseSettings
else:
    _ProviderFields = _provider_fields()


class SmsSettings(_ProviderFields):
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
    # During a rotation: the token given before, still accepted (docs/operations.md).
    receipt_token_previous: SecretStr | None = None

    connect_timeout: float = _timeout(3.0)
    read_timeout: float = _timeout(10.0)
    max_connections: int = Field(default=10, ge=1, le=200)

    circuit_failure_threshold: int = Field(default=5, ge=1, le=1000)
    circuit_cooldown_seconds: float = Field(default=60.0, gt=0, le=3600)
    throttle_default_seconds: float = Field(default=10.0, gt=0, le=3600)
    retry_base_seconds: float = Field(default=RETRY_BASE_SECONDS, gt=0)
    retry_cap_seconds: float = Field(default=RETRY_CAP_SECONDS, gt=0)

    # Each registered provider's settings, as its own settings class (see _refuse_unsafe).
    _provider_settings: dict[str, ProviderSettings] = PrivateAttr(default_factory=dict)

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any, info: ValidationInfo) -> Any:
        # `CONVOC_SMS_BREVO_API_KEY=` in a .env means "not set", not "an empty key".
        return blank_is_unset(value, accepts_none(cls, str(info.field_name)))

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
        self._provider_settings = {
            name: spec.settings.model_validate(
                {field: getattr(self, _flat(name, field)) for field in spec.settings.model_fields}
            )
            for name, spec in PROVIDERS.items()
        }
        problems = [
            *self._provider_list_problems(),
            *self._listed_provider_problems(),
            *self._public_url_problems(),
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
            if name not in PROVIDERS:
                problems.append(
                    f"CONVOC_SMS_PROVIDERS : fournisseur inconnu « {name} » "
                    f"(valeurs possibles : {', '.join(KNOWN_PROVIDERS)})."
                )
        duplicates = sorted({name for name in self.providers if self.providers.count(name) > 1})
        if duplicates:
            problems.append(
                f"CONVOC_SMS_PROVIDERS : « {', '.join(duplicates)} » figure plusieurs fois."
            )
        if len(self.providers) > 1:
            for name in dict.fromkeys(self.providers):
                if name in PROVIDERS and PROVIDERS[name].sends_nothing:
                    problems.append(
                        f"CONVOC_SMS_PROVIDERS : « {name} » n'envoie aucun SMS ; il ne peut pas "
                        "figurer dans une liste de bascule avec de vrais fournisseurs (les "
                        "messages seraient perdus sans erreur)."
                    )
        return problems

    def _listed_provider_problems(self) -> list[str]:
        """Each listed provider's own: missing credentials, short secrets, unsafe base URL."""
        problems: list[str] = []
        for name in dict.fromkeys(self.providers):
            if name in PROVIDERS:
                problems += self.provider_settings(name).problems(name)
        return problems

    def _public_url_problems(self) -> list[str]:
        if self.public_base_url is None:
            return []
        problem = url_problem("CONVOC_SMS_PUBLIC_BASE_URL", self.public_base_url)
        return [problem + " Le jeton des accusés de réception y circulerait."] if problem else []

    def _receipt_problems(self) -> list[str]:
        problems: list[str] = []
        for variable, secret in (
            ("CONVOC_SMS_RECEIPT_TOKEN", self.receipt_token),
            ("CONVOC_SMS_RECEIPT_TOKEN_PREVIOUS", self.receipt_token_previous),
        ):
            problems += _token_problems(variable, secret)
        token = self.receipt_token.get_secret_value() if self.receipt_token else None
        if self.receipt_token_previous is not None and token is None:
            problems.append(
                "CONVOC_SMS_RECEIPT_TOKEN_PREVIOUS n'a de sens qu'avec CONVOC_SMS_RECEIPT_TOKEN "
                "(le nouveau jeton)."
            )
        needs_token = sorted(
            name
            for name in set(self.providers)
            if name in PROVIDERS and PROVIDERS[name].unsigned_receipts
        )
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

    def provider_settings(self, name: str) -> ProviderSettings:
        """Provider ``name``'s own settings, as the settings class its module declares."""
        try:
            return self._provider_settings[name]
        except KeyError:
            raise ValueError(f"unknown SMS provider {name!r}") from None

    def provider_config(self, name: str) -> ProviderConfig:
        """What the common settings give provider ``name``, with its own overrides."""
        own = self.provider_settings(name)
        base_url = ""
        rate_limit: float | None = None
        connect: float | None = None
        read: float | None = None
        if isinstance(own, HttpProviderSettings):
            base_url, rate_limit = own.base_url.rstrip("/"), own.rate_limit
            connect, read = own.connect_timeout, own.read_timeout
        return ProviderConfig(
            name=name,
            base_url=base_url,
            connect_timeout=connect or self.connect_timeout,
            read_timeout=read or self.read_timeout,
            max_connections=self.max_connections,
            rate_limit=rate_limit,
            callback_url=self.callback_url(name),
            receipt_token=self.receipt_token_value,
            previous_receipt_token=(
                self.receipt_token_previous.get_secret_value()
                if self.receipt_token_previous
                else None
            ),
            public_base_url=self.public_base_url.rstrip("/") if self.public_base_url else None,
        )


def _token_problems(variable: str, secret: SecretStr | None) -> list[str]:
    token = secret.get_secret_value() if secret else None
    if token is None:
        return []
    problems: list[str] = []
    if len(token) < MIN_SECRET_LENGTH:
        problems.append(f"{variable} doit faire au moins {MIN_SECRET_LENGTH} caractères.")
    if not _TOKEN_SHAPE.fullmatch(token):
        problems.append(
            f"{variable} ne peut contenir que des lettres, chiffres, « - » et "
            "« _ » (il figure dans une URL) : "
            'python -c "import secrets; print(secrets.token_urlsafe(32))"'
        )
    return problems


@lru_cache
def get_sms_settings() -> SmsSettings:
    return SmsSettings()
