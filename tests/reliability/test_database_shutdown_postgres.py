"""A request while PostgreSQL shuts down answers 503 ``service_unavailable``, not 500.

A "smart" shutdown waits for the open sessions to end and meanwhile refuses new ones with
``CannotConnectNowError`` (SQLSTATE 57P03, "the database system is shutting down"): exactly
what a request sees during a maintenance restart. One session is held open on a private
cluster so the shutdown stays in that state while the API tries to connect.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg
import httpx
import pytest

from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.main import create_app
from app.sms.config import SmsSettings
from app.sms.gateway import SmsGateway
from tests.reliability.cluster import PrivateCluster

pytestmark = pytest.mark.postgres_only

TOKEN = "tok_" + "d" * 40


async def wait_refusing_connections(url: str, limit: float = 20.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            conn = await asyncpg.connect(url, timeout=2)
        except asyncpg.exceptions.CannotConnectNowError:
            return
        await conn.close()
        await asyncio.sleep(0.05)
    raise AssertionError("the cluster never refused a connection")


async def test_a_request_during_a_postgres_shutdown_is_a_503(
    private_cluster: PrivateCluster,
) -> None:
    url = await private_cluster.create_database("convoc_shutdown")
    settings = Settings(env="test", database_url=url, secret_key="s" * 40)
    engine = create_engine(settings)
    app = create_app(settings)
    app.state.sessionmaker = create_sessionmaker(engine)
    app.state.sms_gateway = gateway = SmsGateway.from_settings(
        SmsSettings(
            _env_file=None,
            providers=("brevo",),
            brevo_api_key="xkeysib-123",
            public_base_url="https://convoc.example",
            receipt_token=TOKEN,
        )
    )
    held = await asyncpg.connect(url, timeout=10)  # keeps the smart shutdown waiting
    stopping = asyncio.create_task(asyncio.to_thread(private_cluster.stop, "smart"))
    try:
        await wait_refusing_connections(url)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.post(
                f"/api/v1/sms/receipts/brevo/{TOKEN}",
                json={"messageId": "b-1", "msg_status": "delivered"},
            )
        assert response.status_code == 503, response.text
        assert response.json() == {
            "error": "service_unavailable",
            "detail": "La base de données est momentanément indisponible.",
        }
    finally:
        await held.close()
        await stopping
        await engine.dispose()
        await gateway.aclose()
