from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from app.auth import access
from app.auth.access import Permission as P
from app.auth.dependencies import Allowed
from app.core.responses import error_responses
from app.db import SessionDep
from app.models import Agent
from app.spips import service
from app.spips.dependencies import ScopedPlace, ScopedSpip
from app.spips.schemas import (
    PlaceCreate,
    PlaceRead,
    SpipCreate,
    SpipRead,
)

router = APIRouter(tags=["SPIP et lieux"])
AUTH = error_responses(401, 403)


@router.post(
    "/spips",
    response_model=SpipRead,
    status_code=status.HTTP_201_CREATED,
    responses=AUTH | error_responses(409, 422),
)
async def create_spip(
    data: SpipCreate,
    session: SessionDep,
    _: Annotated[Agent, Depends(Allowed(P.spip_create))],
) -> SpipRead:
    spip = await service.create_spip(session, data=data)
    return SpipRead.model_validate(spip)


@router.get("/spips", response_model=list[SpipRead], responses=AUTH)
async def list_spips(
    session: SessionDep, agent: Annotated[Agent, Depends(Allowed(P.spip_read))]
) -> list[SpipRead]:
    """Every SPIP for national administrators; one's own SPIP for everyone else."""
    spips = await service.list_spips(session)
    return [
        SpipRead.model_validate(s)
        for s in spips
        if access.is_national(agent) or s.id == agent.spip_id
    ]


@router.get("/spips/{spip_id}", response_model=SpipRead, responses=AUTH | error_responses(404))
async def get_spip(
    spip: ScopedSpip, _: Annotated[Agent, Depends(Allowed(P.spip_read))]
) -> SpipRead:
    return SpipRead.model_validate(spip)


@router.post(
    "/spips/{spip_id}/places",
    response_model=PlaceRead,
    status_code=status.HTTP_201_CREATED,
    responses=AUTH | error_responses(404, 422),
)
async def create_place(
    spip: ScopedSpip,
    _: Annotated[Agent, Depends(Allowed(P.place_write))],
    data: PlaceCreate,
    session: SessionDep,
) -> PlaceRead:
    return PlaceRead.model_validate(await service.create_place(session, spip=spip, data=data))


@router.get(
    "/spips/{spip_id}/places", response_model=list[PlaceRead], responses=AUTH | error_responses(404)
)
async def list_places(
    spip: ScopedSpip, _: Annotated[Agent, Depends(Allowed(P.place_read))], session: SessionDep
) -> list[PlaceRead]:
    return [
        PlaceRead.model_validate(p) for p in await service.list_places(session, spip_id=spip.id)
    ]


@router.get("/places/{place_id}", response_model=PlaceRead, responses=AUTH | error_responses(404))
async def get_place(
    place: ScopedPlace, _: Annotated[Agent, Depends(Allowed(P.place_read))]
) -> PlaceRead:
    return PlaceRead.model_validate(place)


# PATCH /places/{place_id} is app.reminders.router's: a new zone re-plans the reminders.
