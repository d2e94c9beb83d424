"""Twilio Messages API and status callbacks, with X-Twilio-Signature checked as documented."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
import respx

from app.sms.base import (
    DeliveryStatus,
    PermanentError,
    ReceiptError,
    ReceiptRequest,
    TemporaryError,
    ThrottledError,
)
from app.sms.providers.twilio import TwilioProvider, compute_signature
from tests.sms.support import RECEIPT_TOKEN, outgoing, provider_config

BASE = "https://api.twilio.com"
SID = "AC" + "0" * 32
TOKEN = "twilio-auth-token"
SEND_URL = f"{BASE}/2010-04-01/Accounts/{SID}/Messages.json"
CALLBACK = f"https://convoc.example/api/v1/sms/receipts/twilio/{RECEIPT_TOKEN}"


@pytest.fixture
async def provider() -> AsyncIterator[TwilioProvider]:
    provider = TwilioProvider(provider_config("twilio", BASE), account_sid=SID, auth_token=TOKEN)
    yield provider
    await provider.aclose()


def _created() -> httpx.Response:
    return httpx.Response(
        201,
        json={"sid": "SM" + "1" * 32, "status": "queued", "num_segments": "1", "error_code": None},
    )


async def test_send_builds_the_documented_request(provider: TwilioProvider) -> None:
    with respx.mock(using="httpx", assert_all_called=True) as router:
        route = router.post(SEND_URL).mock(return_value=_created())
        result = await provider.send(outgoing())

    request = route.calls.last.request
    expected_auth = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected_auth}"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert dict(parse_qsl(request.content.decode())) == {
        "To": "+33612345678",
        "From": "SPIP92",
        "Body": "Rappel : convocation au SPIP lundi 18 janvier 2027 à 14h30.",
        "StatusCallback": CALLBACK,
    }
    assert result.message_ids == ("SM" + "1" * 32,)
    assert result.segments == 1


async def test_messaging_service_sid_is_sent_when_configured() -> None:
    provider = TwilioProvider(
        provider_config("twilio", BASE),
        account_sid=SID,
        auth_token=TOKEN,
        messaging_service_sid="MG" + "2" * 32,
    )
    with respx.mock(using="httpx") as router:
        route = router.post(SEND_URL).mock(return_value=_created())
        await provider.send(outgoing())
    await provider.aclose()
    form = dict(parse_qsl(route.calls.last.request.content.decode()))
    assert form["MessagingServiceSid"] == "MG" + "2" * 32


def _error(status: int, code: int) -> httpx.Response:
    return httpx.Response(
        status,
        json={
            "code": code,
            "message": "…",
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
        },
    )


async def test_invalid_to_number_is_permanent(provider: TwilioProvider) -> None:
    with respx.mock(using="httpx") as router:
        router.post(SEND_URL).mock(return_value=_error(400, 21211))
        with pytest.raises(PermanentError) as caught:
            await provider.send(outgoing())
    assert caught.value.code == "21211"


@pytest.mark.parametrize(("status", "code"), [(400, 21408), (400, 21606), (401, 20003)])
async def test_account_level_errors_are_temporary(
    provider: TwilioProvider, status: int, code: int
) -> None:
    with respx.mock(using="httpx") as router:
        router.post(SEND_URL).mock(return_value=_error(status, code))
        with pytest.raises(TemporaryError) as caught:
            await provider.send(outgoing())
    assert caught.value.code == str(code)


async def test_429_is_throttled(provider: TwilioProvider) -> None:
    with respx.mock(using="httpx") as router:
        response = _error(429, 20429)
        response.headers["Retry-After"] = "2"
        router.post(SEND_URL).mock(return_value=response)
        with pytest.raises(ThrottledError) as caught:
            await provider.send(outgoing())
    assert (caught.value.code, caught.value.retry_after) == ("20429", 2.0)


@pytest.mark.parametrize(
    "outcome", [httpx.Response(500), httpx.ReadTimeout("slow"), httpx.ConnectError("down")]
)
async def test_5xx_timeouts_and_connection_errors_are_temporary(
    provider: TwilioProvider, outcome: httpx.Response | Exception
) -> None:
    with respx.mock(using="httpx") as router:
        route = router.post(SEND_URL)
        if isinstance(outcome, httpx.Response):
            route.mock(return_value=outcome)
        else:
            route.mock(side_effect=outcome)
        with pytest.raises(TemporaryError):
            await provider.send(outgoing())


# -- signatures --------------------------------------------------------------------------------


def test_signature_matches_twilios_published_test_vector() -> None:
    # Test vector of twilio-python's RequestValidator tests.
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
        "Caller": "+14158675309",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert compute_signature("12345", url, list(params.items())) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


CALLBACK_PARAMS = [
    ("AccountSid", SID),
    ("ApiVersion", "2010-04-01"),
    ("ErrorCode", "30003"),
    ("From", "SPIP92"),
    ("MessageSid", "SM" + "1" * 32),
    ("MessageStatus", "undelivered"),
    ("SmsSid", "SM" + "1" * 32),
    ("SmsStatus", "undelivered"),
    ("To", "+33612345678"),
]


def _callback(
    signature: str | None, *, url: str = CALLBACK, token: str | None = RECEIPT_TOKEN
) -> ReceiptRequest:
    headers = {"content-type": "application/x-www-form-urlencoded"}
    if signature is not None:
        headers["x-twilio-signature"] = signature
    return ReceiptRequest(
        method="POST",
        url=url,
        headers=headers,
        query={},
        body=urlencode(CALLBACK_PARAMS).encode(),
        path_token=token,
    )


def test_signed_callback_is_accepted_and_parsed(provider: TwilioProvider) -> None:
    request = _callback(compute_signature(TOKEN, CALLBACK, CALLBACK_PARAMS))
    assert provider.verify(request)
    [receipt] = provider.parse_receipts(request)
    assert receipt.status is DeliveryStatus.undelivered
    assert receipt.provider_message_id == "SM" + "1" * 32
    assert receipt.error_code == "30003"


def test_callback_seen_behind_a_proxy_is_checked_against_the_public_url(
    provider: TwilioProvider,
) -> None:
    # The app sees http://10.0.0.5:8000/…; Twilio signed the public https URL it called.
    internal = f"http://10.0.0.5:8000/api/v1/sms/receipts/twilio/{RECEIPT_TOKEN}"
    request = _callback(compute_signature(TOKEN, CALLBACK, CALLBACK_PARAMS), url=internal)
    assert provider.verify(request)


def test_signature_with_the_default_port_is_accepted(provider: TwilioProvider) -> None:
    with_port = CALLBACK.replace("convoc.example", "convoc.example:443")
    assert provider.verify(_callback(compute_signature(TOKEN, with_port, CALLBACK_PARAMS)))


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        compute_signature("another-token", CALLBACK, CALLBACK_PARAMS),
        compute_signature(TOKEN, CALLBACK + "?x=1", CALLBACK_PARAMS),
        compute_signature(TOKEN, CALLBACK, [*CALLBACK_PARAMS[:-1], ("To", "+33700000000")]),
    ],
)
def test_forged_callback_is_refused(provider: TwilioProvider, signature: str | None) -> None:
    assert not provider.verify(_callback(signature))


def test_good_signature_with_a_wrong_path_token_is_refused(provider: TwilioProvider) -> None:
    other = "tok_" + "b" * 40
    url = CALLBACK.replace(RECEIPT_TOKEN, other)
    assert not provider.verify(
        _callback(compute_signature(TOKEN, url, CALLBACK_PARAMS), url=url, token=other)
    )


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("queued", DeliveryStatus.sent),
        ("sent", DeliveryStatus.sent),
        ("delivered", DeliveryStatus.delivered),
        ("failed", DeliveryStatus.failed),
        ("canceled", DeliveryStatus.failed),
    ],
)
def test_statuses_map_to_ours(
    provider: TwilioProvider, status: str, expected: DeliveryStatus
) -> None:
    body = urlencode({"MessageSid": "SM1", "MessageStatus": status}).encode()
    request = ReceiptRequest("POST", CALLBACK, {}, {}, body, RECEIPT_TOKEN)
    [receipt] = provider.parse_receipts(request)
    assert receipt.status is expected


def test_callback_without_sid_is_malformed(provider: TwilioProvider) -> None:
    request = ReceiptRequest("POST", CALLBACK, {}, {}, b"MessageStatus=sent", RECEIPT_TOKEN)
    with pytest.raises(ReceiptError):
        provider.parse_receipts(request)
