"""The development provider: logs a masked number, keeps the message in memory, sends nothing.

Receipts are simulated, not called back: each message sent adds a ``delivered`` receipt to
``simulated_receipts``, which development tooling (or a test) can feed to the receipt
handling as if it had come over HTTP. ``capabilities.receipts`` stays ``False`` because no
callback ever arrives on its own.
"""

from __future__ import annotations

import logging
import uuid

import httpx

from app.core import clock
from app.persons.phones import mask_phone
from app.sms.base import (
    Capabilities,
    DeliveryStatus,
    OutgoingSms,
    Receipt,
    ReceiptRequest,
    SentLog,
    SubmitResult,
)
from app.sms.encoding import analyze
from app.sms.providers.spec import ProviderConfig, ProviderSettings, ProviderSpec

log = logging.getLogger("convoc.sms.console")


class ConsoleProvider:
    name = "console"
    capabilities = Capabilities(receipts=False)

    def __init__(self) -> None:
        self.sent = SentLog()
        self.simulated_receipts: list[Receipt] = []

    async def send(self, message: OutgoingSms) -> SubmitResult:
        info = analyze(message.body)
        result = SubmitResult(
            provider=self.name,
            message_ids=(f"console-{uuid.uuid4().hex[:16]}",),
            segments=info.segments,
        )
        self.sent.messages.append((message, result))
        self.simulated_receipts.append(
            Receipt(
                status=DeliveryStatus.delivered,
                provider_message_id=result.message_ids[0],
                reference=message.reference,
                occurred_at=clock.utcnow(),
            )
        )
        # The body is personal data: developers read it in the convocation's timeline, not here.
        log.info(
            "sms.console_sent reference=%s to=%s segments=%s encoding=%s",
            message.reference,
            mask_phone(message.to),
            info.segments,
            info.encoding,
        )
        return result

    def verify(self, request: ReceiptRequest) -> bool:
        return False  # the console provider never calls back

    def parse_receipts(self, request: ReceiptRequest) -> list[Receipt]:
        return []

    async def aclose(self) -> None:
        return None


class ConsoleSettings(ProviderSettings):
    """The console provider has no settings."""


def build(
    settings: ConsoleSettings, config: ProviderConfig, client: httpx.AsyncClient | None
) -> ConsoleProvider:
    return ConsoleProvider()


PROVIDER = ProviderSpec(ConsoleProvider.name, ConsoleSettings, build, sends_nothing=True)
