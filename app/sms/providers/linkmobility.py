"""LINK Mobility (formerly Netsize / IPX), the provider Mon Suivi Justice uses.

Implemented from the "Netsize Implementation Guide, REST API - SMS" as used in public code
(Mon Suivi Justice's ``LinkMobilityAdapter``, RDV-Solidarités' ``SmsSender``):

* Sending — ``POST {base_url}/restapi/v1/sms/send`` (default base ``https://europe.ipx.com``),
  HTTP Basic auth, form-encoded ``destinationAddress`` (E.164), ``messageText``,
  ``originatingAddress`` (the sender) with ``originatorTON=1`` (alphanumeric) and
  ``maxConcatenatedMessages=10``.
* Response — HTTP 200 with JSON ``responseCode`` (0 on success), ``responseMessage``,
  ``messageIds`` (one id per part of a split message), ``timestamp``, ``traceId``. A
  non-zero ``responseCode`` is the error's code: ``16`` ("could not route message"), ``100``
  ("invalid destination address") and ``15`` ("message concatenation limit exceeded") are
  **permanent** (they are about this message or this number); ``18`` ("too low balance"),
  ``103`` (invalid account name) and ``117`` (invalid campaign name) blame our account and,
  like any other code, are **temporary**, so the next provider takes over. HTTP errors,
  timeouts and connection errors are classified as for every provider.
* Delivery reports — from « LINK Mobility SMS REST API, MT and Delivery Reports », version 2.4
  (23 June 2025; https://www.linkmobility.com/developer/, chapter « Delivery Reports », and its
  « Result Codes SMS » table): LINK Mobility's platform ("Common") POSTs one JSON object per
  report to the URL given to its support (``/api/v1/sms/receipts/linkmobility/{token}``), with
  ``refId`` (ours if we set one, else null), ``id`` (its message id; ``{id}$n`` for the n-th
  part of a multipart message, counted from 0), ``operator``, ``sentTimestamp`` and
  ``timestamp`` (UTC, RFC 3339), ``resultCode`` (the status), ``operatorResultCode``,
  ``segments``…, and wants HTTP 200 back. It signs nothing: like Brevo, the secret token in
  the URL is the proof (``unsigned_receipts``), compared in constant time.

  A part id ``abc$1`` is first looked up as such (the send answered one id per part), then as
  ``abc`` when the send answered only that (``Receipt.alternate_message_id``): either way the
  message's status is folded from its recorded parts. A report that arrives before the send
  is recorded waits under its own id only (``PendingReceipt``), so a part-suffixed one that
  beat a single-id send stays pending until the retention drops it: rare, and then the
  message simply stays ``sent``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from pydantic import SecretStr

from app.sms.base import (
    Capabilities,
    DeliveryStatus,
    OutgoingSms,
    PermanentError,
    Receipt,
    ReceiptError,
    ReceiptRequest,
    SubmitResult,
    TemporaryError,
)
from app.sms.providers.common import (
    HttpProviderBase,
    load_json,
    optional_str,
    parse_aware_instant,
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

SEND_PATH = "/restapi/v1/sms/send"
MAX_PARTS = 10
PERMANENT_CODES = frozenset({15, 16, 100})

# Delivery reports' ``resultCode`` (v2.4, « Result Codes SMS »). TEMP states are no news yet
# (sent, queued, billing delayed); anything else not listed here is a failure of the message.
DELIVERED_CODES = frozenset({1001, 1007})
PENDING_CODES = frozenset({1000, 1005, 1008, 1011, 1012, 1013})
EXPIRED_CODES = frozenset({1002, 1010})  # validity ran out (phone off), or no operator report
UNDELIVERED_CODES = frozenset({1003, 1004, 1006, 1009})  # deleted, mobile full, not delivered


class LinkMobilityProvider(HttpProviderBase):
    name = "linkmobility"
    capabilities = Capabilities(receipts=True, unicode=True, max_parts=MAX_PARTS)

    def __init__(
        self,
        config: ProviderConfig,
        *,
        username: str,
        password: str,
        client: httpx.AsyncClient | None = None,
    ):
        super().__init__(config, client=client)
        self._auth = (username, password)

    async def send(self, message: OutgoingSms) -> SubmitResult:
        form = {
            "destinationAddress": message.to,
            "messageText": message.body,
            "originatingAddress": message.sender,
            "originatorTON": "1",
            "maxConcatenatedMessages": str(MAX_PARTS),
        }
        response = await self._request(
            "POST",
            SEND_PATH,
            data=form,
            auth=self._auth,
            headers={"Accept": "application/json"},
        )
        error = self._error_for(response)
        if error is not None:
            raise error
        data = self._json(response)
        code = data.get("responseCode")
        if not isinstance(code, int) or isinstance(code, bool):
            raise self._temporary("bad_response", "réponse sans responseCode")
        if code != 0:
            raise self._refusal(code)
        ids = _message_ids(data.get("messageIds"))
        if not ids:
            raise self._temporary("bad_response", "réponse sans messageIds")
        return SubmitResult(provider=self.name, message_ids=ids, segments=len(ids))

    def _refusal(self, code: int) -> PermanentError | TemporaryError:
        message = f"{self.name} : refus (responseCode {code})."
        if code in PERMANENT_CODES:
            return PermanentError(message, code=str(code), provider=self.name)
        return TemporaryError(message, code=str(code), provider=self.name)

    def verify(self, request: ReceiptRequest) -> bool:
        return path_token_accepted(self.config, request.path_token)

    def parse_receipts(self, request: ReceiptRequest) -> list[Receipt]:
        data = load_json(request.body)
        # The document shows one report per request; a list is read the same way.
        items = data if isinstance(data, list) else [data]
        return [_receipt(item) for item in items]


class LinkMobilitySettings(HttpProviderSettings):
    """``CONVOC_SMS_LINKMOBILITY_*``."""

    base_url: str = "https://europe.ipx.com"
    username: str | None = None
    password: SecretStr | None = None

    def problems(self, name: str) -> list[str]:
        problems: list[str] = []
        if not self.username:
            problems.append(f"{variable(name, 'username')} est requis quand « {name} » est listé.")
        problems += missing_secret(variable(name, "password"), self.password, name)
        return problems + super().problems(name)


def build(
    settings: LinkMobilitySettings, config: ProviderConfig, client: httpx.AsyncClient | None
) -> LinkMobilityProvider:
    return LinkMobilityProvider(
        config,
        username=require_secret(settings.username, "CONVOC_SMS_LINKMOBILITY_USERNAME"),
        password=require_secret(settings.password, "CONVOC_SMS_LINKMOBILITY_PASSWORD"),
        client=client,
    )


# LINK Mobility signs nothing: the receipt URL's secret token is its reports' only proof.
PROVIDER = ProviderSpec(
    LinkMobilityProvider.name, LinkMobilitySettings, build, unsigned_receipts=True
)


def delivery_status(code: int) -> DeliveryStatus:
    """What a report's ``resultCode`` says of the message."""
    if code in DELIVERED_CODES:
        return DeliveryStatus.delivered
    if code in PENDING_CODES:
        return DeliveryStatus.sent
    if code in EXPIRED_CODES:
        return DeliveryStatus.expired
    if code in UNDELIVERED_CODES:
        return DeliveryStatus.undelivered
    return DeliveryStatus.failed  # 0–6, 104, 105, 2000… : routing, operator, invalid source…


def message_id_of(report_id: str) -> str:
    """``abc123$0`` → ``abc123``: the part suffix the document adds to multipart messages."""
    base, separator, part = report_id.rpartition("$")
    return base if separator and base and part.isdigit() else report_id


def _receipt(item: Any) -> Receipt:
    if not isinstance(item, dict):
        raise ReceiptError("rapport LINK Mobility : objet JSON attendu")
    report_id = optional_str(item.get("id"))
    if report_id is None:
        raise ReceiptError("rapport LINK Mobility sans id")
    code = item.get("resultCode")
    if isinstance(code, str) and code.strip().isdigit():
        code = int(code)
    if not isinstance(code, int) or isinstance(code, bool):
        raise ReceiptError("rapport LINK Mobility sans resultCode")
    status = delivery_status(code)
    occurred_at: datetime | None = None
    if item.get("timestamp") is not None:
        occurred_at = parse_aware_instant(item["timestamp"])
    return Receipt(
        status=status,
        provider_message_id=report_id,
        reference=optional_str(item.get("refId")),
        error_code=None if status in (DeliveryStatus.delivered, DeliveryStatus.sent) else str(code),
        occurred_at=occurred_at,
        alternate_message_id=message_id_of(report_id) if "$" in report_id else None,
    )


def _message_ids(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(
        str(item)
        for item in value
        if isinstance(item, str | int) and not isinstance(item, bool) and item != ""
    )
