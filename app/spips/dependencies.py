"""The SPIP or place a route's path names, loaded and checked against the agent's SPIP.

Another SPIP's resource answers 404, as one that does not exist (see ``app.auth.access``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.auth.dependencies import CurrentAgent, ensure_scope
from app.core.schemas import IdPath
from app.db import SessionDep
from app.models import Place, Spip
from app.spips import service as spip_service
from app.spips.errors import PlaceNotFound, SpipNotFound


async def scoped_spip(
    request: Request, spip_id: IdPath, agent: CurrentAgent, session: SessionDep
) -> Spip:
    spip = await spip_service.get_spip(session, spip_id)
    ensure_scope(request, agent, spip.id, SpipNotFound, entity="spip", entity_id=spip.id)
    return spip


async def scoped_place(
    request: Request, place_id: IdPath, agent: CurrentAgent, session: SessionDep
) -> Place:
    place = await spip_service.get_place(session, place_id)
    ensure_scope(request, agent, place.spip_id, PlaceNotFound, entity="place", entity_id=place.id)
    return place


ScopedSpip = Annotated[Spip, Depends(scoped_spip)]
ScopedPlace = Annotated[Place, Depends(scoped_place)]
