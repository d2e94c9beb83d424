"""Agents of a SPIP (CPIP, secretariat, managers, administrators)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.errors import AgentNotFound, AgentNotInSpip, EmailTaken, SpipRequired
from app.agents.schemas import AgentCreate, AgentUpdate
from app.core.repository import apply_changes, get_or_raise
from app.models import Agent, Role
from app.spips import service as spip_service


async def get_agent(session: AsyncSession, agent_id: int) -> Agent:
    return await get_or_raise(session, Agent, agent_id, AgentNotFound)


async def list_agents(session: AsyncSession, *, spip_id: int | None = None) -> list[Agent]:
    stmt = select(Agent).order_by(Agent.name, Agent.id)
    if spip_id is not None:
        stmt = stmt.where(Agent.spip_id == spip_id)
    return list((await session.scalars(stmt)).all())


async def _ensure_email_free(
    session: AsyncSession, email: str, *, except_id: int | None = None
) -> None:
    existing = await session.scalar(select(Agent.id).where(Agent.email == email))
    if existing is not None and existing != except_id:
        raise EmailTaken(field="email")


async def create_agent(session: AsyncSession, *, data: AgentCreate) -> Agent:
    if data.spip_id is None:
        if data.role is not Role.admin:
            raise SpipRequired(field="spip_id")
    else:
        await spip_service.get_spip(session, data.spip_id)
    email = data.email.lower()
    await _ensure_email_free(session, email)
    agent = Agent(spip_id=data.spip_id, name=data.name, email=email, role=data.role.value)
    session.add(agent)
    await session.flush()
    return agent


async def update_agent(session: AsyncSession, *, agent: Agent, data: AgentUpdate) -> Agent:
    changes = data.patch_values()
    if "email" in changes:
        changes["email"] = changes["email"].lower()
        await _ensure_email_free(session, changes["email"], except_id=agent.id)
    if agent.spip_id is None and changes.get("role", agent.role) != Role.admin.value:
        raise SpipRequired(field="role")
    apply_changes(agent, changes)
    await session.flush()
    return agent


async def get_agent_in_spip(
    session: AsyncSession, agent_id: int, *, spip_id: int, field: str = "agent_id"
) -> Agent:
    """An agent that may be linked to something of ``spip_id`` (a referent, a convocation).

    An unknown id and an agent of another SPIP get the same answer, so that nobody learns
    which ids exist in other SPIPs.
    """
    agent = await session.get(Agent, agent_id)
    if agent is None or agent.spip_id != spip_id:
        raise AgentNotInSpip(field=field)
    return agent
