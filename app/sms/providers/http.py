"""The ``http`` provider: Convoc's own documented wire format, which the simulator speaks.

Sending — ``POST {base_url}/messages`` with ``Authorization: Bearer <api key>`` and JSON::

    {"to": "+33612345678", "body": "…", "sender": "SPIP92", "reference": "<our id>",
     "callback_url": "https://convoc.example/api/v1/sms/receipts/http/<token>"}

answered by a 2xx and ``{"id": "<provider message id>", "segments": 1}``.

``reference`` is an idempotency key: a provider speaking this format must answer a reference
it accepted in the last 24 hours with a 2xx and the first message's id, adding
``"replayed": true``, without sending the SMS again. The dispatcher sends a message again when
it cannot know the first try went out (an answer lost to a timeout, a worker killed between
the provider's answer and the write of the result): with the key, the person still gets one
SMS. (Brevo, Twilio and LINK Mobility, as integrated here, take no such key: with them those
rare cases can send an SMS twice.)

Errors: 429 is
*throttled* (``Retry-After`` honoured), 5xx, timeouts and connection errors are *temporary*,
other 4xx are *permanent* except the account-level ones listed in ``providers.common``. An
error body, when any, is ``{"error": "<code>", "detail": "<text>"}``; ``error`` becomes the
error's code.

Receipts — the provider POSTs to ``callback_url`` a JSON object (or an array of them)::

    {"id": "<provider message id>", "reference": "<our id>", "status": "delivered",
     "error_code": null, "occurred_at": "2027-01-15T10:00:05+00:00"}

``status`` is one of ``sent``, ``delivered``, ``undelivered``, ``expired``, ``failed`` (or
``rejected``, read as ``failed``); ``occurred_at`` must carry its offset. The request carries
``X-Convoc-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed with the shared webhook
secret>``, checked in constant time; the receipt path token, when configured, is checked too.

Received SMS — the provider POSTs the SMS persons send back to
``{public base}/api/v1/sms/inbound/http[/<token>]``, signed exactly like receipts::

    {"inbound": [{"id": "<provider's id of the received SMS>", "from": "+594694123456",
                  "to": "SPIP92", "text": "…", "received_at": "2027-03-29T07:00:00Z"}]}

``id`` makes a retry idempotent (stored once), ``from`` is E.164, ``received_at`` carries its
offset; ``to`` (the sender id or number the person answered) is optional and not used. One
unreadable item refuses the whole batch (400), as for receipts.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

import httpx
from pydantic import SecretStr

from app.sms.base import (
    Capabilities,
    DeliveryStatus,
    InboundSms,
    OutgoingSms,
    Receipt,
    ReceiptError,
    ReceiptRequest,
    SubmitResult,
)
from app.sms.providers.common import (
    HttpProviderBase,
    body_error_code,
    inbound_sms,
    load_json,
    optional_str,
    parse_aware_instant,
    require_secret,
    token_ok_if_configured,
)
from app.sms.providers.spec import (
    HttpProviderSettings,
    ProviderConfig,
    ProviderSpec,
    missing_secret,
    rate_limit_field,
    variable,
)

SIGNATURE_HEADER = "X-Convoc-Signature"

log = logging.getLogger("convoc.sms.providers")

_STATUSES: dict[str, DeliveryStatus] = {
    "sent": DeliveryStatus.sent,
    "delivered": DeliveryStatus.delivered,
    "undelivered": DeliveryStatus.undelivered,
    "expired": DeliveryStatus.expired,
    "failed": DeliveryStatus.failed,
    "rejected": DeliveryStatus.failed,
}


def sign(secret: str, body: bytes) -> str:
    """The ``X-Convoc-Signature`` value for ``body``: ``sha256=<hex HMAC-SHA256>``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class HttpProvider(HttpProviderBase):
    name = "http"
    capabilities = Capabilities(receipts=True, unicode=True, max_parts=10, inbound=True)

    def __init__(
        self,
        config: ProviderConfig,
        *,
        api_key: str,
        webhook_secret: str,
        client: httpx.AsyncClient | None = None,
    ):
        super().__init__(config, client=client)
        self._api_key = api_key
        self._webhook_secret = webhook_secret

    async def send(self, message: OutgoingSms) -> SubmitResult:
        payload = {
            "to": message.to,
            "body": message.body,
            "sender": message.sender,
            "reference": message.reference,
            "callback_url": message.callback_url or self.callback_url,
        }
        response = await self._request(
            "POST",
            "/messages",
            json=payload,
            headers={"Authorization": f"Bearer {self._api_key}", "Accept": "application/json"},
        )
        error = self._error_for(response, code=body_error_code(response, "error"))
        if error is not None:
            raise error
        data = self._json(response)
        if data.get("replayed") is True:
            log.info("sms.provider_replayed provider=%s reference=%s", self.name, message.reference)
        return self._accepted(data, id_key="id", segments_key="segments")

    def verify(self, request: ReceiptRequest) -> bool:
        if not token_ok_if_configured(self.config, request.path_token):
            return False
        given = request.headers.get(SIGNATURE_HEADER.lower(), "").strip()
        expected = sign(self._webhook_secret, request.body)
        return hmac.compare_digest(expected.encode(), given.lower().encode("utf-8", "replace"))

    def parse_receipts(self, request: ReceiptRequest) -> list[Receipt]:
        data = load_json(request.body)
        items = data if isinstance(data, list) else [data]
        return [_receipt(item) for item in items]

    def parse_inbound(self, request: ReceiptRequest) -> list[InboundSms]:
        data = load_json(request.body)
        items = data.get("inbound") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ReceiptError('SMS reçu : objet {"inbound": [...]} attendu')
        return [_inbound(self.name, item) for item in items]


class HttpSettings(HttpProviderSettings):
    """``CONVOC_SMS_HTTP_*``: the simulator on this machine by default."""

    base_url: str = "http://127.0.0.1:9100"
    api_key: SecretStr | None = None
    webhook_secret: SecretStr | None = None  # shared with the provider, signs its receipts
    rate_limit: float = rate_limit_field(50.0)

    def problems(self, name: str) -> list[str]:
        return [
            *missing_secret(variable(name, "api_key"), self.api_key, name),
            *missing_secret(
                variable(name, "webhook_secret"), self.webhook_secret, name, strong=True
            ),
            *super().problems(name),
        ]


def build(
    settings: HttpSettings, config: ProviderConfig, client: httpx.AsyncClient | None
) -> HttpProvider:
    return HttpProvider(
        config,
        api_key=require_secret(settings.api_key, "CONVOC_SMS_HTTP_API_KEY"),
        webhook_secret=require_secret(settings.webhook_secret, "CONVOC_SMS_HTTP_WEBHOOK_SECRET"),
        client=client,
    )


PROVIDER = ProviderSpec(HttpProvider.name, HttpSettings, build)


def _receipt(item: Any) -> Receipt:
    if not isinstance(item, dict):
        raise ReceiptError("accusé de réception : objet JSON attendu")
    status = _STATUSES.get(str(item.get("status", "")).lower())
    if status is None:
        raise ReceiptError("accusé de réception : statut inconnu")
    message_id = optional_str(item.get("id"))
    reference = optional_str(item.get("reference"))
    if message_id is None and reference is None:
        raise ReceiptError("accusé de réception : ni identifiant ni référence")
    occurred = item.get("occurred_at")
    return Receipt(
        status=status,
        provider_message_id=message_id,
        reference=reference,
        error_code=optional_str(item.get("error_code")),
        occurred_at=parse_aware_instant(occurred) if occurred is not None else None,
    )


def _inbound(provider: str, item: Any) -> InboundSms:
    if not isinstance(item, dict):
        raise ReceiptError("SMS reçu : objet JSON attendu")
    sender, text = item.get("from"), item.get("text")
    if not isinstance(sender, str) or not isinstance(text, str):
        raise ReceiptError("SMS reçu sans expéditeur ou sans texte")
    return inbound_sms(
        provider,
        message_id=optional_str(item.get("id")),
        sender=sender,
        text=text,
        received_at=parse_aware_instant(item.get("received_at")),
    )
