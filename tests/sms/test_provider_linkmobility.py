"""LINK Mobility (Netsize REST API): request, responseCode handling, no receipts."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl

import httpx
import pytest
import respx

from app.sms.base import (
    PermanentError,
    ReceiptRequest,
    TemporaryError,
    ThrottledError,
)
from app.sms.providers.linkmobility import LinkMobilityProvider
from tests.sms.support import RECEIPT_TOKEN, outgoing, provider_config

BASE = "https://europe.ipx.com"
SEND_URL = f"{BASE}/restapi/v1/sms/send"


@pytest.fixture
async def provider() -> AsyncIterator[LinkMobilityProvider]:
    provider = LinkMobilityProvider(
        provider_config("linkmobility", BASE), username="spip", password="secret"
    )
    yield provider
    await provider.aclose()


def _answer(code: int, ids: list[object] | None = None) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "responseCode": code,
            "responseMessage": "Success" if code == 0 else "Error",
            "messageIds": ids or [],
            "timestamp": "2027-01-15T10:00:00Z",
            "traceId": "abc",
        },
    )


async def test_send_builds_the_documented_request(provider: LinkMobilityProvider) -> None:
    with respx.mock(using="httpx", assert_all_called=True) as router:
        route = router.post(SEND_URL).mock(return_value=_answer(0, ["id-1", "id-2"]))
        result = await provider.send(outgoing())

    request = route.calls.last.request
    expected_auth = base64.b64encode(b"spip:secret").decode()
    assert request.headers["authorization"] == f"Basic {expected_auth}"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert dict(parse_qsl(request.content.decode())) == {
        "destinationAddress": "+33612345678",
        "messageText": "Rappel : convocation au SPIP lundi 18 janvier 2027 à 14h30.",
        "originatingAddress": "SPIP92",
        "originatorTON": "1",
        "maxConcatenatedMessages": "10",
    }
    assert result.message_ids == ("id-1", "id-2")
    assert result.segments == 2


@pytest.mark.parametrize("code", [16, 100, 15])
async def test_routing_and_destination_refusals_are_permanent(
    provider: LinkMobilityProvider, code: int
) -> None:
    with respx.mock(using="httpx") as router:
        router.post(SEND_URL).mock(return_value=_answer(code))
        with pytest.raises(PermanentError) as caught:
            await provider.send(outgoing())
    assert caught.value.code == str(code)


@pytest.mark.parametrize("code", [18, 103, 117, 42])
async def test_other_refusals_are_temporary(provider: LinkMobilityProvider, code: int) -> None:
    with respx.mock(using="httpx") as router:
        router.post(SEND_URL).mock(return_value=_answer(code))
        with pytest.raises(TemporaryError) as caught:
            await provider.send(outgoing())
    assert caught.value.code == str(code)


async def test_http_400_is_permanent(provider: LinkMobilityProvider) -> None:
    with respx.mock(using="httpx") as router:
        router.post(SEND_URL).mock(return_value=httpx.Response(400))
        with pytest.raises(PermanentError):
            await provider.send(outgoing())


async def test_429_is_throttled(provider: LinkMobilityProvider) -> None:
    with respx.mock(using="httpx") as router:
        router.post(SEND_URL).mock(return_value=httpx.Response(429, headers={"Retry-After": "5"}))
        with pytest.raises(ThrottledError) as caught:
            await provider.send(outgoing())
    assert caught.value.retry_after == 5.0


@pytest.mark.parametrize(
    "outcome",
    [httpx.Response(502), httpx.ReadTimeout("slow"), httpx.ConnectError("down")],
)
async def test_5xx_timeouts_and_connection_errors_are_temporary(
    provider: LinkMobilityProvider, outcome: httpx.Response | Exception
) -> None:
    with respx.mock(using="httpx") as router:
        route = router.post(SEND_URL)
        if isinstance(outcome, httpx.Response):
            route.mock(return_value=outcome)
        else:
            route.mock(side_effect=outcome)
        with pytest.raises(TemporaryError):
            await provider.send(outgoing())


async def test_success_without_message_ids_is_temporary(provider: LinkMobilityProvider) -> None:
    with respx.mock(using="httpx") as router:
        router.post(SEND_URL).mock(return_value=_answer(0, []))
        with pytest.raises(TemporaryError) as caught:
            await provider.send(outgoing())
    assert caught.value.code == "bad_response"


def test_no_receipts_are_ever_accepted(provider: LinkMobilityProvider) -> None:
    assert provider.capabilities.receipts is False
    request = ReceiptRequest(
        method="POST",
        url=f"https://convoc.example/api/v1/sms/receipts/linkmobility/{RECEIPT_TOKEN}",
        headers={},
        query={},
        body=b"{}",
        path_token=RECEIPT_TOKEN,
    )
    assert provider.verify(request) is False
    assert provider.parse_receipts(request) == []
