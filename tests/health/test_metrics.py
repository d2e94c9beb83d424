"""GET /metrics through the application: the token, the labels, the database-read gauges.

The counters live in this test process's registry, shared by the tests it runs: assertions
compare a scrape before and after what the test does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.passwords import hash_now
from app.config import Settings
from app.core.clock import utcnow
from app.core.metrics_dir import HOST, MULTIPROC_ENV, prepare_multiprocess_dir
from app.db import create_engine, create_sessionmaker
from app.main import create_app
from app.models import Appointment, Notification
from tests.factories import make_agent, make_appointment, make_person, make_place, make_spip
from tests.health.scrape import TOKEN, Scrape

AUTH = {"Authorization": f"Bearer {TOKEN}"}
PASSWORD = "Quatre-chevaux-bleus-2027"

App = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def api(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> App:
    """A client of an application with ``CONVOC_METRICS_TOKEN`` set (``token=None``: unset)."""

    @asynccontextmanager
    async def make(
        token: str | None = TOKEN,
        cache_seconds: float = 0.0,
        database: async_sessionmaker[AsyncSession] | None = None,
        **overrides: Any,
    ) -> AsyncIterator[httpx.AsyncClient]:
        configured = settings.model_copy(
            update={
                "metrics_token": SecretStr(token) if token else None,
                "metrics_cache_seconds": cache_seconds,
                **overrides,
            }
        )
        app = create_app(configured)
        app.state.sessionmaker = database or sessionmaker
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client

    return make


async def scrape(client: httpx.AsyncClient) -> Scrape:
    answer = await client.get("/metrics", headers=AUTH)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return Scrape(answer.text)


async def test_metrics_do_not_exist_without_a_token_setting(api: App) -> None:
    async with api(token=None) as client:
        answer = await client.get("/metrics", headers=AUTH)
    assert answer.status_code == 404
    assert answer.json()["error"] == "not_found"


async def test_metrics_refuse_a_missing_or_wrong_bearer(api: App) -> None:
    async with api() as client:
        for headers in ({}, {"Authorization": "Bearer faux"}, {"Authorization": TOKEN}):
            answer = await client.get("/metrics", headers=headers)
            assert answer.status_code == 401
            assert answer.json() == {
                "error": "unauthorized",
                "detail": "Jeton de métriques absent ou invalide.",
            }
            assert answer.headers["www-authenticate"] == "Bearer"
        assert (await client.get("/metrics", headers=AUTH)).status_code == 200


def test_a_short_metrics_token_is_refused() -> None:
    with pytest.raises(ValueError, match="CONVOC_METRICS_TOKEN doit faire au moins 24"):
        Settings(env="test", secret_key="x" * 40, metrics_token="court")


async def test_requests_are_labelled_by_route_template_never_by_path(api: App) -> None:
    async with api() as client:
        before = await scrape(client)
        await client.get("/api/v1/persons/987654321")  # anonymous: 401
        await client.get("/api/v1/sms/receipts/brevo/un-jeton-secret-de-recu-0123456789")
        await client.get("/introuvable/123456789")
        await client.head("/api/v1/health")  # answered as GET by the request guard
        after = await scrape(client)

    def grew(route: str, status: str, method: str = "GET") -> float:
        labels = {"method": method, "route": route, "status": status}
        was = [
            v
            for n, have, v in before.samples
            if n == "convoc_http_requests_total" and have == labels
        ]
        return after.value("convoc_http_requests_total", **labels) - sum(was)

    assert grew("/api/v1/persons/{person_id}", "401") == 1
    assert grew("/api/v1/sms/receipts/{provider}/{token}", "404") == 1
    assert grew("unmatched", "404") == 1
    assert grew("/api/v1/health", "200", method="HEAD") == 1
    for secret in ("987654321", "un-jeton-secret", "123456789"):
        assert secret not in after.body
    assert "/api/v1/persons/{person_id}" in after.label_values(
        "convoc_http_request_duration_seconds_count", "route"
    )


async def _messages(session: AsyncSession) -> Appointment:
    """A convocation in three days and, for it: two reminders due 5 and 1 minute ago, one due
    tomorrow, a summons sent, a reminder expired."""
    spip = await make_spip(session)
    person = await make_person(session, spip, phone="+33698765432")
    appointment = await make_appointment(
        session, person, await make_place(session, spip), starts_at=utcnow() + timedelta(days=3)
    )
    now = utcnow()
    rows = [
        ("reminder", 1, "planned", now - timedelta(minutes=5)),
        ("reminder", 2, "planned", now - timedelta(minutes=1)),
        ("reminder", 3, "planned", now + timedelta(days=1)),
        ("summons", 1, "sent", now - timedelta(days=1)),
        ("reminder", 4, "expired", now - timedelta(days=1)),
    ]
    for kind, sequence, status, send_at in rows:
        session.add(
            Notification(
                appointment_id=appointment.id,
                spip_id=spip.id,
                kind=kind,
                sequence=sequence,
                idempotency_key=f"{appointment.id}:{kind}:{sequence}",
                status=status,
                planned_at=send_at,
                send_at=send_at,
                send_not_after=appointment.starts_at,
                attempts=0,
            )
        )
    await session.commit()
    return appointment


async def test_queue_gauges_read_the_database(api: App, session: AsyncSession) -> None:
    async with api() as client:
        before = await scrape(client)
        await _messages(session)
        after = await scrape(client)

    def grew(name: str, **labels: str) -> float:
        was = [
            v
            for n, have, v in before.samples
            if n == name and all(have.get(k) == w for k, w in labels.items())
        ]
        return after.value(name, **labels) - sum(was)

    assert grew("convoc_messages", kind="reminder", status="planned") == 3
    assert grew("convoc_messages", kind="summons", status="sent") == 1
    assert grew("convoc_messages", kind="reminder", status="expired") == 1
    assert grew("convoc_messages_due", kind="reminder") == 2  # not the one due tomorrow
    assert after.value("convoc_messages_oldest_due_lateness_seconds") == 300  # the clock is frozen
    assert after.value("convoc_metrics_database_up") == 1
    assert "98765432" not in after.body


async def test_queue_gauges_are_read_once_per_cache_period(api: App, session: AsyncSession) -> None:
    async with api(cache_seconds=300) as client:
        first = await scrape(client)
        await _messages(session)
        second = await scrape(client)  # within the period: what the first scrape read
    assert second.value("convoc_messages_oldest_due_lateness_seconds") == first.value(
        "convoc_messages_oldest_due_lateness_seconds"
    )
    assert second.value("convoc_messages_due", kind="reminder") == first.value(
        "convoc_messages_due", kind="reminder"
    )
    async with api(cache_seconds=0) as client:  # another process, no cache: it sees them
        fresh = await scrape(client)
    assert (
        fresh.value("convoc_messages_due", kind="reminder")
        == first.value("convoc_messages_due", kind="reminder") + 2
    )


async def test_an_unreachable_database_still_answers_with_database_up_zero(
    api: App, settings: Settings, tmp_path: Path
) -> None:
    missing = f"sqlite+aiosqlite:///{tmp_path / 'absent' / 'convoc.db'}"
    engine = create_engine(settings, missing)
    try:
        async with api(database=create_sessionmaker(engine)) as client:
            scraped = await scrape(client)
    finally:
        await engine.dispose()
    assert scraped.value("convoc_metrics_database_up") == 0
    assert "convoc_messages" not in {n for n, _, _ in scraped.samples}
    assert "convoc_dispatcher_claimed_total" in scraped.names  # the processes' metrics still come


async def test_login_failures_and_lockouts_are_counted(api: App, session: AsyncSession) -> None:
    spip = await make_spip(session)
    await make_agent(session, spip, email="dominique@justice.fr", password_hash=hash_now(PASSWORD))
    await session.commit()
    async with api(login_rate_limit=1000) as client:
        before = await scrape(client)
        for _ in range(10):  # the tenth locks the account
            await client.post(
                "/api/v1/auth/token",
                data={"username": "dominique@justice.fr", "password": "mauvais"},
            )
        await client.post(
            "/api/v1/auth/token", data={"username": "dominique@justice.fr", "password": PASSWORD}
        )
        await client.post(
            "/api/v1/auth/token", data={"username": "personne@justice.fr", "password": "x"}
        )
        after = await scrape(client)

    def grew(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    assert grew("convoc_login_failures_total", reason="invalid_credentials") == 11
    assert grew("convoc_login_failures_total", reason="locked") == 1
    assert grew("convoc_login_lockouts_total") == 1
    assert "dominique" not in after.body and "justice.fr" not in after.body


def test_a_shared_directory_loses_only_the_files_of_dead_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                           capture_output=True, text=True)  # fmt: skip
    dead = int(ended.stdout)
    folder = tmp_path / "metrics"
    folder.mkdir()
    mine = [
        folder / f"counter_{HOST}-{os.getpid()}.db",
        folder / f"gauge_livemax_{HOST}-{os.getpid()}.db",
    ]
    elsewhere = [folder / f"counter_{HOST}x-{dead}.db"]  # another host's: its own to judge
    gone = [folder / f"counter_{HOST}-{dead}.db", folder / f"histogram_{HOST}-{dead}.db"]
    for path in mine + elsewhere + gone:
        path.write_bytes(b"")
    monkeypatch.setenv(MULTIPROC_ENV, str(folder))
    assert prepare_multiprocess_dir(create=True) is None  # the operator's: never removed
    assert sorted(folder.iterdir()) == sorted(mine + elsewhere)


def test_serve_creates_a_directory_of_its_own_when_none_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(MULTIPROC_ENV, "")  # so that the test's own setting is undone after it
    monkeypatch.delenv(MULTIPROC_ENV)
    assert prepare_multiprocess_dir(create=False) is None
    assert MULTIPROC_ENV not in os.environ
    created = prepare_multiprocess_dir(create=True)
    try:
        assert created is not None and created.is_dir()
        assert os.environ[MULTIPROC_ENV] == str(created)
    finally:
        if created is not None:
            created.rmdir()
