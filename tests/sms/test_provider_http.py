"""The ``http`` provider: Convoc's own wire format, exactly as documented."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
import respx
from httpx_aiohttp import AiohttpTransport

from app.sms.base import (
    DeliveryStatus,
    PermanentError,
    ReceiptError,
    ReceiptRequest,
    TemporaryError,
    ThrottledError,
)
from app.sms.providers.http import HttpProvider, sign
from tests.sms.support import RECEIPT_TOKEN, outgoing, provider_config

BASE = "https://sms.example"
SECRET = "s" * 40


@pytest.fixture
async def provider() -> AsyncIterator[HttpProvider]:
    provider = HttpProvider(provider_config("http", BASE), api_key="key-123", webhook_secret=SECRET)
    yield provider
    await provider.aclose()


async def test_send_builds_the_documented_request(provider: HttpProvider) -> None:
    with respx.mock(using="httpx", assert_all_called=True) as router:
        route = router.post(f"{BASE}/messages").mock(
            return_value=httpx.Response(202, json={"id": "m-1", "segments": 2})
        )
        result = await provider.send(outgoing())

    request = route.calls.last.request
    assert request.headers["authorization"] == "Bearer key-123"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        "to": "+33612345678",
        "body": "Rappel : convocation au SPIP lundi 18 janvier 2027 à 14h30.",
        "sender": "SPIP92",
        "reference": "notif-42",
        "callback_url": f"https://convoc.example/api/v1/sms/receipts/http/{RECEIPT_TOKEN}",
    }
    assert result.provider == "http"
    assert result.message_ids == ("m-1",)
    assert result.segments == 2


async def test_an_explicit_callback_url_wins(provider: HttpProvider) -> None:
    with respx.mock(using="httpx") as router:
        route = router.post(f"{BASE}/messages").mock(
            return_value=httpx.Response(200, json={"id": 7})
        )
        result = await provider.send(outgoing(callback_url="https://elsewhere.example/cb"))
    assert json.loads(route.calls.last.request.content)["callback_url"] == (
        "https://elsewhere.example/cb"
    )
    assert result.message_ids == ("7",)
    assert result.segments is None


@pytest.mark.parametrize("status", [400, 422])
async def test_refused_message_is_permanent(provider: HttpProvider, status: int) -> None:
    with respx.mock(using="httpx") as router:
        router.post(f"{BASE}/messages").mock(
            return_value=httpx.Response(status, json={"error": "invalid_destination"})
        )
        with pytest.raises(PermanentError) as caught:
            await provider.send(outgoing())
    assert caught.value.code == "invalid_destination"
    assert caught.value.provider == "http"


@pytest.mark.parametrize("status", [401, 402, 403, 404])
async def test_account_level_4xx_is_temporary_not_the_persons_fault(
    provider: HttpProvider, status: int
) -> None:
    with respx.mock(using="httpx") as router:
        router.post(f"{BASE}/messages").mock(return_value=httpx.Response(status))
        with pytest.raises(TemporaryError) as caught:
            await provider.send(outgoing())
    assert caught.value.code == f"http_{status}"


async def test_429_is_throttled_with_retry_after_seconds(provider: HttpProvider) -> None:
    with respx.mock(using="httpx") as router:
        router.post(f"{BASE}/messages").mock(
            return_value=httpx.Response(429, headers={"Retry-After": "7"})
        )
        with pytest.raises(ThrottledError) as caught:
            await provider.send(outgoing())
    assert caught.value.retry_after == 7.0


async def test_429_retry_after_as_http_date(provider: HttpProvider) -> None:
    # The test clock is pinned to 2027-01-15T10:00:00Z.
    with respx.mock(using="httpx") as router:
        router.post(f"{BASE}/messages").mock(
            return_value=httpx.Response(
                429, headers={"Retry-After": "Fri, 15 Jan 2027 10:00:30 GMT"}
            )
        )
        with pytest.raises(ThrottledError) as caught:
            await provider.send(outgoing())
    assert caught.value.retry_after == 30.0


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_is_temporary(provider: HttpProvider, status: int) -> None:
    with respx.mock(using="httpx") as router:
        router.post(f"{BASE}/messages").mock(return_value=httpx.Response(status))
        with pytest.raises(TemporaryError) as caught:
            await provider.send(outgoing())
    assert caught.value.code == f"http_{status}"


@pytest.mark.parametrize(
    ("exception", "code"),
    [
        (httpx.ReadTimeout("slow"), "timeout"),
        (httpx.ConnectTimeout("slow"), "connect_timeout"),
        (httpx.ConnectError("refused"), "connection_error"),
        (httpx.RemoteProtocolError("reset"), "connection_error"),
    ],
)
async def test_network_failures_are_temporary(
    provider: HttpProvider, exception: Exception, code: str
) -> None:
    with respx.mock(using="httpx") as router:
        router.post(f"{BASE}/messages").mock(side_effect=exception)
        with pytest.raises(TemporaryError) as caught:
            await provider.send(outgoing())
    assert caught.value.code == code


async def test_success_without_id_is_temporary(provider: HttpProvider) -> None:
    with respx.mock(using="httpx") as router:
        router.post(f"{BASE}/messages").mock(return_value=httpx.Response(200, text="ok"))
        with pytest.raises(TemporaryError) as caught:
            await provider.send(outgoing())
    assert caught.value.code == "bad_response"


async def test_the_client_has_explicit_timeouts_and_pool_limits(provider: HttpProvider) -> None:
    timeout = provider._client.timeout
    assert (timeout.connect, timeout.read) == (1.0, 2.0)
    transport = provider._client._transport
    assert isinstance(transport, AiohttpTransport)
    session = transport.get_client()  # the aiohttp pool the first request would open
    try:
        assert session.connector is not None and session.connector.limit == 5
    finally:
        await session.close()


# -- receipts ----------------------------------------------------------------------------------


def _receipt_request(
    body: bytes, signature: str | None, token: str | None = RECEIPT_TOKEN
) -> ReceiptRequest:
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["x-convoc-signature"] = signature
    return ReceiptRequest(
        method="POST",
        url=f"https://convoc.example/api/v1/sms/receipts/http/{token}",
        headers=headers,
        query={},
        body=body,
        path_token=token,
    )


RECEIPT = json.dumps(
    {
        "id": "m-1",
        "reference": "notif-42",
        "status": "undelivered",
        "error_code": "absent_subscriber",
        "occurred_at": "2027-01-15T11:00:05+01:00",
    }
).encode()


def test_signed_receipt_is_accepted_and_parsed(provider: HttpProvider) -> None:
    request = _receipt_request(RECEIPT, sign(SECRET, RECEIPT))
    assert provider.verify(request)
    [receipt] = provider.parse_receipts(request)
    assert receipt.status is DeliveryStatus.undelivered
    assert receipt.provider_message_id == "m-1"
    assert receipt.reference == "notif-42"
    assert receipt.error_code == "absent_subscriber"
    assert receipt.occurred_at == datetime(2027, 1, 15, 10, 0, 5, tzinfo=UTC)


def test_signature_header_is_sha256_hex_hmac_of_the_raw_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), RECEIPT, hashlib.sha256).hexdigest()
    assert sign(SECRET, RECEIPT) == f"sha256={expected}"


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "sha256=" + "0" * 64,
        sign("another-secret-of-enough-length-000000", RECEIPT),
        sign(SECRET, RECEIPT + b" "),  # body altered after signing
        sign(SECRET, RECEIPT).replace("sha256=", "sha1="),
        "sha256=é",
    ],
)
def test_forged_receipt_is_refused(provider: HttpProvider, signature: str | None) -> None:
    assert not provider.verify(_receipt_request(RECEIPT, signature))


def test_valid_signature_with_a_wrong_path_token_is_refused(provider: HttpProvider) -> None:
    request = _receipt_request(RECEIPT, sign(SECRET, RECEIPT), token="tok_" + "b" * 40)
    assert not provider.verify(request)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"id": "m-1", "status": "teleported"}',
        b'{"status": "delivered"}',
        b'{"id": "m-1", "status": "delivered", "occurred_at": "2027-01-15T10:00:00"}',
        b"[1]",
    ],
)
def test_malformed_receipt_is_refused(provider: HttpProvider, body: bytes) -> None:
    with pytest.raises(ReceiptError):
        provider.parse_receipts(_receipt_request(body, sign(SECRET, body)))


def test_rejected_reads_as_failed_and_arrays_are_accepted(provider: HttpProvider) -> None:
    body = json.dumps(
        [{"id": "a", "status": "rejected"}, {"id": "b", "status": "expired"}]
    ).encode()
    receipts = provider.parse_receipts(_receipt_request(body, sign(SECRET, body)))
    assert [r.status for r in receipts] == [DeliveryStatus.failed, DeliveryStatus.expired]
