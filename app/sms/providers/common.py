"""What the HTTP providers share: one client each, error classification, receipt helpers.

Error classes (see ``app.sms.base``):

* connection refused, DNS failure, connect or pool timeout: **temporary**, code
  ``connection_error`` / ``connect_timeout`` — the request never left, so failing over is safe;
* read or write timeout: **temporary**, code ``timeout`` — the provider *may* have accepted the
  message. Sending is at-least-once at the wire (no provider offers an idempotency key), which
  is why the dispatcher keeps leases short and records a provider id as soon as it has one;
* HTTP 429: **throttled**, with ``Retry-After`` (seconds or HTTP date) when given;
* HTTP 5xx: **temporary**;
* HTTP 401, 402, 403, 404, 405, 407, 408, 409, 425: **temporary**. These say "your account or
  configuration is refused" (bad key, no credit, wrong base URL), not "this message is
  refused": a permanent error would flag the person's number for the agent and stop retries
  on the next provider, which is wrong when the fault is ours;
* any other 4xx: **permanent**.

Error messages never quote the provider's response text: it may echo the phone number.
"""

from __future__ import annotations

import hmac
import json
import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from pydantic import SecretStr

from app.core import clock
from app.core.json_depth import MAX_JSON_DEPTH, json_too_deep
from app.sms.base import (
    InboundSms,
    PermanentError,
    ReceiptError,
    SmsError,
    SubmitResult,
    TemporaryError,
    ThrottledError,
)
from app.sms.providers.spec import ProviderConfig

log = logging.getLogger("convoc.sms.providers")

ACCOUNT_LEVEL_STATUSES: Final = frozenset({401, 402, 403, 404, 405, 407, 408, 409, 425})
MAX_RETRY_AFTER_SECONDS: Final = 3600.0
# What the inbound_sms table holds: a provider's id, a number, a text (10 SMS parts, and more).
MAX_INBOUND_ID: Final = 100
MAX_INBOUND_SENDER: Final = 20
MAX_INBOUND_TEXT: Final = 2000


def build_client(config: ProviderConfig) -> httpx.AsyncClient:
    """The provider's one shared client: explicit timeouts, bounded pool, no redirects.

    httpx's API over aiohttp's connection pool (``httpx-aiohttp``, by an httpx maintainer):
    httpcore's pool polls every open socket on every request, which cost the dispatcher 1.7 ms
    of CPU per SMS at 10 connections, against 0.5 ms here (``bench/dispatch.py``).
    """
    timeout = httpx.Timeout(
        connect=config.connect_timeout,
        read=config.read_timeout,
        write=config.read_timeout,
        pool=config.connect_timeout,
    )
    limits = httpx.Limits(
        max_connections=config.max_connections,
        max_keepalive_connections=config.max_connections,
        keepalive_expiry=30.0,
    )
    return httpx.AsyncClient(
        base_url=config.base_url,
        timeout=timeout,
        limits=limits,
        follow_redirects=False,
        transport=AiohttpTransport(limits=limits, trust_env=False),
    )


class HttpProviderBase:
    """Base of the HTTP providers: owns (or borrows, in tests) one ``httpx.AsyncClient``."""

    name: str

    def __init__(self, config: ProviderConfig, *, client: httpx.AsyncClient | None = None):
        self.config = config
        self._owns_client = client is None
        self._client = client if client is not None else build_client(config)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    @property
    def callback_url(self) -> str | None:
        return self.config.callback_url

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send one request, turning network failures into :class:`TemporaryError`."""
        url = f"{self.config.base_url}{path}"
        try:
            return await self._client.request(method, url, **kwargs)
        except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            if isinstance(exc.__cause__, aiohttp.ClientConnectorError):
                # The aiohttp transport reports a refused connection as a connect timeout.
                raise self._temporary("connection_error", "connexion impossible") from exc
            raise self._temporary("connect_timeout", "délai de connexion dépassé") from exc
        except httpx.TimeoutException as exc:
            raise self._temporary("timeout", "délai de réponse dépassé") from exc
        except httpx.TransportError as exc:
            raise self._temporary("connection_error", "connexion impossible") from exc

    def _temporary(self, code: str, what: str) -> TemporaryError:
        return TemporaryError(f"{self.name} : {what}.", code=code, provider=self.name)

    def _error_for(self, response: httpx.Response, code: str | None = None) -> SmsError | None:
        """The error an HTTP status means, or ``None`` for a 2xx (see the module docstring)."""
        status = response.status_code
        if 200 <= status < 300:
            return None
        code = code or f"http_{status}"
        message = f"{self.name} : HTTP {status} (code {code})."
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            return ThrottledError(message, retry_after=retry_after, code=code, provider=self.name)
        if 400 <= status < 500 and status not in ACCOUNT_LEVEL_STATUSES:
            return PermanentError(message, code=code, provider=self.name)
        if status in ACCOUNT_LEVEL_STATUSES:
            log.error("sms.provider_refuses_account provider=%s status=%s", self.name, status)
        return TemporaryError(message, code=code, provider=self.name)

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        """A 2xx body we cannot read: the message may be accepted, but we hold no id."""
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            log.error("sms.unreadable_response provider=%s", self.name)
            raise self._temporary("bad_response", "réponse illisible")
        return data

    def _accepted(self, data: dict[str, Any], *, id_key: str, segments_key: str) -> SubmitResult:
        """The result of an accepted send, from the provider's id and part count fields."""
        message_id = data.get(id_key)
        if (
            not isinstance(message_id, int | str)
            or isinstance(message_id, bool)
            or message_id == ""
        ):
            raise self._temporary("bad_response", f"réponse sans {id_key}")
        segments = data.get(segments_key)
        return SubmitResult(
            provider=self.name,
            message_ids=(str(message_id),),
            segments=segments if isinstance(segments, int) and segments > 0 else None,
        )


def require_secret(value: SecretStr | str | None, variable: str) -> str:
    """A credential the settings already checked; fail loudly if a caller bypassed them."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if not value:
        raise ValueError(f"{variable} est requis pour ce fournisseur.")
    return value


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds from now (delta-seconds or HTTP date), capped.

    ``None`` when absent or unreadable.
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - clock.utcnow()).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def token_matches(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison of the receipt path token; no expected token means no match."""
    if not expected or given is None:
        return False
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def path_token_accepted(config: ProviderConfig, given: str | None) -> bool:
    """The receipt URL's token is the current one, or the one before a rotation."""
    return token_matches(config.receipt_token, given) or token_matches(
        config.previous_receipt_token, given
    )


def token_ok_if_configured(config: ProviderConfig, given: str | None) -> bool:
    """For signed providers the token is an extra check, enforced only when one is configured."""
    return config.receipt_token is None or path_token_accepted(config, given)


def load_json(body: bytes) -> Any:
    """A receipt's JSON body; refused (``ReceiptError``, a 400) when unreadable or nested
    deeper than ``MAX_JSON_DEPTH`` — the parser would raise ``RecursionError``, a 500."""
    if json_too_deep(body):
        raise ReceiptError(
            f"accusé de réception illisible (JSON imbriqué sur plus de {MAX_JSON_DEPTH} niveaux)"
        )
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ReceiptError("accusé de réception illisible (JSON attendu)") from exc


def parse_aware_instant(value: Any) -> datetime:
    """An ISO 8601 instant *with* its offset, as aware UTC (a naive one is ambiguous: refused)."""
    if not isinstance(value, str):
        raise ReceiptError("date d'événement absente ou illisible")
    try:
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ReceiptError("date d'événement illisible") from exc
    if instant.tzinfo is None:
        raise ReceiptError("date d'événement sans fuseau horaire")
    return instant.astimezone(UTC)


def optional_str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ReceiptError("champ de type inattendu dans l'accusé de réception")
    return str(value)


def body_error_code(response: httpx.Response, key: str) -> str | None:
    """The provider's own error code from a JSON error body (``{key: "..."}``), if any."""
    if response.is_success:
        return None
    try:
        data = response.json()
    except ValueError:
        return None
    code = data.get(key) if isinstance(data, dict) else None
    if isinstance(code, int) and not isinstance(code, bool):
        return str(code)
    return code if isinstance(code, str) and code else None


def inbound_sms(
    provider: str,
    *,
    message_id: str | None,
    sender: str | None,
    text: str,
    received_at: datetime,
    opt_out: bool = False,
) -> InboundSms:
    """A received SMS, refused (``ReceiptError``, a 400) when a field cannot be stored."""
    if not message_id or len(message_id) > MAX_INBOUND_ID:
        raise ReceiptError("SMS reçu sans identifiant valable")
    sender = (sender or "").strip()
    if not sender or len(sender) > MAX_INBOUND_SENDER:
        raise ReceiptError("SMS reçu sans expéditeur valable")
    if len(text) > MAX_INBOUND_TEXT:
        raise ReceiptError("SMS reçu trop long")
    return InboundSms(
        provider=provider,
        provider_message_id=message_id,
        sender=sender,
        text=text,
        received_at=received_at,
        opt_out=opt_out,
    )
