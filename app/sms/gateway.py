"""The SMS gateway: an ordered failover list of providers, each behind a circuit breaker and a
rate limiter, and a record of every attempt.

``SmsGateway.send(message)`` tries the providers in the configured order:

* a provider is **skipped** while its circuit is open, while it asked us to slow down (429,
  for ``Retry-After`` or ``CONVOC_SMS_THROTTLE_DEFAULT_SECONDS``), or when it cannot carry the
  message (too many parts, UCS-2 unsupported);
* before a call, the provider's token bucket spaces messages to its rate limit;
* a **temporary** or **throttled** error moves on to the next provider;
* a **permanent** error is raised at once and never retried elsewhere;
* no attempt starts after the message's ``not_after`` (a rate-limit wait or a failover can
  take time): :class:`~app.sms.base.DeadlinePassed` is raised instead, nothing having gone out;
* when every provider failed or was skipped, the last temporary/throttled error is raised (a
  throttled one carries the smallest wait before a provider is usable again); when none could
  even be tried, :class:`ProvidersUnavailable` (temporary) says how long to wait.

Success returns the provider's :class:`SubmitResult` with ``attempts`` filled; an error raised
by ``send`` carries the same list in ``.attempts``. The receipt URL is each provider's own
(``CONVOC_SMS_PUBLIC_BASE_URL`` + ``/api/v1/sms/receipts/{provider}[/{token}]``, built into
its configuration): callers leave ``OutgoingSms.callback_url`` unset, since only the gateway
knows which provider will carry the message. The gateway never retries a message later: the
dispatcher stores the attempts and plans the retry (``app.reminders.dispatcher.retry_delay``:
exponential back-off with equal jitter, never before a ``Retry-After``) until the message's
``send_not_after``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import httpx

from app.core import clock, metrics
from app.sms.base import (
    Attempt,
    AttemptOutcome,
    DeadlinePassed,
    OutgoingSms,
    PermanentError,
    SmsError,
    SmsProvider,
    SubmitResult,
    TemporaryError,
    ThrottledError,
)
from app.sms.circuit import CircuitBreaker, CircuitState
from app.sms.config import SmsSettings
from app.sms.encoding import SmsInfo, analyze
from app.sms.providers.registry import build_provider
from app.sms.ratelimit import TokenBucket

__all__ = [
    "Attempt",
    "AttemptOutcome",
    "ProvidersUnavailable",
    "SmsGateway",
]

log = logging.getLogger("convoc.sms.gateway")

Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class ProvidersUnavailable(TemporaryError):
    """No provider could be tried (circuits open, throttled): retry after ``retry_after``."""

    def __init__(self, message: str, *, retry_after: float | None):
        super().__init__(message, code="no_provider_available")
        self.retry_after = retry_after


@dataclass
class _Slot:
    provider: SmsProvider
    circuit: CircuitBreaker
    limiter: TokenBucket | None
    throttled_until: float = 0.0


class SmsGateway:
    def __init__(
        self,
        providers: Sequence[SmsProvider],
        *,
        rate_limits: Mapping[str, float | None] | None = None,
        failure_threshold: int = 5,
        cooldown_seconds: float = 60.0,
        throttle_default_seconds: float = 10.0,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ):
        if not providers:
            raise ValueError("at least one provider")
        names = [p.name for p in providers]
        if len(set(names)) != len(names):
            raise ValueError("provider names must be unique")
        rate_limits = rate_limits or {}
        self._monotonic = monotonic
        self._throttle_default = throttle_default_seconds
        self._slots: dict[str, _Slot] = {}
        for provider in providers:
            rate = rate_limits.get(provider.name)
            self._slots[provider.name] = _Slot(
                provider=provider,
                circuit=CircuitBreaker(
                    failure_threshold=failure_threshold,
                    cooldown=cooldown_seconds,
                    monotonic=monotonic,
                ),
                limiter=TokenBucket(rate, monotonic=monotonic, sleep=sleep) if rate else None,
            )
            metrics.init_provider(provider.name)

    @classmethod
    def from_settings(
        cls,
        settings: SmsSettings,
        *,
        clients: Mapping[str, httpx.AsyncClient] | None = None,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> SmsGateway:
        """The gateway ``CONVOC_SMS_*`` describes (``clients`` replaces HTTP clients in tests)."""
        clients = clients or {}
        providers = [
            build_provider(name, settings, client=clients.get(name)) for name in settings.providers
        ]
        for provider in providers:
            if provider.capabilities.receipts and settings.callback_url(provider.name) is None:
                log.warning("sms.receipts_disabled provider=%s reason=no_public_url", provider.name)
        return cls(
            providers,
            rate_limits={
                name: settings.provider_config(name).rate_limit for name in settings.providers
            },
            failure_threshold=settings.circuit_failure_threshold,
            cooldown_seconds=settings.circuit_cooldown_seconds,
            throttle_default_seconds=settings.throttle_default_seconds,
            monotonic=monotonic,
            sleep=sleep,
        )

    @property
    def provider_names(self) -> tuple[str, ...]:
        return tuple(self._slots)

    def provider(self, name: str) -> SmsProvider:
        """The configured provider ``name`` (receipts webhook); ``KeyError`` if not configured."""
        return self._slots[name].provider

    def circuit_state(self, name: str) -> CircuitState:
        return self._slots[name].circuit.state

    async def aclose(self) -> None:
        for slot in self._slots.values():
            await slot.provider.aclose()

    async def send(self, message: OutgoingSms) -> SubmitResult:
        info = analyze(message.body)
        attempts: list[Attempt] = []
        failures: list[TemporaryError | ThrottledError] = []
        waits: list[float] = []  # seconds until a skipped or throttling provider is usable
        for name, slot in self._slots.items():
            try:
                reason, wait = self._unavailable(slot, info)
                if reason is not None:
                    attempts.append(Attempt(name, AttemptOutcome.skipped, reason))
                    self._log(message, attempts[-1])
                    if wait is not None:
                        waits.append(wait)
                    continue
                try:
                    result = await self._attempt(slot, message, attempts)
                except (PermanentError, DeadlinePassed) as exc:
                    exc.attempts = tuple(attempts)
                    raise
                except (TemporaryError, ThrottledError) as exc:
                    if isinstance(exc, ThrottledError):
                        waits.append(slot.throttled_until - self._monotonic())
                    elif slot.circuit.state is CircuitState.open:
                        waits.append(slot.circuit.retry_in())
                    failures.append(exc)
                    continue
                return replace(result, attempts=tuple(attempts))
            finally:  # what this process's breaker says of the provider, after each look at it
                metrics.circuit_state(name, slot.circuit.state)
        raise self._exhausted(attempts, failures, waits)

    def _unavailable(self, slot: _Slot, info: SmsInfo) -> tuple[str | None, float | None]:
        caps = slot.provider.capabilities
        if info.segments > caps.max_parts:
            return "too_many_parts", None
        if info.encoding == "ucs2" and not caps.unicode:
            return "unicode_unsupported", None
        throttle_wait = slot.throttled_until - self._monotonic()
        if throttle_wait > 0:
            return "throttled_recently", throttle_wait
        if not slot.circuit.allow():
            return "circuit_open", slot.circuit.retry_in()
        return None, None

    async def _attempt(
        self, slot: _Slot, message: OutgoingSms, attempts: list[Attempt]
    ) -> SubmitResult:
        """One call to one provider: rate limit, wire call, circuit bookkeeping, attempt record."""
        name = slot.provider.name
        started: float | None = None
        try:
            if slot.limiter is not None:
                metrics.SMS_RATE_LIMIT_WAIT.labels(name).observe(await slot.limiter.acquire())
            if message.not_after is not None and clock.utcnow() > message.not_after:
                raise DeadlinePassed(
                    "Trop tard pour envoyer ce message.", code="deadline_passed", provider=name
                )
            started = self._monotonic()
            result = await slot.provider.send(message)
        except DeadlinePassed:
            slot.circuit.release()  # the provider was not called: tells nothing about it
            raise
        except PermanentError as exc:
            slot.circuit.record_success()  # the provider answered: it works
            self._record(attempts, message, name, AttemptOutcome.permanent, exc.code, started)
            exc.provider = exc.provider or name
            raise
        except ThrottledError as exc:
            slot.circuit.release()
            wait = exc.retry_after if exc.retry_after is not None else self._throttle_default
            slot.throttled_until = self._monotonic() + wait
            self._record(attempts, message, name, AttemptOutcome.throttled, exc.code, started)
            exc.provider = exc.provider or name
            raise
        except TemporaryError as exc:
            self._failed(slot)
            self._record(attempts, message, name, AttemptOutcome.temporary, exc.code, started)
            exc.provider = exc.provider or name
            raise
        except Exception as exc:
            # A provider bug must not lose the message: fail over, and let the circuit see it.
            log.exception("sms.provider_bug provider=%s reference=%s", name, message.reference)
            self._failed(slot)
            self._record(attempts, message, name, AttemptOutcome.temporary, "unexpected", started)
            raise TemporaryError(
                f"{name} : erreur inattendue.", code="unexpected", provider=name
            ) from exc
        except BaseException:
            slot.circuit.release()  # cancelled: a half-open trial must not stay taken forever
            raise
        slot.circuit.record_success()
        self._record(attempts, message, name, AttemptOutcome.accepted, None, started)
        return result

    @staticmethod
    def _failed(slot: _Slot) -> None:
        """A temporary failure, for the circuit; counted when it opens the circuit."""
        was_open = slot.circuit.state is CircuitState.open
        slot.circuit.record_failure()
        if not was_open and slot.circuit.state is CircuitState.open:
            metrics.SMS_CIRCUIT_OPENED.labels(slot.provider.name).inc()

    def _record(
        self,
        attempts: list[Attempt],
        message: OutgoingSms,
        name: str,
        outcome: AttemptOutcome,
        code: str | None,
        started: float | None,
    ) -> None:
        latency = 0 if started is None else round((self._monotonic() - started) * 1000)
        if started is not None:
            metrics.SMS_SEND_DURATION.labels(name).observe(max(0, latency) / 1000)
        attempts.append(Attempt(name, outcome, code, max(0, latency)))
        self._log(message, attempts[-1])

    @staticmethod
    def _log(message: OutgoingSms, attempt: Attempt) -> None:
        metrics.SMS_ATTEMPTS.labels(attempt.provider, attempt.outcome.value).inc()
        level = logging.INFO if attempt.outcome is AttemptOutcome.accepted else logging.WARNING
        log.log(
            level,
            "sms.attempt provider=%s reference=%s outcome=%s code=%s latency_ms=%s",
            attempt.provider,
            message.reference,
            attempt.outcome,
            attempt.error_code,
            attempt.latency_ms,
        )

    def _exhausted(
        self,
        attempts: list[Attempt],
        failures: list[TemporaryError | ThrottledError],
        waits: list[float],
    ) -> SmsError:
        soonest = min((max(0.0, w) for w in waits), default=None)
        error: SmsError
        if failures:
            error = failures[-1]
            if isinstance(error, ThrottledError) and soonest is not None:
                error.retry_after = soonest
        elif all(a.error_code in ("too_many_parts", "unicode_unsupported") for a in attempts):
            error = PermanentError(
                "Aucun fournisseur ne peut transmettre ce message (trop long ou caractères "
                "non pris en charge).",
                code="message_unsupported",
            )
        else:
            error = ProvidersUnavailable(
                "Aucun fournisseur SMS disponible pour le moment.", retry_after=soonest
            )
        error.attempts = tuple(attempts)
        return error
