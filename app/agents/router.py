from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from app.agents import service
from app.agents.dependencies import ScopedAgent
from app.agents.schemas import ActivationTokenRead, AgentCreate, AgentCreated, AgentUpdate
from app.auth import access
from app.auth import service as auth_service
from app.auth.access import Permission as P
from app.auth.dependencies import Allowed
from app.auth.schemas import AgentRead
from app.core.responses import error_responses
from app.core.schemas import IdQuery
from app.db import SessionDep
from app.models import Agent, Role
from app.spips.errors import SpipNotFound

router = APIRouter(tags=["Agents"])
AUTH = error_responses(401, 403)


@router.post(
    "/agents",
    response_model=AgentCreated,
    status_code=status.HTTP_201_CREATED,
    responses=AUTH | error_responses(404, 409, 422),
)
async def create_agent(
    request: Request,
    data: AgentCreate,
    session: SessionDep,
    actor: Annotated[Agent, Depends(Allowed(P.agent_write))],
) -> AgentCreated:
    """Create an account; the answer carries its one-time activation token (shown once)."""
    service.check_role_grant(actor, data.role)
    if data.spip_id is not None:
        access.ensure_scope(actor, data.spip_id, SpipNotFound)
    agent = await service.create_agent(session, data=data)
    token = await auth_service.issue_activation(session, agent, request.app.state.settings)
    return AgentCreated.model_validate(
        AgentRead.model_validate(agent).model_dump() | {"activation_token": token}
    )


@router.get("/agents", response_model=list[AgentRead], responses=AUTH | error_responses(404))
async def list_agents(
    session: SessionDep,
    actor: Annotated[Agent, Depends(Allowed(P.agent_read))],
    spip_id: IdQuery = None,
) -> list[AgentRead]:
    scope = access.list_scope(actor, spip_id, SpipNotFound)
    agents = await service.list_agents(session, spip_id=scope)
    return [AgentRead.model_validate(a) for a in agents]


@router.get("/agents/{agent_id}", response_model=AgentRead, responses=AUTH | error_responses(404))
async def get_agent(
    agent: ScopedAgent, _: Annotated[Agent, Depends(Allowed(P.agent_read))]
) -> AgentRead:
    return AgentRead.model_validate(agent)


@router.patch(
    "/agents/{agent_id}",
    response_model=AgentRead,
    responses=AUTH | error_responses(404, 409, 422),
)
async def update_agent(
    agent: ScopedAgent,
    actor: Annotated[Agent, Depends(Allowed(P.agent_write))],
    data: AgentUpdate,
    session: SessionDep,
) -> AgentRead:
    if data.role is not None or agent.role == Role.admin.value:
        service.check_role_grant(actor, Role.admin if agent.role == Role.admin.value else data.role)
    updated = await service.update_agent(session, agent=agent, data=data)
    if data.active is False:
        await auth_service.revoke_all(session, agent.id)
    return AgentRead.model_validate(updated)


@router.post(
    "/agents/{agent_id}/activation-token",
    response_model=ActivationTokenRead,
    status_code=status.HTTP_201_CREATED,
    responses=AUTH | error_responses(404),
)
async def new_activation_token(
    request: Request,
    agent: ScopedAgent,
    actor: Annotated[Agent, Depends(Allowed(P.agent_write))],
    session: SessionDep,
) -> ActivationTokenRead:
    """A new one-time token, e.g. when the first one expired or the agent forgot the password."""
    service.check_role_grant(actor, agent.role)
    token = await auth_service.issue_activation(session, agent, request.app.state.settings)
    return ActivationTokenRead(agent_id=agent.id, activation_token=token)
