"""Authentication: password logins with lock-out and rate limits, opaque tokens, activation.

Tokens are random, shown once, and stored as an HMAC of the token under the server secret: the
database alone never yields a usable token. Each has an idle timeout and an absolute lifetime.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import ColumnElement, Table, bindparam, case, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth import passwords
from app.auth.errors import InvalidActivationToken, TooManyAttempts, Unauthenticated
from app.config import Settings
from app.core import metrics
from app.core.clock import utcnow
from app.core.upsert import insert_for
from app.models import AccessToken, ActivationToken, Agent, LoginThrottle, Spip

log = logging.getLogger("convoc.auth")
# Last-use times are written at most this often, not on every request.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int  # seconds of idle time before it lapses


def _digest(token: str, settings: Settings, key: str | None = None) -> str:
    secret = key or settings.secret_key
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def _digests(token: str, settings: Settings) -> list[str]:
    """What a token is stored as under the current key, and under the previous one during a
    rotation (sessions and activation links issued before it keep working)."""
    return [_digest(token, settings, key) for key in settings.secret_keys]


async def _throttle(session: AsyncSession, client: str, settings: Settings, now: datetime) -> None:
    """Count this attempt against the client address, or refuse it (429, ``Retry-After``).

    Fixed windows of ``login_rate_window_minutes``: one row per address, counted atomically.
    """
    window = timedelta(minutes=settings.login_rate_window_minutes)
    table = cast(Table, LoginThrottle.__table__)
    insert = insert_for(session, table)
    expired = table.c.window_started_at <= now - window
    statement = (
        insert.values(client=client[:64], window_started_at=now, attempts=1)
        .on_conflict_do_update(
            index_elements=[table.c.client],
            set_={
                # Both expressions read the row as it was (SQL evaluates SET on the old row).
                "attempts": case((expired, 1), else_=table.c.attempts + 1),
                "window_started_at": case((expired, now), else_=table.c.window_started_at),
            },
        )
        .returning(table.c.attempts, table.c.window_started_at)
    )
    attempts, started = (await session.execute(statement)).one()
    if attempts > settings.login_rate_limit:
        # A parallel attempt that read the clock a moment later may have opened the window:
        # never more than a window to wait.
        left = math.ceil((started + window - now).total_seconds())
        metrics.LOGIN_FAILURES.labels("rate_limited").inc()
        raise TooManyAttempts(max(1, min(left, int(window.total_seconds()))))
    # Keep the table small: a row whose window ended a day ago limits nothing.
    await session.execute(delete(table).where(table.c.window_started_at < now - timedelta(days=1)))


async def login(
    session: AsyncSession, *, email: str, password: str, client: str, settings: Settings
) -> IssuedToken | None:
    """A token, or None for a refused login: the caller must then commit (the failure counts
    toward lock-out and rate limits) and answer with ``InvalidCredentials``.

    The attempt is counted and committed *before* the password is checked, and the check runs
    outside any transaction: parallel attempts cannot all pass the limit, and the Argon2 hash
    (tens of milliseconds) holds neither a lock nor a connection. What the check decides is then
    written by conditional updates that re-read the lock state, so a lock-out taken meanwhile
    by a parallel attempt wins over a right password.
    """
    now = utcnow()
    await _throttle(session, client, settings, now)
    agent = await session.scalar(select(Agent).where(Agent.email == email.strip().lower()))
    await session.commit()
    valid = await passwords.verify_password(agent.password_hash if agent else None, password)
    if agent is None:
        metrics.LOGIN_FAILURES.labels("invalid_credentials").inc()
        return None
    if not (valid and agent.active):
        await _count_failure(session, agent, settings, utcnow(), client)
        return None
    if not await _clear_failures(session, agent, utcnow()):  # locked, by now or before
        _refused_locked(session, agent, client)
        await session.flush()
        return None
    if passwords.needs_rehash(agent.password_hash or ""):
        agent.password_hash = await passwords.hash_password(password)
    issued = await issue_token(session, agent, settings)
    audit.record(session, "login", "agent", agent.id, agent=agent, client=client)
    await session.flush()
    return issued


def _unlocked(now: datetime) -> ColumnElement[bool]:
    return or_(Agent.locked_until.is_(None), Agent.locked_until <= now)


async def _clear_failures(session: AsyncSession, agent: Agent, now: datetime) -> bool:
    """Log the agent in now; False if the account is locked (or was deactivated) meanwhile."""
    cleared = await session.scalar(
        update(Agent)
        .where(Agent.id == agent.id, Agent.active.is_(True), _unlocked(now))
        .values(failed_logins=0, locked_until=None, last_login_at=now)
        .returning(Agent.id)
    )
    return cleared is not None


async def _count_failure(
    session: AsyncSession, agent: Agent, settings: Settings, now: datetime, client: str
) -> None:
    """One more failure, counted in the database (``failed_logins + 1``), locking the account
    at the limit; nothing counts while it is locked."""
    reached = Agent.failed_logins + 1 >= settings.login_max_failures
    lock_until = now + timedelta(minutes=settings.login_lockout_minutes)
    row = (
        await session.execute(
            update(Agent)
            .where(Agent.id == agent.id, _unlocked(now))
            .values(
                failed_logins=case((reached, 0), else_=Agent.failed_logins + 1),
                locked_until=case((reached, lock_until), else_=Agent.locked_until),
            )
            .returning(Agent.locked_until)
        )
    ).first()
    if row is None:
        _refused_locked(session, agent, client)
    else:
        metrics.LOGIN_FAILURES.labels("invalid_credentials").inc()
        audit.record(session, "login_failed", "agent", agent.id, agent=agent, client=client)
        if row.locked_until is not None:
            metrics.LOGIN_LOCKOUTS.inc()
            audit.record(session, "account_locked", "agent", agent.id, agent=agent, client=client)
            log.warning("auth.account_locked agent=%s", agent.id)
    await session.flush()


def _refused_locked(session: AsyncSession, agent: Agent, client: str) -> None:
    metrics.LOGIN_FAILURES.labels("locked").inc()
    audit.record(session, "login_refused_locked", "agent", agent.id, agent=agent, client=client)


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
    .where(AccessToken.token_hash.in_(bindparam("token_hashes", expanding=True)))
)


async def resolve(
    session: AsyncSession, token: str, settings: Settings
) -> tuple[Agent, AccessToken]:
    """The agent behind a bearer token, or 401 (unknown, revoked, idle or expired)."""
    now = utcnow()
    found = (
        await session.execute(_TOKEN_AND_AGENT, {"token_hashes": _digests(token, settings)})
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
        select(ActivationToken).where(ActivationToken.token_hash.in_(_digests(token, settings)))
    )
    if row is None or row.used_at is not None or now >= row.expires_at:
        raise InvalidActivationToken()
    agent = await session.get_one(Agent, row.agent_id)
    await _set_password(session, agent, password)
    agent.failed_logins, agent.locked_until = 0, None
    row.used_at = now
    await revoke_all(session, agent.id)
    audit.record(session, "activate", "agent", agent.id, agent=agent)
    await session.flush()
    return agent


async def set_password(session: AsyncSession, agent: Agent, password: str) -> None:
    """For the command line (first administrator)."""
    await _set_password(session, agent, password)
    await revoke_all(session, agent.id)
    await session.flush()


async def _set_password(session: AsyncSession, agent: Agent, password: str) -> None:
    spip = await session.get(Spip, agent.spip_id) if agent.spip_id is not None else None
    passwords.check_strength(
        password,
        user_inputs=[agent.email, agent.name, *((spip.name, spip.code) if spip else ())],
    )
    agent.password_hash = await passwords.hash_password(password)
