"""Brevo transactional SMS: the documented request, responses, webhook events in Paris time."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

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
from app.sms.providers.brevo import BrevoProvider, paris_to_utc
from tests.sms.support import RECEIPT_TOKEN, outgoing, provider_config

BASE = "https://api.brevo.com"
SEND_URL = f"{BASE}/v3/transactionalSMS/send"


@pytest.fixture
async def provider() -> AsyncIterator[BrevoProvider]:
    provider = BrevoProvider(provider_config("brevo", BASE), api_key="xkeysib-123")
    yield provider
    await provider.aclose()


def _accepted() -> httpx.Response:
    return httpx.Response(
        201,
        json={
            "reference": "ab1cde2fgh3i4jklmno",
            "messageId": 1511882900176220,
            "smsCount": 2,
            "usedCredits": 0.7,
            "remainingCredits": 82.85,
        },
    )


async def test_send_builds_the_documented_request(provider: BrevoProvider) -> None:
    with respx.mock(using="httpx", assert_all_called=True) as router:
        route = router.post(SEND_URL).mock(return_value=_accepted())
        result = await provider.send(outgoing())

    request = route.calls.last.request
    assert request.headers["api-key"] == "xkeysib-123"
    assert request.headers["accept"] == "application/json"
    assert json.loads(request.content) == {
        "sender": "SPIP92",
        "recipient": "33612345678",
        "content": "Rappel : convocation au SPIP lundi 18 janvier 2027 à 14h30.",
        "type": "transactional",
        "tag": "convoc",
        "webUrl": f"https://convoc.example/api/v1/sms/receipts/brevo/{RECEIPT_TOKEN}",
        "unicodeEnabled": False,
    }
    assert result.provider == "brevo"
    assert result.message_ids == ("1511882900176220",)
    assert result.segments == 2


async def test_ucs2_text_is_sent_with_unicode_enabled(provider: BrevoProvider) -> None:
    with respx.mock(using="httpx") as router:
        route = router.post(SEND_URL).mock(return_value=_accepted())
        await provider.send(outgoing(body="Convocation à l’hôtel de police"))
    assert json.loads(route.calls.last.request.content)["unicodeEnabled"] is True


async def test_without_public_url_no_web_url_is_sent() -> None:
    provider = BrevoProvider(
        provider_config("brevo", BASE, callback_url=None), api_key="xkeysib-123"
    )
    with respx.mock(using="httpx") as router:
        route = router.post(SEND_URL).mock(return_value=_accepted())
        await provider.send(outgoing())
    await provider.aclose()
    assert "webUrl" not in json.loads(route.calls.last.request.content)


async def test_bad_request_is_permanent_with_brevos_code(provider: BrevoProvider) -> None:
    with respx.mock(using="httpx") as router:
        router.post(SEND_URL).mock(
            return_value=httpx.Response(
                400, json={"code": "invalid_parameter", "message": "recipient is invalid"}
            )
        )
        with pytest.raises(PermanentError) as caught:
            await provider.send(outgoing())
    assert caught.value.code == "invalid_parameter"
    assert "recipient" not in str(caught.value)  # provider text may echo the number


async def test_not_enough_credits_is_temporary_so_the_next_provider_takes_over(
    provider: BrevoProvider,
) -> None:
    with respx.mock(using="httpx") as router:
        router.post(SEND_URL).mock(
            return_value=httpx.Response(402, json={"code": "not_enough_credits"})
        )
        with pytest.raises(TemporaryError) as caught:
            await provider.send(outgoing())
    assert caught.value.code == "not_enough_credits"


async def test_429_is_throttled(provider: BrevoProvider) -> None:
    with respx.mock(using="httpx") as router:
        router.post(SEND_URL).mock(return_value=httpx.Response(429, headers={"Retry-After": "3"}))
        with pytest.raises(ThrottledError) as caught:
            await provider.send(outgoing())
    assert caught.value.retry_after == 3.0


async def test_5xx_is_temporary(provider: BrevoProvider) -> None:
    with respx.mock(using="httpx") as router:
        router.post(SEND_URL).mock(return_value=httpx.Response(503))
        with pytest.raises(TemporaryError):
            await provider.send(outgoing())


@pytest.mark.parametrize("exception", [httpx.ReadTimeout("slow"), httpx.ConnectError("down")])
async def test_timeouts_and_connection_errors_are_temporary(
    provider: BrevoProvider, exception: Exception
) -> None:
    with respx.mock(using="httpx") as router:
        router.post(SEND_URL).mock(side_effect=exception)
        with pytest.raises(TemporaryError):
            await provider.send(outgoing())


# -- webhook events ----------------------------------------------------------------------------


def _event(token: str | None = RECEIPT_TOKEN, **fields: object) -> ReceiptRequest:
    event: dict[str, object] = {
        "id": 26570,
        "to": "33612345678",
        "sms_count": 1,
        "credits_used": 1.5,
        "messageId": 1511882900176220,
        "remaining_credit": 11488.845,
        "msg_status": "delivered",
        "date": "2027-01-15 11:00:05",
        "type": "transactional",
        "reference": "ab1cde2fgh3i4jklmno",
    }
    event.update(fields)
    return ReceiptRequest(
        method="POST",
        url=f"https://convoc.example/api/v1/sms/receipts/brevo/{token}",
        headers={"content-type": "application/json"},
        query={},
        body=json.dumps(event).encode(),
        path_token=token,
    )


def test_event_with_the_path_token_is_accepted(provider: BrevoProvider) -> None:
    assert provider.verify(_event())


@pytest.mark.parametrize("token", [None, "", "tok_" + "b" * 40, RECEIPT_TOKEN[:-1]])
def test_event_without_the_right_token_is_refused(provider: BrevoProvider, token: str) -> None:
    assert not provider.verify(_event(token=token))


def test_event_date_is_read_in_paris_time_and_stored_in_utc(provider: BrevoProvider) -> None:
    [receipt] = provider.parse_receipts(_event())
    assert receipt.status is DeliveryStatus.delivered
    assert receipt.provider_message_id == "1511882900176220"
    assert receipt.reference is None  # Brevo's reference is its own
    assert receipt.occurred_at == datetime(2027, 1, 15, 10, 0, 5, tzinfo=UTC)  # CET = UTC+1


def test_summer_dates_are_utc_plus_two() -> None:
    assert paris_to_utc("2027-07-01 12:00:00") == datetime(2027, 7, 1, 10, 0, tzinfo=UTC)


def test_repeated_autumn_hour_takes_the_first_occurrence() -> None:
    # 2027-10-31: 02:30 Paris happens twice; the first is 00:30 UTC (still CEST).
    assert paris_to_utc("2027-10-31 02:30:00") == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)


def test_on_the_autumn_dst_day_the_utc_ts_event_wins_over_the_ambiguous_paris_date(
    provider: BrevoProvider,
) -> None:
    # 2027-10-31 at 01:30 UTC is the *second* 02:30 in Paris (CET): read from ``date`` it would
    # be placed an hour early (00:30 UTC, the first 02:30); ``ts_event`` says which one it was.
    second = datetime(2027, 10, 31, 1, 30, tzinfo=UTC)
    [receipt] = provider.parse_receipts(
        _event(date="2027-10-31 02:30:00", ts_event=int(second.timestamp()))
    )
    assert receipt.occurred_at == second


def test_utc_epoch_is_preferred_over_the_paris_date(provider: BrevoProvider) -> None:
    [receipt] = provider.parse_receipts(_event(ts_event=1799999999))
    assert receipt.occurred_at == datetime.fromtimestamp(1799999999, tz=UTC)


@pytest.mark.parametrize(
    ("msg_status", "expected", "code"),
    [
        ("sent", DeliveryStatus.sent, None),
        ("soft_bounce", DeliveryStatus.undelivered, "soft_bounce"),
        ("hard_bounce", DeliveryStatus.failed, "hard_bounce"),
        ("hardBounce", DeliveryStatus.failed, "hardbounce"),
        ("rejected", DeliveryStatus.failed, "rejected"),
    ],
)
def test_statuses_map_to_ours(
    provider: BrevoProvider, msg_status: str, expected: DeliveryStatus, code: str | None
) -> None:
    [receipt] = provider.parse_receipts(_event(msg_status=msg_status))
    assert receipt.status is expected
    assert receipt.error_code == code


@pytest.mark.parametrize("msg_status", ["replied", "unsubscribe", "something_new"])
def test_events_that_are_not_delivery_reports_are_ignored(
    provider: BrevoProvider, msg_status: str
) -> None:
    assert provider.parse_receipts(_event(msg_status=msg_status)) == []


@pytest.mark.parametrize(
    "fields",
    [{"messageId": None}, {"msg_status": None}, {"date": "hier"}, {"messageId": {"x": 1}}],
)
def test_malformed_event_is_refused(provider: BrevoProvider, fields: dict[str, object]) -> None:
    with pytest.raises(ReceiptError):
        provider.parse_receipts(_event(RECEIPT_TOKEN, **fields))
