"""Agents of a SPIP (CPIP, secretariat, managers, administrators)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.errors import (
    AgentNotFound,
    AgentNotInSpip,
    ClerkRoleFixed,
    ClerkWithoutSpip,
    CourtNotAllowed,
    CourtRequired,
    CourtUnknown,
    EmailTaken,
    SpipRequired,
)
from app.agents.schemas import AgentCreate, AgentUpdate
from app.auth import access
from app.auth.errors import Forbidden
from app.core.errors import Conflict
from app.core.repository import apply_changes, get_or_raise
from app.models import Agent, Court, Role
from app.spips import service as spip_service


class LastNationalAdmin(Conflict):
    code = "last_national_admin"
    message = (
        "C'est le dernier administrateur national actif : nommez-en un autre avant de "
        "désactiver ce compte ou de changer son rôle."
    )


class LastLocalAdmin(Conflict):
    code = "last_local_admin"
    message = (
        "C'est le dernier administrateur local actif de ce SPIP : nommez-en un autre avant de "
        "désactiver ce compte ou de changer son rôle."
    )


def check_role_grant(actor: Agent, role: Role | str | None) -> None:
    """Only a national administrator makes (or unmakes) national administrators and court
    clerks (a court belongs to no SPIP, so no local administrator answers for it)."""
    if (
        role is not None
        and Role(role) in (Role.admin, Role.court_clerk)
        and not access.is_national(actor)
    ):
        raise Forbidden("Seul un administrateur national peut attribuer ce rôle.")


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


async def _check_court(session: AsyncSession, data: AgentCreate) -> None:
    """A court clerk belongs to a (known) court and to no SPIP; nobody else to a court."""
    if data.role is not Role.court_clerk:
        if data.court_id is not None:
            raise CourtNotAllowed(field="court_id")
        return
    if data.court_id is None:
        raise CourtRequired(field="court_id")
    if data.spip_id is not None:
        raise ClerkWithoutSpip(field="spip_id")
    if await session.get(Court, data.court_id) is None:
        raise CourtUnknown(field="court_id")


async def create_agent(session: AsyncSession, *, data: AgentCreate) -> Agent:
    await _check_court(session, data)
    if data.spip_id is None:
        if data.role not in (Role.admin, Role.court_clerk):
            raise SpipRequired(field="spip_id")
    else:
        await spip_service.get_spip(session, data.spip_id)
    email = data.email.lower()
    await _ensure_email_free(session, email)
    agent = Agent(
        spip_id=data.spip_id,
        court_id=data.court_id,
        name=data.name,
        email=email,
        role=data.role.value,
    )
    session.add(agent)
    await session.flush()
    return agent


async def update_agent(session: AsyncSession, *, agent: Agent, data: AgentUpdate) -> Agent:
    changes = data.patch_values()
    if "email" in changes:
        changes["email"] = changes["email"].lower()
        await _ensure_email_free(session, changes["email"], except_id=agent.id)
    new_role = changes.get("role", agent.role)
    if (agent.role == Role.court_clerk.value) != (new_role == Role.court_clerk.value):
        raise ClerkRoleFixed(field="role")
    if agent.spip_id is None and new_role not in (Role.admin.value, Role.court_clerk.value):
        raise SpipRequired(field="role")
    await _ensure_an_administrator_remains(session, agent, changes)
    apply_changes(agent, changes)
    await session.flush()
    return agent


async def _ensure_an_administrator_remains(
    session: AsyncSession, agent: Agent, changes: dict[str, object]
) -> None:
    """Refuse to deactivate or demote the last active national administrator, or the last
    active local administrator of a SPIP: nobody could then administer it from inside.

    Race-safe: the active administrators concerned (the agent included) are locked with
    ``SELECT … FOR UPDATE`` in id order before counting. A concurrent demotion of the other one
    waits for this transaction, then re-reads the rows (PostgreSQL re-checks the condition on
    the rows it waited for) and finds itself alone. SQLite runs one write transaction at a
    time, so two demotions cannot both commit on the same count there either.
    """
    if not agent.active:
        return
    stays_active = changes.get("active", agent.active) is True
    new_role = changes.get("role", agent.role)
    for role, error, spip_id in (
        (Role.admin, LastNationalAdmin, None),
        (Role.local_admin, LastLocalAdmin, agent.spip_id),
    ):
        if agent.role != role.value or (stays_active and new_role == role.value):
            continue
        stmt = select(Agent.id).where(Agent.role == role.value, Agent.active.is_(True))
        if spip_id is not None:
            stmt = stmt.where(Agent.spip_id == spip_id)
        active = set((await session.scalars(stmt.order_by(Agent.id).with_for_update())).all())
        if not active - {agent.id}:
            raise error()


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
