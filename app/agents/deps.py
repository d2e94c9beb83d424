"""FastAPI dependencies for authentication and access: the edge of ``app.agents.access``.

Routes name what they need: ``CurrentAgent``, a scoped resource (``ScopedPerson`` loads the person,
404s if it belongs to another SPIP) and ``Allowed(permission)`` (403 if the role may not). Declare
the resource before the permission, so another SPIP's resource answers 404 even for a forbidden
action. Public routes declare ``PUBLIC`` instead; a test checks every route declares one or the
other.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from app.agents import access, auth
from app.agents import service as agent_service
from app.agents.access import Permission
from app.agents.errors import AgentNotFound, Unauthenticated
from app.appointments import service as appointment_service
from app.appointments.errors import AppointmentNotFound
from app.audit.service import Actor, set_actor
from app.core.schemas import IdPath
from app.db import SessionDep
from app.models import Agent, Appointment, Notification, Person, Place, Spip
from app.persons import service as person_service
from app.persons.errors import PersonNotFound
from app.reminders.service import NotificationNotFound
from app.spips import service as spip_service
from app.spips.errors import PlaceNotFound, SpipNotFound

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def current_agent(
    request: Request, session: SessionDep, token: Annotated[str | None, Depends(oauth2)]
) -> Agent:
    if not token:
        raise Unauthenticated()
    agent, token_row = await auth.resolve(session, token, request.app.state.settings)
    request.state.token_row = token_row
    set_actor(session, Actor(agent.id, agent.spip_id, client_address(request)))
    return agent


CurrentAgent = Annotated[Agent, Depends(current_agent)]


class Allowed:
    """Dependency: the current agent, if their role grants ``permission`` (else 403)."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    async def __call__(self, agent: CurrentAgent) -> Agent:
        access.require(agent, self.permission)
        return agent


class Public:
    """Marker dependency for routes that carry their own authentication or none."""

    async def __call__(self) -> None:
        return None


PUBLIC = Depends(Public())


async def scoped_spip(spip_id: IdPath, agent: CurrentAgent, session: SessionDep) -> Spip:
    spip = await spip_service.get_spip(session, spip_id)
    access.ensure_scope(agent, spip.id, SpipNotFound)
    return spip


async def scoped_place(place_id: IdPath, agent: CurrentAgent, session: SessionDep) -> Place:
    place = await spip_service.get_place(session, place_id)
    access.ensure_scope(agent, place.spip_id, PlaceNotFound)
    return place


async def scoped_agent(agent_id: IdPath, agent: CurrentAgent, session: SessionDep) -> Agent:
    target = await agent_service.get_agent(session, agent_id)
    access.ensure_scope(agent, target.spip_id, AgentNotFound)
    return target


async def scoped_person(person_id: IdPath, agent: CurrentAgent, session: SessionDep) -> Person:
    person = await person_service.get_person(session, person_id)
    access.ensure_scope(agent, person.spip_id, PersonNotFound)
    return person


async def scoped_appointment(
    appointment_id: IdPath, agent: CurrentAgent, session: SessionDep
) -> Appointment:
    appointment = await appointment_service.get_appointment(session, appointment_id)
    access.ensure_scope(agent, appointment.spip_id, AppointmentNotFound)
    return appointment


async def scoped_notification(
    notification_id: IdPath, agent: CurrentAgent, session: SessionDep
) -> Notification:
    notification = await session.get(Notification, notification_id)
    if notification is None:
        raise NotificationNotFound()
    appointment = await session.get_one(Appointment, notification.appointment_id)
    access.ensure_scope(agent, appointment.spip_id, NotificationNotFound)
    return notification


ScopedSpip = Annotated[Spip, Depends(scoped_spip)]
ScopedPlace = Annotated[Place, Depends(scoped_place)]
ScopedAgent = Annotated[Agent, Depends(scoped_agent)]
ScopedPerson = Annotated[Person, Depends(scoped_person)]
ScopedAppointment = Annotated[Appointment, Depends(scoped_appointment)]
ScopedNotification = Annotated[Notification, Depends(scoped_notification)]
