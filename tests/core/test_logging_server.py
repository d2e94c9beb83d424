"""The receipts token never reaches a real server's output (uvicorn's access and error lines
and ours), whatever request line a client sends: raw bytes over a socket, no client library
to tidy the path up. The database is migrated, then loses the table receipts are written to,
so a receipt that passes its token check fails on the database and writes our
``db.unavailable`` line with its path (an unmigrated one would be refused earlier, by the
schema gate, without reaching the route).
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from app.cli import run_migrations
from tests.core.test_logging import TOKEN, assert_no_token
from tests.reminders.processes import free_port, start_api, stop, wait_http

REQUEST_LINES = [
    f"POST /api/v1/sms/receipts/brevo/{TOKEN}",
    f"POST /api/v1/sms/receipts/brevo/{TOKEN}?token={TOKEN}",
    f"GET /api/v1/sms/receipts/brevo/{TOKEN}/",
    f"GET /api/v1/sms/receipts/brevo//{TOKEN}",
    f"GET /api/v1//sms/receipts/brevo/{TOKEN}",
    f"HEAD /API/V1/SMS/RECEIPTS/BREVO/{TOKEN}",
    f"PROPFIND /api/v1/sms/receipts/brevo/{TOKEN}",
    f"DELETE /api/v1/sms/receipts/brevo/{TOKEN}",
    f"GET /api/v1/sms/receipts/brevo/{TOKEN[:9]}%2F{TOKEN[9:]}",
    f"GET /api/v1/sms%2Freceipts/brevo/{TOKEN}",
    f"GET /api/v1/%73ms/receipts/%62revo/{TOKEN}",
    f"GET /api/v1/sms/receipts/{TOKEN}",
    f"GET http://127.0.0.1/api/v1/sms/receipts/brevo/{TOKEN}",  # absolute form
]
BROKEN_REQUESTS = [
    # Not HTTP uvicorn can parse: "Invalid HTTP request received."
    f"GET /api/v1/sms/receipts/brevo/{TOKEN} HTTP/1.1\r\nNo colon here\r\n\r\n".encode(),
    f"GET /api/v1/sms/receipts/brevo/{TOKEN}\x01 HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
    f"GET /api/v1/sms/receipts/brevo/{TOKEN}é HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
]


async def send_raw(port: int, raw: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()


def request(line: str) -> bytes:
    body = b'{"messageId": "b-1", "msg_status": "delivered"}'
    return (
        f"{line} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body


async def test_a_real_server_never_writes_the_receipt_token(tmp_path: Path) -> None:
    port = free_port()
    log_path = tmp_path / "api.log"
    database = tmp_path / "broken.db"
    await asyncio.to_thread(run_migrations, f"sqlite:///{database}")
    with sqlite3.connect(database) as connection:
        connection.execute("DROP TABLE pending_receipt")
    api = start_api(
        f"sqlite:///{database}",
        port,
        log_path,
        CONVOC_SMS_PROVIDERS="brevo",
        CONVOC_SMS_BREVO_API_KEY="xkeysib-123",
        CONVOC_SMS_PUBLIC_BASE_URL="https://convoc.example",
        CONVOC_SMS_RECEIPT_TOKEN=TOKEN,
    )
    try:
        await wait_http(f"http://127.0.0.1:{port}/health", api)
        answers = [await send_raw(port, request(line)) for line in REQUEST_LINES]
        answers += [await send_raw(port, raw) for raw in BROKEN_REQUESTS]
    finally:
        stop(api)
    output = log_path.read_text(errors="replace")
    assert answers[0].startswith(b"HTTP/1.1 503"), answers[0]  # the token was accepted
    assert "db.unavailable path=/api/v1/sms/receipts/brevo/***" in output
    assert output.count("/sms/receipts/") >= len(REQUEST_LINES)  # every request was logged
    assert "Invalid HTTP request received." in output
    assert_no_token(output)
