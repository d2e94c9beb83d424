"""FastAPI dependencies for authentication and access: the edge of ``app.auth.access``.

Routes name what they need: ``CurrentAgent``, a scoped resource and ``Allowed(permission)`` (403
if the role may not). Scoped resources are each domain's (``app.persons.dependencies``:
``ScopedPerson`` loads the person and 404s if it belongs to another SPIP, through
``ensure_scope`` here). Declare the resource before the permission, so another SPIP's resource
answers 404 even for a forbidden action. Public routes declare ``PUBLIC`` instead; a test checks
every route declares one or the other.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import select

from app.audit import service as audit_service
from app.audit.service import ACCESS_DENIED, PERMISSION_DENIED, Actor, Denial, set_actor
from app.auth import access
from app.auth import service as auth_service
from app.auth.access import Permission
from app.auth.errors import Forbidden, Unauthenticated
from app.core import after_response
from app.core.errors import NotFound
from app.db import SessionDep, session_scope
from app.models import Agent, court_spip

log = logging.getLogger("convoc.access")
oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def current_agent(
    request: Request, session: SessionDep, token: Annotated[str | None, Depends(oauth2)]
) -> Agent:
    if not token:
        raise Unauthenticated()
    agent, token_row = await auth_service.resolve(session, token, request.app.state.settings)
    request.state.token_row = token_row
    if access.is_court_clerk(agent):
        # The SPIPs the clerk's court books for: their resources answer 403, not 404 (below).
        request.state.court_spip_ids = frozenset(
            await session.scalars(
                select(court_spip.c.spip_id).where(court_spip.c.court_id == agent.court_id)
            )
        )
    set_actor(session, Actor(agent.id, agent.spip_id, client_address(request)))
    return agent


CurrentAgent = Annotated[Agent, Depends(current_agent)]


def _actor(request: Request, agent: Agent) -> Actor:
    return Actor(agent.id, agent.spip_id, client_address(request))


def record_denial_later(request: Request, denial: Denial) -> None:
    """Put a refused attempt in the audit trail, in a transaction of its own.

    The request's own unit of work is rolled back by the error it answers with, so the row is
    written once the answer has been sent (``after_response``), within the trail's limits.
    """
    sessionmaker = request.app.state.sessionmaker

    async def write() -> None:
        async with session_scope(sessionmaker) as session:
            recorded = await audit_service.record_denial(session, denial)
        log.info(
            "access.denied action=%s agent_id=%s entity=%s entity_id=%s recorded=%s",
            denial.action,
            denial.actor.agent_id,
            denial.entity,
            denial.entity_id,
            recorded,
        )

    after_response.defer(request.scope, write)


def require(request: Request, agent: Agent, permission: Permission) -> None:
    """``access.require``, with the refusal kept in the audit trail."""
    try:
        access.require(agent, permission)
    except Forbidden:
        denial = Denial(
            PERMISSION_DENIED,
            _actor(request, agent),
            agent.spip_id,
            "permission",
            None,
            {"permission": permission.value},
        )
        record_denial_later(request, denial)
        raise


def ensure_scope(
    request: Request,
    agent: Agent,
    spip_id: int | None,
    error: type[NotFound],
    *,
    entity: str,
    entity_id: int,
) -> None:
    """``access.ensure_scope``, with the attempt on another SPIP's resource in the trail.

    The row goes to the target's SPIP (national administrators and the target SPIP's local
    administrators see it), not the agent's: its own administrators must not learn from their
    trail that the id exists elsewhere.
    """
    try:
        access.ensure_scope(agent, spip_id, error)
    except NotFound:
        changes = {"agent_spip_id": agent.spip_id}
        denial = Denial(ACCESS_DENIED, _actor(request, agent), spip_id, entity, entity_id, changes)
        record_denial_later(request, denial)
        if spip_id in getattr(request.state, "court_spip_ids", frozenset()):
            # A court clerk reaching a resource of a SPIP its court books for: a forbidden
            # action (403) like any other role's on its own SPIP; other SPIPs stay 404.
            raise Forbidden() from None
        raise


class Allowed:
    """Dependency: the current agent, if their role grants ``permission`` (else 403)."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    async def __call__(self, request: Request, agent: CurrentAgent) -> Agent:
        require(request, agent, self.permission)
        return agent


class Public:
    """Marker dependency for routes that carry their own authentication or none."""

    async def __call__(self) -> None:
        return None


PUBLIC = Depends(Public())
