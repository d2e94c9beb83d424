from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import Response

from app.auth import access
from app.auth.access import Permission as P
from app.auth.dependencies import Allowed, require
from app.core.pagination import Page, PageParams
from app.core.responses import error_responses
from app.core.schemas import IdQuery, page_params
from app.db import SessionDep
from app.models import Agent
from app.persons import export, service
from app.persons.dependencies import ScopedPerson
from app.persons.schemas import PersonCreate, PersonRead, PersonUpdate
from app.spips.errors import SpipNotFound

router = APIRouter(tags=["Personnes suivies"])
AUTH = error_responses(401, 403)


@router.post(
    "/persons",
    response_model=PersonRead,
    status_code=status.HTTP_201_CREATED,
    responses=AUTH | error_responses(404, 409, 422),
)
async def create_person(
    data: PersonCreate,
    session: SessionDep,
    agent: Annotated[Agent, Depends(Allowed(P.person_write))],
) -> PersonRead:
    """Create a person; a likely duplicate in the SPIP answers 409 ``person_likely_duplicate``
    (with the ``candidates``' ids) unless ``allow_duplicate`` is true."""
    access.ensure_scope(agent, data.spip_id, SpipNotFound)
    return PersonRead.model_validate(await service.create_person(session, data=data))


@router.get("/persons", response_model=Page[PersonRead], responses=AUTH | error_responses(404))
async def list_persons(
    session: SessionDep,
    agent: Annotated[Agent, Depends(Allowed(P.person_read))],
    page: Annotated[PageParams, Depends(page_params)],
    spip_id: IdQuery = None,
    q: Annotated[
        str | None,
        Query(
            max_length=100,
            description=(
                "Recherche : nom ou prénom (sans tenir compte des accents ni des majuscules), "
                "numéro de mobile (complet, ou ses derniers chiffres, 4 au moins) ou date de "
                "naissance (12/03/1985 ou 1985-03-12)"
            ),
        ),
    ] = None,
    referent_agent_id: IdQuery = None,
    archived: Annotated[
        bool, Query(description="true : les personnes archivées au lieu des actives")
    ] = False,
) -> Page[PersonRead]:
    persons, total = await service.list_persons(
        session,
        page=page,
        spip_id=access.list_scope(agent, spip_id, SpipNotFound),
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


@router.get(
    "/persons/{person_id}", response_model=PersonRead, responses=AUTH | error_responses(404)
)
async def get_person(
    person: ScopedPerson, _: Annotated[Agent, Depends(Allowed(P.person_read))]
) -> PersonRead:
    return PersonRead.model_validate(person)


@router.patch(
    "/persons/{person_id}", response_model=PersonRead, responses=AUTH | error_responses(404, 422)
)
async def update_person(
    request: Request,
    person: ScopedPerson,
    agent: Annotated[Agent, Depends(Allowed(P.person_write))],
    data: PersonUpdate,
    session: SessionDep,
) -> PersonRead:
    if "archived" in data.model_fields_set:
        require(request, agent, P.person_archive)  # archiving is for administrators
    return PersonRead.model_validate(await service.update_person(session, person=person, data=data))


@router.delete(
    "/persons/{person_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=AUTH | error_responses(404, 409),
)
async def delete_person(
    person: ScopedPerson,
    _: Annotated[Agent, Depends(Allowed(P.person_archive))],
    session: SessionDep,
) -> None:
    """Delete a person entered by mistake (one with convocations is archived instead)."""
    await service.delete_person(session, person=person)


@router.get(
    "/persons/{person_id}/export",
    responses=AUTH
    | error_responses(404)
    | {200: {"content": {"application/json": {}}, "description": "Fichier JSON"}},
)
async def export_person(
    person: ScopedPerson,
    agent: Annotated[Agent, Depends(Allowed(P.person_export))],
    session: SessionDep,
) -> Response:
    """Everything Convoc holds about the person, for a right-of-access request (RGPD, art.
    15): identity, refusal of SMS, convocations, messages (texts while kept) and the audit
    trail's events about them. Audited (``person_exported``)."""
    document = await export.export_person(session, person=person, agent=agent)
    return Response(
        export.as_json(document),
        media_type="application/json",
        headers=export.download_headers(person.id),
    )
