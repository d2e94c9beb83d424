from __future__ import annotations

from fastapi import APIRouter, status

from app.agents import service
from app.agents.schemas import AgentCreate, AgentRead, AgentUpdate
from app.core.responses import error_responses
from app.core.schemas import IdPath, IdQuery
from app.db import SessionDep

router = APIRouter(tags=["Agents"])


@router.post(
    "/agents",
    response_model=AgentRead,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(404, 409, 422),
)
async def create_agent(data: AgentCreate, session: SessionDep) -> AgentRead:
    return AgentRead.model_validate(await service.create_agent(session, data=data))


@router.get("/agents", response_model=list[AgentRead])
async def list_agents(session: SessionDep, spip_id: IdQuery = None) -> list[AgentRead]:
    agents = await service.list_agents(session, spip_id=spip_id)
    return [AgentRead.model_validate(a) for a in agents]


@router.get("/agents/{agent_id}", response_model=AgentRead, responses=error_responses(404))
async def get_agent(agent_id: IdPath, session: SessionDep) -> AgentRead:
    return AgentRead.model_validate(await service.get_agent(session, agent_id))


@router.patch(
    "/agents/{agent_id}", response_model=AgentRead, responses=error_responses(404, 409, 422)
)
async def update_agent(agent_id: IdPath, data: AgentUpdate, session: SessionDep) -> AgentRead:
    agent = await service.get_agent(session, agent_id)
    return AgentRead.model_validate(await service.update_agent(session, agent=agent, data=data))
