"""The simulator as a separate process, driven over loopback through the real ``http`` provider.

A tiny HTTP server in a thread stands for Convoc's receipts endpoint: the simulator's signed
receipts must reach it and pass the provider's ``verify``.
"""

from __future__ import annotations

import asyncio
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.sms.base import (
    DeliveryStatus,
    PermanentError,
    Receipt,
    ReceiptRequest,
    TemporaryError,
    ThrottledError,
)
from app.sms.gateway import SmsGateway
from app.sms.providers.http import HttpProvider
from tests.sms.support import RECEIPT_TOKEN, outgoing, provider_config

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "sim-api-key"
SECRET = "w" * 40


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def simulator() -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "CONVOC_SIM_API_KEY": API_KEY,
        "CONVOC_SIM_WEBHOOK_SECRET": SECRET,
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable,
        "-m",
        "app.sms.simulator",
        "--port",
        str(port),
        "--receipt-delay-ms",
        "20",
        "--seed",
        "7",
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if process.stderr is not None:
            process.stderr.close()


def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = process.stderr.read().decode() if process.stderr else ""
            pytest.fail(f"le simulateur s'est arrêté : {stderr}")
        try:
            if httpx.get(f"{base}/_health", timeout=0.5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    pytest.fail("le simulateur n'a pas démarré à temps")


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """Convoc's receipts endpoint, reduced to recording what arrives."""

    def __init__(self) -> None:
        self.received: queue.Queue[Received] = queue.Queue()
        inbox = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                inbox.put(Received("POST", self.path, headers, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def next(self, wait_seconds: float = 10) -> Received:
        return await asyncio.to_thread(self.received.get, timeout=wait_seconds)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


@pytest.fixture
async def provider(simulator: str, receiver: Receiver) -> AsyncIterator[HttpProvider]:
    await _reset(simulator)
    await _control(simulator, error_5xx=0, error_timeout=0, error_429=0, error_permanent=0)
    config = provider_config(
        "http",
        simulator,
        read_timeout=0.5,
        callback_url=f"{receiver.base}/api/v1/sms/receipts/http/{RECEIPT_TOKEN}",
        public_base_url=receiver.base,
    )
    provider = HttpProvider(config, api_key=API_KEY, webhook_secret=SECRET)
    yield provider
    await provider.aclose()


async def _control(simulator: str, **changes: float) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{simulator}/_control", json=changes)
    assert response.status_code == 200, response.text


async def _stats(simulator: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        return dict((await client.get(f"{simulator}/_stats")).json())


async def _reset(simulator: str) -> None:
    async with httpx.AsyncClient() as client:
        (await client.post(f"{simulator}/_reset")).raise_for_status()


def _as_receipt_request(received: Received, base: str) -> ReceiptRequest:
    return ReceiptRequest(
        method=received.method,
        url=f"{base}{received.path}",
        headers=received.headers,
        query={},
        body=received.body,
        path_token=received.path.rsplit("/", 1)[-1],
    )


async def test_message_is_counted_and_its_signed_receipt_verifies(
    simulator: str, receiver: Receiver, provider: HttpProvider
) -> None:
    result = await provider.send(outgoing(reference="notif-1"))

    stats = await _stats(simulator)
    assert stats["accepted"] == {"notif-1": 1}
    assert stats["duplicates"] == {}

    received = await receiver.next()
    assert received.path == f"/api/v1/sms/receipts/http/{RECEIPT_TOKEN}"
    request = _as_receipt_request(received, receiver.base)
    assert provider.verify(request)
    [receipt] = provider.parse_receipts(request)
    assert receipt.status is DeliveryStatus.delivered
    assert receipt.provider_message_id == result.message_ids[0]
    assert receipt.reference == "notif-1"

    tampered = replace(request, body=request.body.replace(b"deli", b"DELI"))
    assert not provider.verify(tampered)


async def test_error_classes_over_the_wire(simulator: str, provider: HttpProvider) -> None:
    await _control(simulator, error_permanent=1)
    with pytest.raises(PermanentError):
        await provider.send(outgoing())

    await _control(simulator, error_permanent=0, error_429=1, retry_after=2)
    with pytest.raises(ThrottledError) as throttled:
        await provider.send(outgoing())
    assert throttled.value.retry_after == 2

    await _control(simulator, error_429=0, error_5xx=1)
    with pytest.raises(TemporaryError) as server_error:
        await provider.send(outgoing())
    assert server_error.value.code == "server_error"

    await _control(simulator, error_5xx=0, error_timeout=1, timeout_sleep_ms=2000)
    with pytest.raises(TemporaryError) as timeout:
        await provider.send(outgoing())
    assert timeout.value.code == "timeout"

    await _control(simulator, error_timeout=0, down_for_seconds=30)
    with pytest.raises(TemporaryError) as down:
        await provider.send(outgoing())
    assert down.value.code == "down"

    stats = await _stats(simulator)
    assert stats["accepted_total"] == 0
    assert stats["rejected"] == {"permanent": 1, "429": 1, "5xx": 1, "timeout": 1, "down": 1}


async def test_invalid_number_and_wrong_key_are_refused(
    simulator: str, provider: HttpProvider
) -> None:
    with pytest.raises(PermanentError) as invalid:
        await provider.send(outgoing(to="0612345678"))
    assert invalid.value.code == "invalid_destination"

    intruder = HttpProvider(provider.config, api_key="wrong", webhook_secret=SECRET)
    with pytest.raises(TemporaryError) as refused:  # account-level: fail over, not the person
        await intruder.send(outgoing())
    await intruder.aclose()
    assert refused.value.code == "unauthorized"


async def test_a_reference_is_sent_once_and_replayed_after(
    simulator: str, provider: HttpProvider
) -> None:
    first = await provider.send(outgoing(reference="twice"))
    again = await provider.send(outgoing(reference="twice"))
    assert again.message_ids == first.message_ids
    stats = await _stats(simulator)
    assert (stats["accepted"], stats["replayed"], stats["duplicates"]) == (
        {"twice": 1},
        {"twice": 1},
        {},
    )


async def test_without_idempotency_duplicates_are_reported_and_reset_clears_them(
    simulator: str, provider: HttpProvider
) -> None:
    await _control(simulator, idempotency_hours=0)
    try:
        first = await provider.send(outgoing(reference="twice"))
        again = await provider.send(outgoing(reference="twice"))
    finally:
        await _control(simulator, idempotency_hours=24)
    assert again.message_ids != first.message_ids
    assert (await _stats(simulator))["duplicates"] == {"twice": 2}
    async with httpx.AsyncClient() as client:
        counts = (await client.get(f"{simulator}/_counts")).json()
    assert {k: counts[k] for k in ("accepted_total", "references", "duplicated")} == {
        "accepted_total": 2,
        "references": 1,
        "duplicated": 1,
    }
    await _reset(simulator)
    assert (await _stats(simulator))["accepted"] == {}


async def test_every_message_is_accepted_exactly_once_despite_30_percent_failures(
    simulator: str, receiver: Receiver, provider: HttpProvider
) -> None:
    await _control(simulator, error_5xx=0.3, undelivered=0.25)
    gateway = SmsGateway([provider], failure_threshold=1000, rate_limits={"http": 200})
    references = [f"batch-{i}" for i in range(40)]

    async def deliver(reference: str) -> str:
        for _ in range(50):
            try:
                return (await gateway.send(outgoing(reference=reference))).message_ids[0]
            except TemporaryError:
                await asyncio.sleep(0.01)
        raise AssertionError(f"{reference} jamais accepté")

    ids = await asyncio.gather(*(deliver(ref) for ref in references))

    stats = await _stats(simulator)
    assert stats["accepted"] == dict.fromkeys(references, 1)
    assert stats["duplicates"] == {}
    assert stats["rejected"].get("5xx", 0) > 0

    parsed: list[Receipt] = []
    requests = 0
    while len(parsed) < len(references):  # batched: fewer requests than receipts
        request = _as_receipt_request(await receiver.next(), receiver.base)
        assert provider.verify(request)
        parsed.extend(provider.parse_receipts(request))
        requests += 1
    assert requests < len(references)
    assert sorted(r.provider_message_id or "" for r in parsed) == sorted(ids)
    statuses = {r.status for r in parsed}
    assert statuses <= {DeliveryStatus.delivered, DeliveryStatus.undelivered}
