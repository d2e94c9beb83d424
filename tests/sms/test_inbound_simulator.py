"""The simulator's ``POST /_replies`` refuses what it cannot send, in French, and never shows
its inbound URL (it holds the receipt token); the sending itself is proven against a real
Convoc process in ``test_inbound_processes``."""

from __future__ import annotations

import httpx

from app.sms.simulator.app import SimulatorConfig, _inbound_of, _reply, create_app


async def _post(config: SimulatorConfig, path: str, payload: object) -> httpx.Response:
    app = create_app(config)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sim"
    ) as client:
        return await client.post(path, json=payload)


async def test_replies_need_a_mobile_a_text_and_somewhere_to_go() -> None:
    config = SimulatorConfig(webhook_secret="w" * 40)
    for payload, words in (
        ({"from": "0612345678", "text": "STOP"}, "E.164"),
        ({"from": "+33612345678"}, "texte"),
        ({"from": "+33612345678", "text": "STOP"}, "aucune URL de réception"),
        (["STOP"], "objet JSON"),
    ):
        answer = await _post(config, "/_replies", payload)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"] == "invalid_reply" and words in answer.json()["detail"]


async def test_the_inbound_url_is_settable_but_never_shown() -> None:
    config = SimulatorConfig(inbound_url="http://127.0.0.1:1/api/v1/sms/inbound/http/tok-one")
    answer = await _post(config, "/_control", {"inbound_url": "http://127.0.0.1:2/x/tok-two"})
    assert answer.status_code == 200
    assert answer.json()["inbound_url"] is True and "tok-" not in answer.text
    refused = await _post(config, "/_control", {"inbound_url": 3})
    assert refused.status_code == 400


def test_the_inbound_url_follows_the_receipt_url_convoc_gave() -> None:
    state = create_app(SimulatorConfig()).state.simulator
    state.last_callback_url = "https://convoc.example/api/v1/sms/receipts/http/tok"
    url, body = _reply(state, {"from": "+33612345678", "text": "Merci", "id": "r-1"})
    assert url == "https://convoc.example/api/v1/sms/inbound/http/tok"
    assert b'"id": "r-1"' in body and b'"text": "Merci"' in body
    assert _inbound_of("https://x/elsewhere") is None
