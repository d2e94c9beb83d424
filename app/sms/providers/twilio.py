"""Twilio Programmable Messaging.

Implemented from Twilio's public documentation:

* Sending — Message resource, ``POST {base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json``,
  HTTP Basic auth (Account SID, Auth Token), form-encoded ``To`` (E.164), ``From`` (here the
  alphanumeric sender), ``Body``, ``StatusCallback`` and, when configured,
  ``MessagingServiceSid``. A ``201`` answers the message as JSON: ``sid`` is our provider
  message id, ``num_segments`` the parts count (a string). Errors answer
  ``{"code", "message", "more_info", "status"}``; ``code`` becomes the error's code. Twilio
  codes that blame our account rather than the message (21212 invalid From, 21408 region not
  enabled, 21606 From not valid for this destination) are temporary, so the next provider
  takes over; other 4xx are permanent (21211 invalid To, 21614 not a mobile, 21610
  unsubscribed…).
* Status callbacks — form-encoded POST to ``StatusCallback`` with ``MessageSid``,
  ``MessageStatus`` (``queued``, ``accepted``, ``sending``, ``sent``, ``delivered``,
  ``undelivered``, ``failed``, ``read``, ``canceled``…), ``ErrorCode``, ``AccountSid``, ``To``,
  ``From``… (older ``SmsSid``/``SmsStatus`` are read too). No event time is given.
* Signature — "Validating requests" (twilio.com/docs/usage/security): ``X-Twilio-Signature``
  is the base64 HMAC-SHA1, keyed with the Auth Token, of the full URL Twilio called followed by
  every POST parameter sorted by name, each written name then value with no separator. As in
  Twilio's own ``RequestValidator``, the URL is tried with and without its default port. The
  URL Twilio called is the one we gave it: the configured callback URL, or the request URL
  rebased on ``CONVOC_SMS_PUBLIC_BASE_URL`` (a reverse proxy changes scheme and host).
* Incoming messages — "Twilio's request to your incoming message Webhook URL"
  (twilio.com/docs/messaging/guides/webhook-request): a form-encoded POST to the number's (or
  messaging service's) "A message comes in" URL, set to ``/api/v1/sms/inbound/twilio``, with
  ``MessageSid`` (``SmsSid`` its deprecated twin), ``AccountSid``, ``MessagingServiceSid``,
  ``From`` (E.164), ``To``, ``Body``, ``NumMedia``, ``NumSegments``… and, with Advanced Opt-Out,
  ``OptOutType`` (``STOP``, ``START``, ``HELP``). Signed like status callbacks. No time is
  given: the message is dated when it reaches us. Twilio expects TwiML back: the route
  answers an empty ``<Response/>``, so that Twilio sends no reply of its own. A message for
  another account (``AccountSid``) is refused as unreadable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import parse_qsl, urlsplit, urlunsplit

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
    SmsError,
    SubmitResult,
    TemporaryError,
)
from app.sms.providers.common import (
    HttpProviderBase,
    body_error_code,
    inbound_sms,
    require_secret,
    token_ok_if_configured,
)
from app.sms.providers.spec import (
    HttpProviderSettings,
    ProviderConfig,
    ProviderSpec,
    missing_secret,
    variable,
)

SIGNATURE_HEADER = "X-Twilio-Signature"
API_VERSION = "2010-04-01"
# Errors about our account or sender, not about the person's number.
ACCOUNT_LEVEL_CODES = frozenset({"21212", "21408", "21606"})

_STATUSES: dict[str, DeliveryStatus] = {
    "accepted": DeliveryStatus.sent,
    "scheduled": DeliveryStatus.sent,
    "queued": DeliveryStatus.sent,
    "sending": DeliveryStatus.sent,
    "sent": DeliveryStatus.sent,
    "delivered": DeliveryStatus.delivered,
    "read": DeliveryStatus.delivered,
    "undelivered": DeliveryStatus.undelivered,
    "partially_delivered": DeliveryStatus.undelivered,
    "failed": DeliveryStatus.failed,
    "canceled": DeliveryStatus.failed,
}


def compute_signature(auth_token: str, url: str, params: list[tuple[str, str]]) -> str:
    """Twilio's request signature of ``url`` and the POST ``params``."""
    data = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class TwilioProvider(HttpProviderBase):
    name = "twilio"
    capabilities = Capabilities(receipts=True, unicode=True, max_parts=10, inbound=True)

    def __init__(
        self,
        config: ProviderConfig,
        *,
        account_sid: str,
        auth_token: str,
        messaging_service_sid: str | None = None,
        client: httpx.AsyncClient | None = None,
    ):
        super().__init__(config, client=client)
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._messaging_service_sid = messaging_service_sid

    async def send(self, message: OutgoingSms) -> SubmitResult:
        form = {"To": message.to, "From": message.sender, "Body": message.body}
        if self._messaging_service_sid:
            form["MessagingServiceSid"] = self._messaging_service_sid
        callback = message.callback_url or self.callback_url
        if callback:
            form["StatusCallback"] = callback
        response = await self._request(
            "POST",
            f"/{API_VERSION}/Accounts/{self._account_sid}/Messages.json",
            data=form,
            auth=(self._account_sid, self._auth_token),
            headers={"Accept": "application/json"},
        )
        error = self._classify(response)
        if error is not None:
            raise error
        data = self._json(response)
        sid = data.get("sid")
        if not isinstance(sid, str) or not sid:
            raise self._temporary("bad_response", "réponse sans sid")
        segments = str(data.get("num_segments") or "")
        return SubmitResult(
            provider=self.name,
            message_ids=(sid,),
            segments=int(segments) if segments.isdigit() and int(segments) > 0 else None,
        )

    def _classify(self, response: httpx.Response) -> SmsError | None:
        code = body_error_code(response, "code")
        error = self._error_for(response, code=code)
        if error is not None and code in ACCOUNT_LEVEL_CODES:
            return TemporaryError(str(error), code=code, provider=self.name)
        return error

    def verify(self, request: ReceiptRequest) -> bool:
        if not token_ok_if_configured(self.config, request.path_token):
            return False
        given = request.headers.get(SIGNATURE_HEADER.lower(), "").strip()
        if not given:
            return False
        try:
            params = _form(request.body) if request.method.upper() == "POST" else []
        except ReceiptError:
            return False
        given_bytes = given.encode("utf-8", "replace")
        matched = False
        for url in self._candidate_urls(request):
            expected = compute_signature(self._auth_token, url, params).encode()
            # Evaluate every candidate: no early exit that would time which URL matched.
            matched |= hmac.compare_digest(expected, given_bytes)
        return matched

    def _candidate_urls(self, request: ReceiptRequest) -> list[str]:
        urls = [request.url]
        if self.config.public_base_url:
            public = urlsplit(self.config.public_base_url)
            seen = urlsplit(request.url)
            urls.append(urlunsplit((public.scheme, public.netloc, seen.path, seen.query, "")))
        if self.callback_url:
            urls.append(self.callback_url)
        variants: list[str] = []
        for url in urls:
            for variant in (url, _without_port(url), _with_default_port(url)):
                if variant not in variants:
                    variants.append(variant)
        return variants

    def parse_receipts(self, request: ReceiptRequest) -> list[Receipt]:
        params = dict(_form(request.body)) if request.body else dict(request.query)
        sid = params.get("MessageSid") or params.get("SmsSid")
        raw_status = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
        if not sid or not raw_status:
            raise ReceiptError("rappel Twilio sans MessageSid ou MessageStatus")
        status = _STATUSES.get(raw_status)
        if status is None:
            return []  # inbound ("received") or unknown: not about a message we sent
        return [
            Receipt(
                status=status,
                provider_message_id=sid,
                error_code=params.get("ErrorCode") or None,
            )
        ]

    def parse_inbound(self, request: ReceiptRequest) -> list[InboundSms]:
        params = dict(_form(request.body)) if request.body else dict(request.query)
        if "Body" not in params or not params.get("From"):
            raise ReceiptError("message Twilio sans From ou Body")
        account = params.get("AccountSid")
        if account is not None and account != self._account_sid:
            raise ReceiptError("message Twilio d'un autre compte")
        return [
            inbound_sms(
                self.name,
                message_id=params.get("MessageSid") or params.get("SmsSid"),
                sender=params["From"],
                text=params["Body"],
                received_at=clock.utcnow(),
                opt_out=params.get("OptOutType", "").upper() == "STOP",
            )
        ]


class TwilioSettings(HttpProviderSettings):
    """``CONVOC_SMS_TWILIO_*`` (a messaging service is optional)."""

    base_url: str = "https://api.twilio.com"
    account_sid: str | None = None
    auth_token: SecretStr | None = None
    messaging_service_sid: str | None = None

    def problems(self, name: str) -> list[str]:
        problems: list[str] = []
        if not (self.account_sid or "").startswith("AC"):
            problems.append(
                f"{variable(name, 'account_sid')} est requis quand « {name} » est listé "
                "(identifiant de compte commençant par « AC »)."
            )
        problems += missing_secret(variable(name, "auth_token"), self.auth_token, name)
        return problems + super().problems(name)


def build(
    settings: TwilioSettings, config: ProviderConfig, client: httpx.AsyncClient | None
) -> TwilioProvider:
    return TwilioProvider(
        config,
        account_sid=require_secret(settings.account_sid, "CONVOC_SMS_TWILIO_ACCOUNT_SID"),
        auth_token=require_secret(settings.auth_token, "CONVOC_SMS_TWILIO_AUTH_TOKEN"),
        messaging_service_sid=settings.messaging_service_sid,
        client=client,
    )


PROVIDER = ProviderSpec(TwilioProvider.name, TwilioSettings, build)


def _form(body: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ReceiptError("rappel Twilio illisible") from exc


def _without_port(url: str) -> str:
    parts = urlsplit(url)
    if parts.port is None or parts.hostname is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit(":", 1)[0]))


def _with_default_port(url: str) -> str:
    parts = urlsplit(url)
    if parts.port is not None or not parts.netloc:
        return url
    port = 443 if parts.scheme == "https" else 80
    return urlunsplit(parts._replace(netloc=f"{parts.netloc}:{port}"))
