"""The court a route's path names (national administrators' routes) and the agenda a court
clerk's path names (visible to that clerk, else 404)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.auth.access import Permission as P
from app.auth.dependencies import Allowed
from app.core.schemas import IdPath
from app.courts import service
from app.courts.schemas import CourtAgenda
from app.db import SessionDep
from app.models import Agent, Court

Clerk = Annotated[Agent, Depends(Allowed(P.court_booking))]
CourtAdmin = Annotated[Agent, Depends(Allowed(P.court_write))]


async def court_path(court_id: IdPath, _: CourtAdmin, session: SessionDep) -> Court:
    return await service.get_court(session, court_id)


async def clerk_agenda(agenda_id: IdPath, agent: Clerk, session: SessionDep) -> CourtAgenda:
    return await service.get_court_agenda(session, agent=agent, agenda_id=agenda_id)


CourtDep = Annotated[Court, Depends(court_path)]
ClerkAgenda = Annotated[CourtAgenda, Depends(clerk_agenda)]
