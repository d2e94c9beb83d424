"""The agents' side of the convocation links: disable one, or issue a fresh one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from app.appointments.dependencies import ScopedAppointment
from app.auth.access import Permission as P
from app.auth.dependencies import Allowed
from app.core.responses import error_responses
from app.db import SessionDep
from app.links import service
from app.links.schemas import LinkRead
from app.models import Agent, Appointment, ConvocationLink

router = APIRouter(tags=["Convocations"])
AUTH = error_responses(401, 403)


async def _read(session: SessionDep, appointment: Appointment, link: ConvocationLink) -> LinkRead:
    latest = await service.latest_of(session, appointment)
    return LinkRead(
        appointment_id=appointment.id,
        active=link.revoked_at is None,
        created_at=link.created_at,
        revoked_at=link.revoked_at,
        expires_at=service.expires_at(latest),
    )


@router.post(
    "/appointments/{appointment_id}/link/revoke",
    response_model=LinkRead,
    responses=AUTH | error_responses(404, 409),
)
async def revoke_link(
    appointment: ScopedAppointment,
    agent: Annotated[Agent, Depends(Allowed(P.appointment_write))],
    session: SessionDep,
) -> LinkRead:
    """Disable the convocation's link (and those of the convocations it replaced): the page
    answers as for an unknown link, and the SMS still to go carry none."""
    link = await service.revoke(session, appointment=appointment, agent=agent)
    return await _read(session, appointment, link)


@router.post(
    "/appointments/{appointment_id}/link",
    response_model=LinkRead,
    responses=AUTH | error_responses(404),
)
async def reissue_link(
    appointment: ScopedAppointment,
    agent: Annotated[Agent, Depends(Allowed(P.appointment_write))],
    session: SessionDep,
) -> LinkRead:
    """A new link for the convocation: the previous one stops working, the SMS still to go
    carry the new one."""
    link = await service.reissue(session, appointment=appointment, agent=agent)
    return await _read(session, appointment, link)
