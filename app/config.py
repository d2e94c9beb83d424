"""Settings, read from the environment (prefix ``CONVOC_``) and an optional ``.env`` file.

Every setting is listed and explained in ``.env.example``.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Known-insecure default: fine on a developer's laptop, refused anywhere else.
DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me"


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CONVOC_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Environment = Environment.development
    database_url: str = "sqlite+aiosqlite:///./var/convoc.db"
    database_echo: bool = False
    database_pool_size: int = Field(default=10, ge=1, le=200)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # API server processes (`python -m app serve`): one per core. Each keeps its own database
    # pool. More than one needs the dispatcher in its own processes (see ``embedded_worker``).
    workers: int = Field(default=1, ge=1, le=64)
    secret_key: str = DEV_SECRET_KEY
    # During a rotation: the key before, still accepted for agents' sessions, activation links
    # and forms signed with it, so nobody is logged out (docs/operations.md).
    secret_key_previous: str | None = None
    log_level: str = "INFO"
    # Reminder dispatcher. Embedded: the scheduler runs inside the API process (default in
    # development, with SQLite); in production run `python -m app worker` processes instead.
    worker_embedded: bool | None = None
    worker_interval_seconds: float = Field(default=10.0, gt=0, le=3600)
    worker_batch_size: int = Field(default=200, ge=1, le=5000)
    worker_concurrency: int = Field(default=20, ge=1, le=500)
    worker_lease_seconds: int = Field(default=60, ge=5, le=3600)
    # Agents' sessions: opaque bearer tokens with an idle timeout and an absolute lifetime.
    token_idle_minutes: int = Field(default=60, ge=1, le=24 * 60)
    token_lifetime_hours: int = Field(default=12, ge=1, le=24 * 7)
    activation_token_hours: int = Field(default=72, ge=1, le=24 * 30)
    # After this many failed logins in a row an account is locked for a while.
    login_max_failures: int = Field(default=10, ge=3, le=100)
    login_lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # Login attempts allowed per client address within the window (all accounts together).
    login_rate_limit: int = Field(default=30, ge=1, le=10_000)
    login_rate_window_minutes: int = Field(default=5, ge=1, le=24 * 60)
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or
    # networks, comma-separated). Empty: none — the client address is the connection's, so no
    # one can pick the address their login attempts are counted under.
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = ()
    # Estimated price of one SMS segment, for the SMS report (euros).
    sms_price_per_segment_eur: float = Field(default=0.045, ge=0, le=10)
    # Request bodies larger than this are refused with 413 (the largest legitimate one is a
    # template or a person: a few kilobytes).
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=100 * 1024 * 1024)
    # Convocations may be booked at most this far ahead (guards against typos such as year 2207).
    max_booking_horizon_days: int = Field(default=730, ge=1)
    # Slots are generated from their slot types this many months ahead (``app.agendas``).
    slot_horizon_months: int = Field(default=6, ge=1, le=24)
    # The home page warns when more past convocations than this per agent are still without
    # an outcome (Mon Suivi Justice warns above 5).
    unrecorded_warning_per_agent: int = Field(default=5, ge=0, le=1000)
    # … or when, for a whole service, this share (%) of its past convocations still within the
    # outcome window is without an outcome (Mon Suivi Justice warns above 20 %).
    unrecorded_warning_service_percent: int = Field(default=20, ge=0, le=100)
    # Protection des données (docs/data-protection.md). Une personne sans convocation depuis
    # ce nombre de mois est archivée par le traitement quotidien (Mon Suivi Justice : 12).
    retention_archive_after_months: int = Field(default=12, ge=1, le=120)
    # … puis supprimée, avec ses convocations et ses SMS, ce nombre de mois après son archivage
    # (Mon Suivi Justice : 6) ; ses comptes restent dans les statistiques mensuelles.
    retention_delete_after_months: int = Field(default=6, ge=1, le=120)
    # Texte et identifiant fournisseur des SMS d'une convocation commencée depuis plus de ce
    # nombre de mois : effacés (statuts, segments et horaires restent, pour les statistiques).
    retention_message_content_months: int = Field(default=12, ge=1, le=120)
    # Le journal d'audit (qui a fait quoi, sans valeur personnelle) est gardé ce nombre de mois.
    # La CNIL recommande 6 mois à 1 an pour des traces d'accès ; un service de la justice garde
    # plus longtemps la preuve des actes : 24 mois par défaut, à fixer par le responsable.
    audit_retention_months: int = Field(default=24, ge=6, le=120)
    # Development and tests only: the processes' clock starts at this instant (ISO 8601 with
    # its offset) and runs on from there, so a browser test can stand after a convocation's
    # start, or a demonstration on a DST day. Refused in production.
    clock_starts_at: datetime | None = None
    # Where the followed persons reach Convoc: the convocation link of their SMS is
    # ``{public_url}/c/<token>`` (app.links). Unset: the server's own address in development and
    # tests; in production no SMS carries a link until it is set (https only). Usually the
    # same origin as CONVOC_SMS_PUBLIC_BASE_URL (the delivery receipts'), set separately: the
    # receipts may come in through another entrance than the persons.
    public_url: str | None = None
    # A convocation's link works until this many days after its start (a cancelled one too, so
    # that the person can read « annulée »).
    link_valid_days_after: int = Field(default=7, ge=0, le=90)
    # Requests to the convocation pages (/c/…) allowed per client address within the window,
    # unknown tokens included: guessing is slowed, the person reading their page never is.
    # Counted in each server process (app.links.ratelimit).
    link_rate_limit: int = Field(default=30, ge=1, le=10_000)
    link_rate_window_minutes: int = Field(default=5, ge=1, le=24 * 60)
    # GET /metrics (Prometheus) answers to ``Authorization: Bearer <this token>``; unset, the
    # route does not exist (404). Several processes share PROMETHEUS_MULTIPROC_DIR
    # (docs/operations.md, « Métriques et alertes »).
    metrics_token: SecretStr | None = None
    # The database-read gauges (messages by status…) are computed at most once per this many
    # seconds per API process, whatever the number of scrapes.
    metrics_cache_seconds: float = Field(default=5.0, ge=0, le=300)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        proxies = tuple(str(item).strip() for item in value or () if str(item).strip())
        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError as exc:
                raise ValueError(
                    f"CONVOC_TRUSTED_PROXIES : « {proxy} » n'est ni une adresse IP ni un réseau."
                ) from exc
        return proxies

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        if self.env != Environment.development and self.secret_key == DEV_SECRET_KEY:
            raise ValueError(
                "CONVOC_SECRET_KEY garde sa valeur de développement : "
                "définissez un secret propre à cet environnement."
            )
        if self.env != Environment.development and len(self.secret_key) < 32:
            raise ValueError("CONVOC_SECRET_KEY doit faire au moins 32 caractères.")
        if self.secret_key_previous is not None and self.secret_key_previous == self.secret_key:
            raise ValueError("CONVOC_SECRET_KEY_PREVIOUS doit différer de CONVOC_SECRET_KEY.")
        if self.clock_starts_at is not None:
            if self.env == Environment.production:
                raise ValueError("CONVOC_CLOCK_STARTS_AT est refusé en production.")
            if self.clock_starts_at.utcoffset() is None:
                raise ValueError(
                    "CONVOC_CLOCK_STARTS_AT doit porter son décalage (ex. 2027-03-29T12:05:00Z)."
                )
        if self.public_url is not None:
            url = self.public_url.strip().rstrip("/")
            if self.env == Environment.production and not url.startswith("https://"):
                raise ValueError(
                    "CONVOC_PUBLIC_URL doit commencer par https:// en production : le lien des "
                    "convocations y circule."
                )
            if not url.startswith(("https://", "http://")) or "?" in url or "#" in url:
                raise ValueError(
                    "CONVOC_PUBLIC_URL doit être une adresse http(s) sans paramètres, "
                    "par exemple https://convoc.justice.fr."
                )
            self.public_url = url
        if self.metrics_token is not None and len(self.metrics_token.get_secret_value()) < 24:
            raise ValueError("CONVOC_METRICS_TOKEN doit faire au moins 24 caractères.")
        if problem := self.server_processes_problem(self.workers):
            raise ValueError(problem)
        return self

    @property
    def secret_keys(self) -> tuple[str, ...]:
        """The key that signs, then the one still accepted during a rotation."""
        if self.secret_key_previous:
            return (self.secret_key, self.secret_key_previous)
        return (self.secret_key,)

    def server_processes_problem(self, workers: int) -> str | None:
        """Why ``workers`` API processes cannot run with these settings (None: they can).

        The embedded dispatcher starts with each API process: with several, each would run its
        own scheduler (N ticks per interval, N times the connections, and on SQLite writers
        contending for one file). Refused rather than silently switched off, so that nobody
        waits for reminders that no process sends.
        """
        if workers > 1 and self.embedded_worker:
            return (
                f"Le répartiteur intégré (CONVOC_WORKER_EMBEDDED, actif par défaut en "
                f"développement) tournerait dans chacun des {workers} processus serveur. "
                "Mettez CONVOC_WORKER_EMBEDDED=false et lancez le répartiteur à part "
                "(python -m app worker), ou gardez un seul processus serveur (CONVOC_WORKERS=1)."
            )
        return None

    @property
    def embedded_worker(self) -> bool:
        if self.worker_embedded is None:
            return self.env == Environment.development
        return self.worker_embedded

    @property
    def link_base_url(self) -> str | None:
        """The origin of the convocation links; ``None``: the SMS carry none."""
        if self.public_url is not None:
            return self.public_url
        if self.env == Environment.production:
            return None
        return f"http://{self.host}:{self.port}"

    @property
    def async_database_url(self) -> str:
        return to_async_url(self.database_url)

    @property
    def is_sqlite(self) -> bool:
        return self.async_database_url.startswith("sqlite")


def to_async_url(url: str) -> str:
    """Accept the URL forms operators write and pick the async driver we ship."""
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
