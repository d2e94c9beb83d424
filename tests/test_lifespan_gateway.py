"""The API process holds one SMS gateway: built at start-up from the SMS settings it is given,
kept on ``app.state``, shared by the receipts route and the embedded dispatcher, closed at
shutdown."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

import app.main as main
from app.cli import run_migrations
from app.config import Settings
from app.sms.config import SmsSettings
from app.sms.gateway import SmsGateway
from tests.conftest import ClientFactory
from tests.sms.conftest import receipt_settings


class RecordingScheduler:
    """Stands for the embedded dispatcher: remembers its sender, never ticks."""

    instances: ClassVar[list[RecordingScheduler]] = []

    def __init__(self, sessionmaker: Any, sender: Any, config: Any, interval: float) -> None:
        self.sender = sender
        self.running = False
        RecordingScheduler.instances.append(self)

    def start(self) -> None:
        self.running = True

    async def stop(self) -> None:
        self.running = False


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[SmsGateway]:
    """Every gateway the application builds."""
    gateways: list[SmsGateway] = []
    real = main.build_sender

    def counting(settings: Settings, sms: SmsSettings) -> SmsGateway:
        gateways.append(real(settings, sms))
        return gateways[-1]

    monkeypatch.setattr(main, "build_sender", counting)
    monkeypatch.setattr(main, "DispatchScheduler", RecordingScheduler)
    monkeypatch.setattr(main, "freeze_startup_objects", lambda: None)
    RecordingScheduler.instances.clear()
    return gateways


async def test_the_receipts_route_and_the_embedded_dispatcher_share_one_gateway(
    built: list[SmsGateway], tmp_path: Path
) -> None:
    settings = Settings(
        env="test",
        secret_key="g" * 40,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'convoc.db'}",
        worker_embedded=True,
    )
    # Migrated: until it is, the API answers 503 and the dispatcher waits (app.core.schema).
    await asyncio.to_thread(run_migrations, settings.database_url)
    app = main.create_app(settings, receipt_settings())
    assert app.state.sms_gateway is None  # not before start-up
    async with app.router.lifespan_context(app):
        [gateway] = built
        assert app.state.sms_gateway is gateway
        assert gateway.provider_names == ("http", "twilio")  # the settings given, not the env
        [scheduler] = RecordingScheduler.instances
        for _ in range(100):  # started by a task, once the schema is read as current
            if scheduler.running:
                break
            await asyncio.sleep(0.05)
        assert scheduler.sender is gateway and scheduler.running
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as api:
            # http is configured (from the settings given): an unsigned receipt is refused
            # as not authentic, not as an unknown provider.
            refused = await api.post("/sms/receipts/http", json={})
            assert refused.status_code == 401
            assert (await api.post("/sms/receipts/brevo", json={})).status_code == 404
        assert len(built) == 1  # the route built none of its own
    assert not scheduler.running
    assert app.state.sms_gateway is None


async def test_a_gateway_installed_by_a_test_is_kept_and_left_open(
    built: list[SmsGateway],
) -> None:
    app = main.create_app(Settings(env="test", secret_key="g" * 40), SmsSettings(_env_file=None))
    app.state.sms_gateway = installed = SmsGateway.from_settings(receipt_settings())
    app.state.sessionmaker = object()  # as the test fixtures do: no engine, no dispatcher
    async with app.router.lifespan_context(app):
        assert app.state.sms_gateway is installed
    assert built == [] and app.state.sms_gateway is installed
    await installed.aclose()


async def test_without_start_up_no_provider_receives_receipts(client_for: ClientFactory) -> None:
    """An application whose lifespan never ran (the suite's clients) has no gateway: every
    provider is unknown to it, as on a server configured with none."""
    async with client_for(None) as api:
        answer = await api.post("/sms/receipts/http", json={})
    assert (answer.status_code, answer.json()["error"]) == (404, "unknown_provider")
