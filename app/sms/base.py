"""The SMS provider protocol: what the dispatcher needs from any provider.

Providers never see the database or FastAPI: they take an ``OutgoingSms`` and return a
``SubmitResult`` or raise one of three error classes, and they read delivery receipts from a
neutral ``ReceiptRequest``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol


@dataclass(frozen=True)
class OutgoingSms:
    to: str  # E.164
    body: str
    sender: str  # alphanumeric sender (≤ 11 characters)
    reference: str  # our own reference, echoed in receipts (the notification's id)
    # Where this message's receipts go. Usually left unset: each provider then uses its own
    # receipt URL from the settings, which is what failover needs (the gateway picks the
    # provider, so the caller cannot know which URL applies).
    callback_url: str | None = None
    # The last instant the message is still useful: the gateway starts no attempt after it.
    not_after: datetime | None = None


class AttemptOutcome(StrEnum):
    """How one try at one provider ended (what the dispatcher stores per attempt)."""

    accepted = "accepted"
    permanent = "permanent"
    temporary = "temporary"
    throttled = "throttled"
    skipped = "skipped"  # not tried: circuit open, throttled recently, or message too long for it


@dataclass(frozen=True)
class Attempt:
    """One try at one provider. ``latency_ms`` is wire time only (0 for a skipped provider)."""

    provider: str
    outcome: AttemptOutcome
    error_code: str | None = None
    latency_ms: int = 0


@dataclass(frozen=True)
class SubmitResult:
    provider: str
    message_ids: tuple[str, ...]
    segments: int | None = None
    # Filled by the gateway: every provider tried (or skipped) for this message, in order.
    attempts: tuple[Attempt, ...] = ()


class SmsError(Exception):
    """Base of the three error classes a provider may raise.

    When raised by the gateway, ``attempts`` lists every provider tried for the message.
    """

    def __init__(self, message: str, *, code: str | None = None, provider: str | None = None):
        super().__init__(message)
        self.code = code
        self.provider = provider
        self.attempts: tuple[Attempt, ...] = ()


class DeadlinePassed(SmsError):
    """The message's ``not_after`` passed before an attempt could start (rate limit, failover):
    nothing was sent, and it is too late to send."""


class PermanentError(SmsError):
    """Invalid or unreachable number, refused content: never retried, not even elsewhere."""


class TemporaryError(SmsError):
    """Timeouts, connection errors, 5xx: retry with back-off, possibly on another provider."""


class ThrottledError(SmsError):
    """429 or quota: slow down, honour Retry-After."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        code: str | None = None,
        provider: str | None = None,
    ):
        super().__init__(message, code=code, provider=provider)
        self.retry_after = retry_after


class DeliveryStatus(StrEnum):
    sent = "sent"  # accepted / en route: no news yet
    delivered = "delivered"
    undelivered = "undelivered"
    expired = "expired"
    failed = "failed"  # rejected by the provider or the network


@dataclass(frozen=True)
class Receipt:
    status: DeliveryStatus
    provider_message_id: str | None = None
    reference: str | None = None
    error_code: str | None = None
    occurred_at: datetime | None = None
    # Another id the same message may be recorded under, tried when ``provider_message_id``
    # matches no part (LINK Mobility reports part ``abc$1`` of a message sent as ``abc``).
    alternate_message_id: str | None = None


class ReceiptError(ValueError):
    """A delivery report that cannot be read (the webhook answers 400 and changes nothing)."""


@dataclass(frozen=True)
class ReceiptRequest:
    """A delivery-report HTTP request, independent of the web framework."""

    method: str
    url: str
    headers: dict[str, str]  # lower-cased names
    query: dict[str, str]
    body: bytes = b""
    path_token: str | None = None


@dataclass(frozen=True)
class InboundSms:
    """An SMS a person sent us, as a provider's inbound webhook told it."""

    provider: str
    provider_message_id: str
    sender: str  # as the provider wrote it (E.164 for those integrated here); personal data
    text: str  # personal data: never logged
    received_at: datetime  # aware UTC
    # The provider itself read the message as an opt-out (Twilio's ``OptOutType=STOP``,
    # Brevo's ``unsubscribe`` event): a STOP whatever the text says.
    opt_out: bool = False


@dataclass(frozen=True)
class Capabilities:
    receipts: bool
    # Forwards the SMS persons send back (``parse_inbound``): replies and STOP.
    inbound: bool = False
    unicode: bool = True
    max_parts: int = 10
    alphanumeric_sender: bool = True


class SmsProvider(Protocol):
    name: str
    capabilities: Capabilities

    async def send(self, message: OutgoingSms) -> SubmitResult: ...

    def verify(self, request: ReceiptRequest) -> bool: ...

    def parse_receipts(self, request: ReceiptRequest) -> list[Receipt]: ...

    async def aclose(self) -> None: ...


class InboundProvider(SmsProvider, Protocol):
    """A provider that also forwards received SMS (``capabilities.inbound``). Its webhook is
    authenticated by the same ``verify`` as its receipts; ``parse_inbound`` raises
    :class:`ReceiptError` for a request it cannot read."""

    def parse_inbound(self, request: ReceiptRequest) -> list[InboundSms]: ...


def inbound_capable(provider: SmsProvider) -> InboundProvider | None:
    """``provider`` as an :class:`InboundProvider`, or ``None`` when it forwards no SMS."""
    if provider.capabilities.inbound and callable(getattr(provider, "parse_inbound", None)):
        return provider  # type: ignore[return-value]
    return None


@dataclass
class SentLog:
    """What the console provider keeps, so developers and tests can read what went out."""

    messages: list[tuple[OutgoingSms, SubmitResult]] = field(default_factory=list)
