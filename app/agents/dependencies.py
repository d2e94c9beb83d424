"""The agent a route's path names, loaded and checked against the acting agent's SPIP."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.agents import service as agent_service
from app.agents.errors import AgentNotFound
from app.auth.dependencies import CurrentAgent, ensure_scope
from app.core.schemas import IdPath
from app.db import SessionDep
from app.models import Agent


async def scoped_agent(
    request: Request, agent_id: IdPath, agent: CurrentAgent, session: SessionDep
) -> Agent:
    target = await agent_service.get_agent(session, agent_id)
    ensure_scope(request, agent, target.spip_id, AgentNotFound, entity="agent", entity_id=target.id)
    return target


ScopedAgent = Annotated[Agent, Depends(scoped_agent)]
