from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from app.core.pagination import Page, PageParams
from app.core.responses import error_responses
from app.core.schemas import IdPath, IdQuery, page_params
from app.db import SessionDep
from app.persons import service
from app.persons.schemas import PersonCreate, PersonRead, PersonUpdate

router = APIRouter(tags=["Personnes suivies"])


@router.post(
    "/persons",
    response_model=PersonRead,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(404, 422),
)
async def create_person(data: PersonCreate, session: SessionDep) -> PersonRead:
    return PersonRead.model_validate(await service.create_person(session, data=data))


@router.get("/persons", response_model=Page[PersonRead])
async def list_persons(
    session: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
    spip_id: IdQuery = None,
    q: Annotated[str | None, Query(max_length=100, description="Recherche sur les noms")] = None,
    referent_agent_id: IdQuery = None,
    archived: Annotated[
        bool, Query(description="true : les personnes archivées au lieu des actives")
    ] = False,
) -> Page[PersonRead]:
    persons, total = await service.list_persons(
        session,
        page=page,
        spip_id=spip_id,
        q=q,
        referent_agent_id=referent_agent_id,
        archived=archived,
    )
    return Page(
        items=[PersonRead.model_validate(p) for p in persons],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/persons/{person_id}", response_model=PersonRead, responses=error_responses(404))
async def get_person(person_id: IdPath, session: SessionDep) -> PersonRead:
    return PersonRead.model_validate(await service.get_person(session, person_id))


@router.patch(
    "/persons/{person_id}", response_model=PersonRead, responses=error_responses(404, 422)
)
async def update_person(person_id: IdPath, data: PersonUpdate, session: SessionDep) -> PersonRead:
    person = await service.get_person(session, person_id)
    return PersonRead.model_validate(await service.update_person(session, person=person, data=data))
