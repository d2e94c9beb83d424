"""Each provider's received-SMS wire format, pinned on sample payloads (no network: the
webhook is a request *to* us, so there is nothing for respx to intercept)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import urlencode

import httpx
import pytest

from app.replies.stop import fold, is_stop
from app.sms.base import ReceiptError, ReceiptRequest, inbound_capable
from app.sms.providers.brevo import BrevoProvider
from app.sms.providers.console import ConsoleProvider
from app.sms.providers.http import HttpProvider, sign
from app.sms.providers.twilio import TwilioProvider, compute_signature
from tests.conftest import FIXED_NOW
from tests.sms.support import RECEIPT_TOKEN, provider_config

SECRET = "w" * 40
SID = "AC" + "1" * 32
AUTH_TOKEN = "twilio-auth-token"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as shared:
        yield shared


def request(
    body: bytes, *, url: str = "https://convoc.example/x", **headers: str
) -> ReceiptRequest:
    return ReceiptRequest(
        method="POST",
        url=url,
        headers={k.lower().replace("_", "-"): v for k, v in headers.items()},
        query={},
        body=body,
        path_token=RECEIPT_TOKEN,
    )


# --- http: our own format (docs/sms-providers.md) --------------------------------------------


def http_provider(client: httpx.AsyncClient) -> HttpProvider:
    config = provider_config("http", "http://127.0.0.1:9100")
    return HttpProvider(config, api_key="k", webhook_secret=SECRET, client=client)


def test_http_inbound_reads_the_documented_batch(client: httpx.AsyncClient) -> None:
    body = json.dumps(
        {
            "inbound": [
                {
                    "id": "in-1",
                    "from": "+594694123456",
                    "to": "CONVOC",
                    "text": "Je serai en retard",
                    "received_at": "2027-03-29T07:00:00Z",
                },
                {
                    "id": 7,
                    "from": "+33612345678",
                    "text": "STOP",
                    "received_at": "2027-03-29T09:00:00+02:00",
                },
            ]
        }
    ).encode()
    provider = http_provider(client)
    signed = request(body, x_convoc_signature=sign(SECRET, body))
    assert provider.verify(signed)
    first, second = provider.parse_inbound(signed)
    assert (first.provider, first.provider_message_id, first.sender, first.text) == (
        "http",
        "in-1",
        "+594694123456",
        "Je serai en retard",
    )
    assert first.received_at == datetime(2027, 3, 29, 7, 0, tzinfo=UTC)
    assert (second.provider_message_id, second.received_at.hour) == ("7", 7)
    assert not provider.verify(request(body, x_convoc_signature=sign("x" * 40, body)))


@pytest.mark.parametrize(
    "payload",
    [
        [{"id": "a", "from": "+33612345678", "text": "x", "received_at": "2027-03-29T07:00:00Z"}],
        {"inbound": {"id": "a"}},
        {"inbound": [{"from": "+33612345678", "text": "x", "received_at": "2027-03-29T07:00:00Z"}]},
        {"inbound": [{"id": "a", "text": "x", "received_at": "2027-03-29T07:00:00Z"}]},
        {"inbound": [{"id": "a", "from": "+33612345678", "received_at": "2027-03-29T07:00:00Z"}]},
        {
            "inbound": [
                {"id": "a", "from": "+33612345678", "text": "x", "received_at": "2027-03-29 07:00"}
            ]
        },
        {
            "inbound": [
                {
                    "id": "a" * 101,
                    "from": "+33612345678",
                    "text": "x",
                    "received_at": "2027-03-29T07:00:00Z",
                }
            ]
        },
        {
            "inbound": [
                {
                    "id": "a",
                    "from": "+33612345678",
                    "text": "x" * 2001,
                    "received_at": "2027-03-29T07:00:00Z",
                }
            ]
        },
    ],
)
def test_http_inbound_refuses_what_it_cannot_store(
    client: httpx.AsyncClient, payload: object
) -> None:
    with pytest.raises(ReceiptError):
        http_provider(client).parse_inbound(request(json.dumps(payload).encode()))


# --- Twilio -------------------------------------------------------------------------------------

# "Twilio's request to your incoming message Webhook URL",
# https://www.twilio.com/docs/messaging/guides/webhook-request — the documented parameters of an
# incoming SMS (values shaped as in the page's examples; our test account's SID).
TWILIO_SAMPLE = {
    "ToCountry": "FR",
    "ToState": "",
    "SmsMessageSid": "SM" + "a" * 32,
    "NumMedia": "0",
    "ToCity": "",
    "FromZip": "",
    "SmsSid": "SM" + "a" * 32,
    "FromState": "",
    "SmsStatus": "received",
    "FromCity": "",
    "Body": "Bonjour, je serai là",
    "FromCountry": "FR",
    "To": "+33757000000",
    "MessagingServiceSid": "MG" + "b" * 32,
    "ToZip": "",
    "NumSegments": "1",
    "MessageSid": "SM" + "a" * 32,
    "AccountSid": SID,
    "From": "+33612345678",
    "ApiVersion": "2010-04-01",
}
# With a receipt token configured, Twilio's URLs carry it too (an extra check beside the
# signature, as for receipts).
INBOUND_PATH = f"/api/v1/sms/inbound/twilio/{RECEIPT_TOKEN}"
INBOUND_URL = f"https://convoc.example{INBOUND_PATH}"


def twilio_provider(client: httpx.AsyncClient) -> TwilioProvider:
    config = provider_config("twilio", "https://api.twilio.com")
    return TwilioProvider(config, account_sid=SID, auth_token=AUTH_TOKEN, client=client)


def twilio_request(params: dict[str, str]) -> ReceiptRequest:
    signature = compute_signature(AUTH_TOKEN, INBOUND_URL, list(params.items()))
    return ReceiptRequest(
        method="POST",
        url=f"http://127.0.0.1:8000{INBOUND_PATH}",  # behind the reverse proxy
        headers={"x-twilio-signature": signature},
        query={},
        body=urlencode(params).encode(),
        path_token=RECEIPT_TOKEN,
    )


def test_twilio_inbound_reads_the_documented_webhook_signed_over_the_inbound_url(
    client: httpx.AsyncClient,
) -> None:
    provider = twilio_provider(client)
    signed = twilio_request(TWILIO_SAMPLE)
    assert provider.verify(signed)  # the public URL rebased on CONVOC_SMS_PUBLIC_BASE_URL
    [message] = provider.parse_inbound(signed)
    assert (message.provider_message_id, message.sender, message.text, message.opt_out) == (
        "SM" + "a" * 32,
        "+33612345678",
        "Bonjour, je serai là",
        False,
    )
    assert message.received_at == FIXED_NOW  # Twilio gives no time: dated on arrival
    tampered = twilio_request(TWILIO_SAMPLE)
    forged = ReceiptRequest(
        method="POST",
        url=tampered.url,
        headers=tampered.headers,
        query={},
        body=urlencode({**TWILIO_SAMPLE, "Body": "STOP"}).encode(),
        path_token=RECEIPT_TOKEN,
    )
    assert not provider.verify(forged)


def test_twilio_advanced_opt_out_is_a_stop_and_another_account_is_refused(
    client: httpx.AsyncClient,
) -> None:
    provider = twilio_provider(client)
    [stop] = provider.parse_inbound(
        twilio_request({**TWILIO_SAMPLE, "Body": "Arrêtez", "OptOutType": "STOP"})
    )
    assert stop.opt_out
    with pytest.raises(ReceiptError):
        provider.parse_inbound(twilio_request({**TWILIO_SAMPLE, "AccountSid": "AC" + "9" * 32}))
    without_body = {k: v for k, v in TWILIO_SAMPLE.items() if k != "Body"}
    with pytest.raises(ReceiptError):
        provider.parse_inbound(twilio_request(without_body))


# --- Brevo --------------------------------------------------------------------------------------

# The transactional SMS webhook sample of https://developers.brevo.com/docs/transactional-webhooks
# ("Transactional SMS", msg_status sent): Brevo documents no reply payload, so the reply below is
# that sample with the event of its SMS event report ("replied", SmsEventReport) and a "reply"
# text field, which is our guess (see app/sms/providers/brevo.py).
BREVO_SAMPLE = {
    "id": 26570,
    "to": "918076001713",
    "sms_count": 1,
    "credits_used": 1.5,
    "messageId": 123,
    "remaining_credit": 11488.845,
    "msg_status": "sent",
    "date": "2027-03-29 09:00:00",
    "type": "transactional",
    "reference": "ab12cd34",
    "ts_event": 1806296400,
}


def brevo_provider(client: httpx.AsyncClient) -> BrevoProvider:
    return BrevoProvider(
        provider_config("brevo", "https://api.brevo.com"), api_key="k", client=client
    )


def test_brevo_replies_and_unsubscribes_are_read_and_delivery_events_left_to_receipts(
    client: httpx.AsyncClient,
) -> None:
    provider = brevo_provider(client)
    events = [
        BREVO_SAMPLE,  # a delivery event: the receipts route's business
        {**BREVO_SAMPLE, "msg_status": "replied", "reply": "Je viendrai"},
        {**BREVO_SAMPLE, "msg_status": "replied", "ts_event": 1806296460},  # no text field
        {**BREVO_SAMPLE, "event": "unsubscribe", "msg_status": None, "ts_event": 1806296500},
    ]
    reply, silent, unsubscribe = provider.parse_inbound(request(json.dumps(events).encode()))
    assert (reply.sender, reply.text, reply.opt_out) == ("+918076001713", "Je viendrai", False)
    assert reply.received_at == datetime.fromtimestamp(1806296400, tz=UTC)
    assert reply.provider_message_id == "123:replied:1806296400"
    assert silent.text == ""
    assert (unsubscribe.opt_out, unsubscribe.text) == (True, "")
    assert provider.verify(request(b"[]"))  # the path token
    wrong = ReceiptRequest("POST", "https://x", {}, {}, b"[]", path_token="b" * 44)
    assert not provider.verify(wrong)
    with pytest.raises(ReceiptError):
        provider.parse_inbound(request(json.dumps({"msg_status": "replied"}).encode()))


def test_providers_without_inbound_are_not_inbound_capable(client: httpx.AsyncClient) -> None:
    assert inbound_capable(ConsoleProvider()) is None
    assert inbound_capable(http_provider(client)) is not None


# --- What is a STOP ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        " Stop. ",
        "STOP!",
        "STOP SMS",
        "stopsms",
        "Arrêt",
        "ARRET",
        "arrêter",
        "STOP 36180",
        "Désabonner",
    ],
)
def test_a_bare_stop_keyword_is_a_stop(text: str) -> None:
    assert is_stop(text)


@pytest.mark.parametrize(
    "text",
    ["stop merci", "Je ne peux pas venir, stop", "Arrêtez de m'écrire", "Stéphane", "", "Ok"],
)
def test_anything_more_is_a_reply_for_the_referent(text: str) -> None:
    assert not is_stop(text)


def test_fold_keeps_letters_only() -> None:
    assert fold("Arrêt, s'il vous plaît !") == "ARRETSILVOUSPLAIT"
