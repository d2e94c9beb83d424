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
* Delivery reports — this API's public material documents none we could verify, so the
  provider declares ``receipts=False``: a message it accepted stays ``sent``, never shown as
  delivered. ``verify`` refuses everything.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import SecretStr

from app.sms.base import (
    Capabilities,
    OutgoingSms,
    PermanentError,
    Receipt,
    ReceiptRequest,
    SubmitResult,
    TemporaryError,
)
from app.sms.providers.common import HttpProviderBase, require_secret
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


class LinkMobilityProvider(HttpProviderBase):
    name = "linkmobility"
    capabilities = Capabilities(receipts=False, unicode=True, max_parts=MAX_PARTS)

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
        return False  # no documented delivery reports: nothing to accept

    def parse_receipts(self, request: ReceiptRequest) -> list[Receipt]:
        return []


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


PROVIDER = ProviderSpec(LinkMobilityProvider.name, LinkMobilitySettings, build)


def _message_ids(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(
        str(item)
        for item in value
        if isinstance(item, str | int) and not isinstance(item, bool) and item != ""
    )
