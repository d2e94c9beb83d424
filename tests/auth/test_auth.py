"""Logging in, tokens, lock-out, rate limits, activation and password rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.passwords import hash_now
from app.config import Settings
from app.main import create_app
from app.models import Agent, AuditEvent
from tests.conftest import FrozenClock
from tests.factories import make_agent, make_spip

PASSWORD = "Quatre-chevaux-bleus-2027"


@pytest.fixture
def real_settings(settings: Settings) -> Settings:
    """The production limits (the shared test settings stretch token lifetimes)."""
    return Settings(
        env="test",
        database_url=settings.database_url,
        secret_key=settings.secret_key,
        login_rate_limit=15,
    )


@pytest.fixture
async def api(
    real_settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(real_settings)
    app.state.sessionmaker = sessionmaker
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as client:
        yield client


@pytest.fixture
async def cpip(session: AsyncSession) -> Agent:
    spip = await make_spip(session)
    agent = await make_agent(
        session, spip, email="camille@justice.fr", password_hash=hash_now(PASSWORD)
    )
    await session.commit()
    return agent


async def login(api: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await api.post("/auth/token", data={"username": email, "password": password})


def bearer(response: httpx.Response) -> dict[str, str]:
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_login_me_and_logout(api: httpx.AsyncClient, cpip: Agent) -> None:
    response = await login(api, "Camille@Justice.fr", PASSWORD)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    me = await api.get("/auth/me", headers=bearer(response))
    assert me.json()["id"] == cpip.id
    assert (await api.post("/auth/logout", headers=bearer(response))).status_code == 204
    revoked = await api.get("/auth/me", headers=bearer(response))
    assert revoked.status_code == 401
    assert revoked.headers["www-authenticate"] == "Bearer"
    assert revoked.json()["error"] == "unauthenticated"


async def test_errors_never_say_whether_the_email_exists(
    api: httpx.AsyncClient, cpip: Agent
) -> None:
    wrong_password = await login(api, "camille@justice.fr", "pas le bon mot de passe")
    unknown_email = await login(api, "personne@justice.fr", PASSWORD)
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json() == unknown_email.json()


async def test_ten_failures_lock_the_account(
    api: httpx.AsyncClient, cpip: Agent, session: AsyncSession, clock: FrozenClock
) -> None:
    for _ in range(10):
        assert (await login(api, "camille@justice.fr", "mauvais-mot-de-passe")).status_code == 401
    locked = await login(api, "camille@justice.fr", PASSWORD)
    assert locked.status_code == 401  # even the right password, and the same message
    actions = list(
        await session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.entity_id == cpip.id, AuditEvent.entity == "agent"
            )
        )
    )
    assert actions.count("login_failed") == 10
    assert "account_locked" in actions and "login_refused_locked" in actions
    clock.set(clock.now + timedelta(minutes=16))
    assert (await login(api, "camille@justice.fr", PASSWORD)).status_code == 200


async def test_attempts_per_address_are_rate_limited(api: httpx.AsyncClient, cpip: Agent) -> None:
    for i in range(15):
        await login(api, f"inconnu{i}@justice.fr", "x" * 12)
    limited = await login(api, "camille@justice.fr", PASSWORD)
    assert limited.status_code == 429
    assert limited.json()["error"] == "too_many_attempts"


async def test_token_idle_timeout_and_absolute_lifetime(
    api: httpx.AsyncClient, cpip: Agent, clock: FrozenClock
) -> None:
    headers = bearer(await login(api, "camille@justice.fr", PASSWORD))
    start = clock.now
    for minutes in (50, 100, 150):  # used every 50 minutes: stays alive
        clock.set(start + timedelta(minutes=minutes))
        assert (await api.get("/auth/me", headers=headers)).status_code == 200
    clock.set(start + timedelta(minutes=211))  # 61 idle minutes
    assert (await api.get("/auth/me", headers=headers)).status_code == 401
    headers = bearer(await login(api, "camille@justice.fr", PASSWORD))
    start = clock.now
    for step in range(1, 15):  # active every 50 minutes, up to 11 h 40
        clock.set(start + timedelta(minutes=50 * step))
        assert (await api.get("/auth/me", headers=headers)).status_code == 200
    clock.set(start + timedelta(hours=12))  # only 20 minutes idle, but 12 hours old
    assert (await api.get("/auth/me", headers=headers)).status_code == 401


async def test_no_token_or_garbage_token(api: httpx.AsyncClient) -> None:
    assert (await api.get("/persons")).status_code == 401
    assert (await api.get("/persons", headers={"Authorization": "Bearer nope"})).status_code == 401
    assert (await api.get("/health")).status_code == 200


async def test_activation_flow(
    client: httpx.AsyncClient, api: httpx.AsyncClient, session: AsyncSession
) -> None:
    spip = await make_spip(session)
    await session.commit()
    created = await client.post(
        "/agents",
        json={"spip_id": spip.id, "name": "Léa Martin", "email": "lea@justice.fr", "role": "cpip"},
    )
    assert created.status_code == 201, created.text
    token = created.json()["activation_token"]
    assert (await login(api, "lea@justice.fr", PASSWORD)).status_code == 401  # no password yet
    weak: dict[str, Any] = {"token": token, "password": "motdepasse123"}
    response = await api.post("/auth/activate", json=weak)
    assert response.status_code == 422 and response.json()["error"] == "weak_password"
    short = await api.post("/auth/activate", json={"token": token, "password": "Court-1"})
    assert short.json()["error"] == "weak_password"
    activated = await api.post("/auth/activate", json={"token": token, "password": PASSWORD})
    assert activated.status_code == 200, activated.text
    assert (await login(api, "lea@justice.fr", PASSWORD)).status_code == 200
    reused = await api.post("/auth/activate", json={"token": token, "password": PASSWORD + "x"})
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_activation_token"


async def test_activation_token_expires(
    client: httpx.AsyncClient, api: httpx.AsyncClient, session: AsyncSession, clock: FrozenClock
) -> None:
    spip = await make_spip(session)
    await session.commit()
    created = await client.post(
        "/agents",
        json={"spip_id": spip.id, "name": "Jo", "email": "jo@justice.fr", "role": "secretariat"},
    )
    clock.set(clock.now + timedelta(hours=73))
    late = await api.post(
        "/auth/activate", json={"token": created.json()["activation_token"], "password": PASSWORD}
    )
    assert late.status_code == 400


async def test_deactivated_agent_loses_its_sessions(
    client: httpx.AsyncClient, api: httpx.AsyncClient, cpip: Agent
) -> None:
    headers = bearer(await login(api, "camille@justice.fr", PASSWORD))
    await client.patch(f"/agents/{cpip.id}", json={"active": False})
    assert (await api.get("/auth/me", headers=headers)).status_code == 401
    assert (await login(api, "camille@justice.fr", PASSWORD)).status_code == 401


async def test_only_national_admins_make_admins(client_for: Any, session: AsyncSession) -> None:
    spip = await make_spip(session)
    local_admin = await make_agent(session, spip, role="local_admin")
    await session.commit()
    async with client_for(local_admin) as client:
        response = await client.post(
            "/agents",
            json={"spip_id": spip.id, "name": "X", "email": "x@justice.fr", "role": "admin"},
        )
        assert response.status_code == 403
        ok = await client.post(
            "/agents",
            json={"spip_id": spip.id, "name": "Y", "email": "y@justice.fr", "role": "cpip"},
        )
        assert ok.status_code == 201
        promote = await client.patch(f"/agents/{ok.json()['id']}", json={"role": "admin"})
        assert promote.status_code == 403
    national = await client_for_admin_create(client_for, session)
    assert national.status_code == 201 and national.json()["spip_id"] is None


async def client_for_admin_create(client_for: Any, session: AsyncSession) -> httpx.Response:
    admin = await make_agent(session, None)
    await session.commit()
    async with client_for(admin) as client:
        return await client.post(
            "/agents", json={"name": "Z", "email": "z@justice.fr", "role": "admin"}
        )
