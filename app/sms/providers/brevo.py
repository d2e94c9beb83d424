"""Brevo transactional SMS.

Implemented from Brevo's public documentation:

* Sending — ``POST {base_url}/v3/transactionalSMS/send`` ("Send transactional SMS",
  developers.brevo.com/docs/transactional-sms-endpoints; model ``SendTransacSms`` of the
  official API v3 clients), header ``api-key``, JSON body ``sender`` (≤ 11 alphanumeric
  characters), ``recipient`` (number with its country code, digits only as in the documented
  example ``33689965433``), ``content``, ``type`` (``transactional``), ``tag``, ``webUrl`` (the
  webhook called for each event of this message) and ``unicodeEnabled``, set here when the
  text needs UCS-2. A ``201`` answers ``{"messageId", "reference", "smsCount", "usedCredits",
  "remainingCredits"}``; ``messageId`` is our provider message id. Errors answer
  ``{"code", "message"}`` (``400`` bad request, ``402`` not enough credits — account-level,
  hence temporary here, so the next provider takes over).
* Delivery events — posted as JSON to ``webUrl`` ("Transactional webhooks", Transactional SMS
  section): ``id`` (the webhook's id), ``to``, ``sms_count``, ``credits_used``,
  ``messageId``, ``remaining_credit``, ``msg_status`` (``sent``, ``delivered``,
  ``soft_bounce``, ``hard_bounce``), ``date``, ``type``, ``reference``. The documentation
  states that ``date`` is in **CET/CEST** (Paris time) while ``ts_event``/``ts_epoch`` are UTC:
  an epoch is preferred when present, otherwise ``date`` is read in ``Europe/Paris`` and
  converted to UTC (in the repeated hour of the autumn change, the first occurrence is
  taken). The camel-case event names of Brevo's SMS event report (``softBounce``,
  ``hardBounce``, ``accepted``, ``rejected``, ``skip``) are understood too; replies and
  (un)subscriptions are not delivery events and are ignored.

* Replies — what Brevo documents, and what it does not. The SMS event report
  (``GET /v3/transactionalSMS/statistics/events``, schema ``SmsEventReport``) lists the events
  ``replied``, ``subscribe`` and ``unsubscribe`` beside the delivery ones, and a webhook can be
  created for the ``sms`` channel (``POST /v3/webhooks``, developers.brevo.com/reference/
  create-webhook). The "Transactional webhooks" page documents the SMS payload fields listed
  above (``to`` being the person's number, digits with the country code) but **no field for
  the text of a reply**, and no example of a ``replied`` event. So ``parse_inbound``, serving
  ``/api/v1/sms/inbound/brevo/<token>``, reads: ``msg_status`` (or ``event``) ``replied`` /
  ``reply`` as a reply, its text from the first of ``reply``, ``text``, ``content``,
  ``message`` that is present (none documented: an empty text when none is, shown to the
  referent as « texte non transmis »); ``unsubscribe`` / ``unsubscribed`` as a STOP (the
  provider's own opt-out). The sender is ``from`` if present, else ``to``. The message id is
  built from ``messageId`` (our SMS, which the person answered) and the event's epoch
  (``ts_event``, ``ts_epoch``) or ``date``, so that a retried webhook is stored once; every
  other event is ignored here (delivery events are the receipts route's).

Brevo does not sign these callbacks: their authenticity rests on the secret token in the
callback URL path (``CONVOC_SMS_RECEIPT_TOKEN``), compared in constant time.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from pydantic import SecretStr

from app.core import clock
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
from app.sms.encoding import analyze
from app.sms.providers.common import (
    HttpProviderBase,
    body_error_code,
    inbound_sms,
    load_json,
    optional_str,
    path_token_accepted,
    require_secret,
)
from app.sms.providers.spec import (
    HttpProviderSettings,
    ProviderConfig,
    ProviderSpec,
    missing_secret,
    variable,
)

log = logging.getLogger("convoc.sms.brevo")

PARIS = ZoneInfo("Europe/Paris")
SEND_PATH = "/v3/transactionalSMS/send"
TAG = "convoc"

_STATUSES: dict[str, DeliveryStatus] = {
    "sent": DeliveryStatus.sent,
    "accepted": DeliveryStatus.sent,
    "delivered": DeliveryStatus.delivered,
    "soft_bounce": DeliveryStatus.undelivered,
    "softbounce": DeliveryStatus.undelivered,
    "hard_bounce": DeliveryStatus.failed,
    "hardbounce": DeliveryStatus.failed,
    "rejected": DeliveryStatus.failed,
    "skip": DeliveryStatus.failed,
    "blocked": DeliveryStatus.failed,
}
_FAILURES = frozenset({DeliveryStatus.undelivered, DeliveryStatus.failed, DeliveryStatus.expired})
_REPLY_EVENTS = frozenset({"replied", "reply"})
_OPT_OUT_EVENTS = frozenset({"unsubscribe", "unsubscribed"})
_NOT_DELIVERY_EVENTS = _REPLY_EVENTS | _OPT_OUT_EVENTS | {"subscribe"}
# Undocumented: where a reply's text might be (see the module docstring).
_REPLY_TEXT_KEYS = ("reply", "text", "content", "message")


class BrevoProvider(HttpProviderBase):
    name = "brevo"
    capabilities = Capabilities(receipts=True, unicode=True, max_parts=10, inbound=True)

    def __init__(
        self, config: ProviderConfig, *, api_key: str, client: httpx.AsyncClient | None = None
    ):
        super().__init__(config, client=client)
        self._api_key = api_key

    async def send(self, message: OutgoingSms) -> SubmitResult:
        payload: dict[str, Any] = {
            "sender": message.sender,
            "recipient": message.to.removeprefix("+"),
            "content": message.body,
            "type": "transactional",
            "tag": TAG,
            "unicodeEnabled": analyze(message.body).encoding == "ucs2",
        }
        callback = message.callback_url or self.callback_url
        if callback:
            payload["webUrl"] = callback
        response = await self._request(
            "POST",
            SEND_PATH,
            json=payload,
            headers={"api-key": self._api_key, "Accept": "application/json"},
        )
        error = self._error_for(response, code=body_error_code(response, "code"))
        if error is not None:
            raise error
        return self._accepted(self._json(response), id_key="messageId", segments_key="smsCount")

    def verify(self, request: ReceiptRequest) -> bool:
        return path_token_accepted(self.config, request.path_token)

    def parse_receipts(self, request: ReceiptRequest) -> list[Receipt]:
        data = load_json(request.body)
        items = data if isinstance(data, list) else [data]
        receipts: list[Receipt] = []
        for item in items:
            receipt = _receipt(item)
            if receipt is not None:
                receipts.append(receipt)
        return receipts

    def parse_inbound(self, request: ReceiptRequest) -> list[InboundSms]:
        data = load_json(request.body)
        items = data if isinstance(data, list) else [data]
        messages: list[InboundSms] = []
        for item in items:
            message = self._inbound(item)
            if message is not None:
                messages.append(message)
        return messages

    def _inbound(self, item: Any) -> InboundSms | None:
        if not isinstance(item, dict):
            raise ReceiptError("événement Brevo : objet JSON attendu")
        raw = item.get("msg_status") or item.get("event")
        key = raw.strip().lower() if isinstance(raw, str) else ""
        if key not in _REPLY_EVENTS and key not in _OPT_OUT_EVENTS:
            return None
        message_id = optional_str(item.get("messageId"))
        if message_id is None:
            raise ReceiptError("événement Brevo sans messageId")
        received_at = _occurred_at(item)
        instant = received_at or clock.utcnow()
        sender = optional_str(item.get("from")) or optional_str(item.get("to"))
        if sender is not None and sender.isdigit():
            sender = f"+{sender}"  # Brevo writes numbers as digits with their country code
        text = next((item[k] for k in _REPLY_TEXT_KEYS if isinstance(item.get(k), str)), "")
        return inbound_sms(
            self.name,
            message_id=f"{message_id}:{key}:{int(instant.timestamp())}",
            sender=sender,
            text=text if key in _REPLY_EVENTS else "",
            received_at=instant,
            opt_out=key in _OPT_OUT_EVENTS,
        )


class BrevoSettings(HttpProviderSettings):
    """``CONVOC_SMS_BREVO_*``."""

    base_url: str = "https://api.brevo.com"
    api_key: SecretStr | None = None

    def problems(self, name: str) -> list[str]:
        return [
            *missing_secret(variable(name, "api_key"), self.api_key, name),
            *super().problems(name),
        ]


def build(
    settings: BrevoSettings, config: ProviderConfig, client: httpx.AsyncClient | None
) -> BrevoProvider:
    api_key = require_secret(settings.api_key, "CONVOC_SMS_BREVO_API_KEY")
    return BrevoProvider(config, api_key=api_key, client=client)


# Brevo signs nothing: the receipt URL's secret token is its callbacks' only proof.
PROVIDER = ProviderSpec(BrevoProvider.name, BrevoSettings, build, unsigned_receipts=True)


def _receipt(item: Any) -> Receipt | None:
    if not isinstance(item, dict):
        raise ReceiptError("événement Brevo : objet JSON attendu")
    raw_status = item.get("msg_status", item.get("event"))
    if not isinstance(raw_status, str) or not raw_status:
        raise ReceiptError("événement Brevo sans msg_status")
    key = raw_status.strip().lower()
    if key in _NOT_DELIVERY_EVENTS:
        return None
    status = _STATUSES.get(key)
    if status is None:
        log.warning("sms.brevo_unknown_event status=%s", key[:40])
        return None
    message_id = optional_str(item.get("messageId"))
    if message_id is None:
        raise ReceiptError("événement Brevo sans messageId")
    return Receipt(
        status=status,
        provider_message_id=message_id,
        reference=None,  # Brevo's "reference" is its own, not ours
        error_code=optional_str(item.get("reason")) or (key if status in _FAILURES else None),
        occurred_at=_occurred_at(item),
    )


def _occurred_at(item: dict[str, Any]) -> datetime | None:
    for key in ("ts_event", "ts_epoch", "ts"):
        epoch = item.get(key)
        if isinstance(epoch, int | float) and not isinstance(epoch, bool) and epoch > 0:
            # ts_epoch is documented in milliseconds, ts_event and ts in seconds.
            seconds = epoch / 1000 if epoch > 10**11 else epoch
            return datetime.fromtimestamp(seconds, tz=UTC)
    date = item.get("date")
    if date is None:
        return None
    return paris_to_utc(date)


def paris_to_utc(value: Any) -> datetime:
    """A Brevo ``date`` (Paris wall time, ``YYYY-MM-DD HH:MM:SS``) as an aware UTC instant."""
    if not isinstance(value, str):
        raise ReceiptError("date Brevo illisible")
    try:
        local = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise ReceiptError("date Brevo illisible") from exc
    if local.tzinfo is None:
        local = local.replace(tzinfo=PARIS)  # fold=0: first occurrence of a repeated hour
    return local.astimezone(UTC)
