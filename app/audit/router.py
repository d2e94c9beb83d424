from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments.dependencies import ScopedAppointment
from app.audit.service import TrailFilters, list_events, record_history
from app.auth import access
from app.auth.access import Permission as P
from app.auth.dependencies import Allowed
from app.core.pagination import Page, PageParams
from app.core.responses import error_responses
from app.core.schemas import IdQuery, ReadModel, UtcInstant, page_params
from app.db import SessionDep
from app.models import Agent
from app.persons.dependencies import ScopedPerson
from app.spips.errors import SpipNotFound

router = APIRouter(tags=["Journal d'audit"])
AUTH = error_responses(401, 403)


class AuditEventRead(ReadModel):
    id: int
    occurred_at: datetime
    agent_id: int | None
    spip_id: int | None
    action: str
    entity: str
    entity_id: int | None
    changes: dict[str, Any] | None
    client: str | None


@router.get("/audit", response_model=Page[AuditEventRead], responses=AUTH | error_responses(404))
async def audit_log(
    session: SessionDep,
    agent: Annotated[Agent, Depends(Allowed(P.audit_read))],
    page: Annotated[PageParams, Depends(page_params)],
    spip_id: IdQuery = None,
    entity: Annotated[str | None, Query(max_length=40)] = None,
    entity_id: IdQuery = None,
    agent_id: IdQuery = None,
    action: Annotated[
        str | None,
        Query(max_length=40, description="Action : create, update, delete, login, access_denied…"),
    ] = None,
    since: Annotated[
        UtcInstant | None, Query(alias="from", description="Instant (UTC sans décalage)")
    ] = None,
    until: Annotated[UtcInstant | None, Query(alias="to")] = None,
) -> Page[AuditEventRead]:
    """The audit trail of one's SPIP (all SPIPs for national administrators)."""
    filters = TrailFilters(
        spip_id=access.list_scope(agent, spip_id, SpipNotFound),
        entity=entity,
        entity_id=entity_id,
        agent_id=agent_id,
        action=action,
        since=since,
        until=until,
    )
    rows, total = await list_events(session, filters, limit=page.limit, offset=page.offset)
    return Page(
        items=[AuditEventRead.model_validate(r) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


async def _history(
    session: AsyncSession, entity: str, entity_id: int, page: PageParams
) -> Page[AuditEventRead]:
    entries, total = await record_history(
        session, entity, entity_id, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[AuditEventRead.model_validate(e.event) for e in entries],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get(
    "/persons/{person_id}/history",
    response_model=Page[AuditEventRead],
    responses=AUTH | error_responses(404),
)
async def person_history(
    person: ScopedPerson,
    _: Annotated[Agent, Depends(Allowed(P.history_read))],
    session: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[AuditEventRead]:
    """Who changed this person's record, and when (personal values are never shown)."""
    return await _history(session, "person", person.id, page)


@router.get(
    "/appointments/{appointment_id}/history",
    response_model=Page[AuditEventRead],
    responses=AUTH | error_responses(404),
)
async def appointment_history(
    appointment: ScopedAppointment,
    _: Annotated[Agent, Depends(Allowed(P.history_read))],
    session: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[AuditEventRead]:
    return await _history(session, "appointment", appointment.id, page)
