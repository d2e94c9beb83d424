"""Authentication: password logins with lock-out and rate limits, opaque tokens, activation.

Tokens are random, shown once, and stored as an HMAC of the token under the server secret: the
database alone never yields a usable token. Each has an idle timeout and an absolute lifetime.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents import passwords
from app.agents.errors import InvalidActivationToken, TooManyAttempts, Unauthenticated
from app.audit import service as audit
from app.config import Settings
from app.core.clock import utcnow
from app.models import AccessToken, ActivationToken, Agent, LoginAttempt

log = logging.getLogger("convoc.auth")
# Last-use times are written at most this often, not on every request.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int  # seconds of idle time before it lapses


def _digest(token: str, settings: Settings) -> str:
    return hmac.new(settings.secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


async def _rate_limit(
    session: AsyncSession, client: str, settings: Settings, now: datetime
) -> None:
    since = now - timedelta(minutes=settings.login_rate_window_minutes)
    recent = await session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.client == client, LoginAttempt.attempted_at >= since)
    )
    if (recent or 0) >= settings.login_rate_limit:
        raise TooManyAttempts()
    # Keep the table small: attempts older than a day serve no limit.
    await session.execute(
        delete(LoginAttempt).where(LoginAttempt.attempted_at < now - timedelta(days=1))
    )


async def login(
    session: AsyncSession, *, email: str, password: str, client: str, settings: Settings
) -> IssuedToken | None:
    """A token, or None for a refused login: the caller must then commit (the failure counts
    toward lock-out and rate limits) and answer with ``InvalidCredentials``."""
    now = utcnow()
    await _rate_limit(session, client, settings, now)
    agent = await session.scalar(select(Agent).where(Agent.email == email.strip().lower()))
    locked = agent is not None and agent.locked_until is not None and agent.locked_until > now
    valid = passwords.verify_password(agent.password_hash if agent else None, password)
    ok = agent is not None and agent.active and valid and not locked
    session.add(LoginAttempt(client=client[:64], attempted_at=now, succeeded=ok))
    if not ok or agent is None:
        if agent is not None and not locked:
            await _count_failure(session, agent, settings, now, client)
        elif agent is not None:
            audit.record(
                session, "login_refused_locked", "agent", agent.id, agent=agent, client=client
            )
        await session.flush()
        return None
    agent.failed_logins, agent.locked_until, agent.last_login_at = 0, None, now
    if passwords.needs_rehash(agent.password_hash or ""):
        agent.password_hash = passwords.hash_password(password)
    issued = await issue_token(session, agent, settings)
    audit.record(session, "login", "agent", agent.id, agent=agent, client=client)
    await session.flush()
    return issued


async def _count_failure(
    session: AsyncSession, agent: Agent, settings: Settings, now: datetime, client: str
) -> None:
    agent.failed_logins += 1
    audit.record(session, "login_failed", "agent", agent.id, agent=agent, client=client)
    if agent.failed_logins >= settings.login_max_failures:
        agent.locked_until = now + timedelta(minutes=settings.login_lockout_minutes)
        agent.failed_logins = 0
        audit.record(session, "account_locked", "agent", agent.id, agent=agent, client=client)
        log.warning("auth.account_locked agent=%s", agent.id)


async def issue_token(session: AsyncSession, agent: Agent, settings: Settings) -> IssuedToken:
    now = utcnow()
    token = secrets.token_urlsafe(32)
    session.add(
        AccessToken(
            agent_id=agent.id,
            token_hash=_digest(token, settings),
            created_at=now,
            last_used_at=now,
            expires_at=now + timedelta(hours=settings.token_lifetime_hours),
        )
    )
    await session.flush()
    return IssuedToken(token, settings.token_idle_minutes * 60)


# Token and agent in one query, built once (its cache key with it): this runs on every
# authenticated request.
_TOKEN_AND_AGENT = (
    select(AccessToken, Agent)
    .join(Agent, Agent.id == AccessToken.agent_id)
    .where(AccessToken.token_hash == bindparam("token_hash"))
)


async def resolve(
    session: AsyncSession, token: str, settings: Settings
) -> tuple[Agent, AccessToken]:
    """The agent behind a bearer token, or 401 (unknown, revoked, idle or expired)."""
    now = utcnow()
    found = (
        await session.execute(_TOKEN_AND_AGENT, {"token_hash": _digest(token, settings)})
    ).first()
    if found is None:
        raise Unauthenticated()
    row, agent = found
    if (
        row.revoked_at is not None
        or now >= row.expires_at
        or now >= row.last_used_at + timedelta(minutes=settings.token_idle_minutes)
        or not agent.active
    ):
        raise Unauthenticated()
    if now - row.last_used_at >= TOUCH_EVERY:
        row.last_used_at = now
    return agent, row


async def logout(session: AsyncSession, token_row: AccessToken, agent: Agent) -> None:
    token_row.revoked_at = utcnow()
    audit.record(session, "logout", "agent", agent.id, agent=agent)
    await session.flush()


async def revoke_all(session: AsyncSession, agent_id: int) -> None:
    """Deactivating an agent or changing their password ends their sessions."""
    now = utcnow()
    rows = await session.scalars(
        select(AccessToken).where(
            AccessToken.agent_id == agent_id, AccessToken.revoked_at.is_(None)
        )
    )
    for row in rows:
        row.revoked_at = now


async def issue_activation(session: AsyncSession, agent: Agent, settings: Settings) -> str:
    now = utcnow()
    token = secrets.token_urlsafe(32)
    session.add(
        ActivationToken(
            agent_id=agent.id,
            token_hash=_digest(token, settings),
            created_at=now,
            expires_at=now + timedelta(hours=settings.activation_token_hours),
        )
    )
    await session.flush()
    return token


async def activate(
    session: AsyncSession, *, token: str, password: str, settings: Settings
) -> Agent:
    now = utcnow()
    row = await session.scalar(
        select(ActivationToken).where(ActivationToken.token_hash == _digest(token, settings))
    )
    if row is None or row.used_at is not None or now >= row.expires_at:
        raise InvalidActivationToken()
    agent = await session.get_one(Agent, row.agent_id)
    passwords.check_strength(password, user_inputs=[agent.email, agent.name])
    agent.password_hash = passwords.hash_password(password)
    agent.failed_logins, agent.locked_until = 0, None
    row.used_at = now
    await revoke_all(session, agent.id)
    audit.record(session, "activate", "agent", agent.id, agent=agent)
    await session.flush()
    return agent


async def set_password(session: AsyncSession, agent: Agent, password: str) -> None:
    """For the command line (first administrator)."""
    passwords.check_strength(password, user_inputs=[agent.email, agent.name])
    agent.password_hash = passwords.hash_password(password)
    await revoke_all(session, agent.id)
    await session.flush()
