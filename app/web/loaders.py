"""The pages' loaders: the API's loaders and access rules, so that a page of another SPIP is
« introuvable » (and the attempt in the audit trail) exactly as the API answers."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments import service as appointment_service
from app.appointments.errors import AppointmentNotFound
from app.auth.access import Permission
from app.auth.dependencies import ensure_scope, require
from app.models import Agent, Appointment, Person
from app.persons import service as person_service
from app.persons.errors import PersonNotFound


async def person(
    request: Request, session: AsyncSession, agent: Agent, person_id: int, permission: Permission
) -> Person:
    found = await person_service.get_person(session, person_id)
    ensure_scope(request, agent, found.spip_id, PersonNotFound, entity="person", entity_id=found.id)
    require(request, agent, permission)
    return found


async def appointment(
    request: Request,
    session: AsyncSession,
    agent: Agent,
    appointment_id: int,
    permission: Permission,
) -> Appointment:
    found = await appointment_service.get_appointment(session, appointment_id)
    ensure_scope(
        request,
        agent,
        found.spip_id,
        AppointmentNotFound,
        entity="appointment",
        entity_id=found.id,
    )
    require(request, agent, permission)
    return found
