"""LINK Mobility: the send request and its responseCode handling (Netsize REST API), and the
delivery reports of « SMS REST API, MT and Delivery Reports » v2.4, on their wire format."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

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


# The report as the v2.4 document's « Delivery Reports » chapter lists its fields.
REPORT: dict[str, Any] = {
    "refId": None,
    "id": "c2f8b2a0-4c1d$1",
    "operator": "no.telenor",
    "sentTimestamp": "2027-03-28T09:00:01Z",
    "timestamp": "2027-03-28T09:00:07Z",
    "resultCode": 1001,
    "operatorResultCode": "DELIVRD",
    "segments": 1,
    "gateCustomParameters": {},
    "customParameters": {"source": "SPIP92", "destination": "+33612345678"},
}


def report_request(body: Any, token: str | None = RECEIPT_TOKEN) -> ReceiptRequest:
    return ReceiptRequest(
        method="POST",
        url=f"https://convoc.example/api/v1/sms/receipts/linkmobility/{token}",
        headers={"content-type": "application/json"},
        query={},
        body=json.dumps(body).encode(),
        path_token=token,
    )


def test_reports_are_authenticated_by_the_url_token_alone(
    provider: LinkMobilityProvider,
) -> None:
    assert provider.capabilities.receipts is True
    assert provider.verify(report_request(REPORT)) is True
    assert provider.verify(report_request(REPORT, token="x" * len(RECEIPT_TOKEN))) is False
    assert provider.verify(report_request(REPORT, token=None)) is False


def test_a_delivered_part_is_read_with_its_instant_and_its_message_id(
    provider: LinkMobilityProvider,
) -> None:
    [receipt] = provider.parse_receipts(report_request(REPORT))
    assert receipt.status is DeliveryStatus.delivered
    assert receipt.provider_message_id == "c2f8b2a0-4c1d$1"
    assert receipt.alternate_message_id == "c2f8b2a0-4c1d"  # the part suffix dropped
    assert receipt.occurred_at == datetime(2027, 3, 28, 9, 0, 7, tzinfo=UTC)
    assert receipt.error_code is None


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (1001, DeliveryStatus.delivered),
        (1007, DeliveryStatus.delivered),  # delivered, billing delayed
        (1000, DeliveryStatus.sent),  # sent to the operator: no news yet
        (1005, DeliveryStatus.sent),  # queued
        (1002, DeliveryStatus.expired),
        (1010, DeliveryStatus.expired),
        (1006, DeliveryStatus.undelivered),
        (1004, DeliveryStatus.undelivered),  # mobile full
        (2, DeliveryStatus.failed),  # permanent routing error
        (2000, DeliveryStatus.failed),  # invalid source
    ],
)
def test_result_codes(provider: LinkMobilityProvider, code: int, status: DeliveryStatus) -> None:
    [receipt] = provider.parse_receipts(report_request(REPORT | {"resultCode": code, "id": "m1"}))
    assert receipt.status is status
    assert receipt.alternate_message_id is None  # no part suffix
    failed = status not in (DeliveryStatus.delivered, DeliveryStatus.sent)
    assert receipt.error_code == (str(code) if failed else None)


@pytest.mark.parametrize(
    "body",
    [
        [],  # nothing is fine: an empty list reads as no report
        {"id": "m1"},
        {"resultCode": 1001},
        {"id": "m1", "resultCode": True},
        {"id": "m1", "resultCode": 1001, "timestamp": "2027-03-28 09:00:07"},  # no zone
        "not an object",
    ],
)
def test_unreadable_reports_are_refused(provider: LinkMobilityProvider, body: Any) -> None:
    if body == []:
        assert provider.parse_receipts(report_request(body)) == []
        return
    with pytest.raises(ReceiptError):
        provider.parse_receipts(report_request(body))
