"""With failover, each provider gives its own receipt URL: the dispatcher leaves
``OutgoingSms.callback_url`` unset and the gateway's providers fill it from the settings."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import httpx
import respx

from app.sms.config import SmsSettings
from app.sms.gateway import SmsGateway
from tests.sms.conftest import PUBLIC_BASE, TWILIO_SID, TWILIO_TOKEN, WEBHOOK_SECRET
from tests.sms.support import RECEIPT_TOKEN, outgoing

SIMULATOR = "http://127.0.0.1:9100"


async def test_the_provider_that_carries_the_message_gives_its_own_receipt_url() -> None:
    settings = SmsSettings(
        _env_file=None,
        providers=("twilio", "http"),
        twilio_account_sid=TWILIO_SID,
        twilio_auth_token=TWILIO_TOKEN,
        http_base_url=SIMULATOR,
        http_api_key="k",
        http_webhook_secret=WEBHOOK_SECRET,
        public_base_url=PUBLIC_BASE,
        receipt_token=RECEIPT_TOKEN,
    )
    gateway = SmsGateway.from_settings(settings)
    twilio_url = f"https://api.twilio.com/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    with respx.mock(using="httpx", assert_all_called=True) as router:
        twilio = router.post(twilio_url).mock(return_value=httpx.Response(503))
        http = router.post(f"{SIMULATOR}/messages").mock(
            return_value=httpx.Response(202, json={"id": "sim-1", "segments": 1})
        )
        result = await gateway.send(outgoing())
    await gateway.aclose()

    assert (result.provider, result.message_ids) == ("http", ("sim-1",))
    form = dict(parse_qsl(twilio.calls.last.request.content.decode()))
    assert form["StatusCallback"] == f"{PUBLIC_BASE}/api/v1/sms/receipts/twilio/{RECEIPT_TOKEN}"
    payload = json.loads(http.calls.last.request.content)
    assert payload["callback_url"] == f"{PUBLIC_BASE}/api/v1/sms/receipts/http/{RECEIPT_TOKEN}"
