"""The person a route's path names, loaded and checked against the agent's SPIP."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.auth.dependencies import CurrentAgent, ensure_scope
from app.core.schemas import IdPath
from app.db import SessionDep
from app.models import Person
from app.persons import service as person_service
from app.persons.errors import PersonNotFound


async def scoped_person(
    request: Request, person_id: IdPath, agent: CurrentAgent, session: SessionDep
) -> Person:
    person = await person_service.get_person(session, person_id)
    ensure_scope(
        request, agent, person.spip_id, PersonNotFound, entity="person", entity_id=person.id
    )
    return person


ScopedPerson = Annotated[Person, Depends(scoped_person)]
