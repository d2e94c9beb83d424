from __future__ import annotations

from fastapi import APIRouter, status

from app.core.responses import error_responses
from app.core.schemas import IdPath
from app.db import SessionDep
from app.spips import service
from app.spips.schemas import (
    PlaceCreate,
    PlaceRead,
    PlaceUpdate,
    SpipCreate,
    SpipRead,
    SpipUpdate,
)

router = APIRouter(tags=["SPIP et lieux"])


@router.post(
    "/spips",
    response_model=SpipRead,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(409, 422),
)
async def create_spip(data: SpipCreate, session: SessionDep) -> SpipRead:
    spip = await service.create_spip(session, data=data)
    return SpipRead.model_validate(spip)


@router.get("/spips", response_model=list[SpipRead])
async def list_spips(session: SessionDep) -> list[SpipRead]:
    return [SpipRead.model_validate(s) for s in await service.list_spips(session)]


@router.get("/spips/{spip_id}", response_model=SpipRead, responses=error_responses(404))
async def get_spip(spip_id: IdPath, session: SessionDep) -> SpipRead:
    return SpipRead.model_validate(await service.get_spip(session, spip_id))


@router.patch("/spips/{spip_id}", response_model=SpipRead, responses=error_responses(404, 409, 422))
async def update_spip(spip_id: IdPath, data: SpipUpdate, session: SessionDep) -> SpipRead:
    spip = await service.get_spip(session, spip_id)
    return SpipRead.model_validate(await service.update_spip(session, spip=spip, data=data))


@router.post(
    "/spips/{spip_id}/places",
    response_model=PlaceRead,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(404, 422),
)
async def create_place(spip_id: IdPath, data: PlaceCreate, session: SessionDep) -> PlaceRead:
    spip = await service.get_spip(session, spip_id)
    return PlaceRead.model_validate(await service.create_place(session, spip=spip, data=data))


@router.get(
    "/spips/{spip_id}/places", response_model=list[PlaceRead], responses=error_responses(404)
)
async def list_places(spip_id: IdPath, session: SessionDep) -> list[PlaceRead]:
    spip = await service.get_spip(session, spip_id)
    return [
        PlaceRead.model_validate(p) for p in await service.list_places(session, spip_id=spip.id)
    ]


@router.get("/places/{place_id}", response_model=PlaceRead, responses=error_responses(404))
async def get_place(place_id: IdPath, session: SessionDep) -> PlaceRead:
    return PlaceRead.model_validate(await service.get_place(session, place_id))


@router.patch("/places/{place_id}", response_model=PlaceRead, responses=error_responses(404, 422))
async def update_place(place_id: IdPath, data: PlaceUpdate, session: SessionDep) -> PlaceRead:
    place = await service.get_place(session, place_id)
    return PlaceRead.model_validate(await service.update_place(session, place=place, data=data))
