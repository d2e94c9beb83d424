"""The convocation a route's path names, loaded and checked against the agent's SPIP."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.appointments import service as appointment_service
from app.appointments.errors import AppointmentNotFound
from app.auth.dependencies import CurrentAgent, ensure_scope
from app.core.schemas import IdPath
from app.db import SessionDep
from app.models import Appointment


async def scoped_appointment(
    request: Request, appointment_id: IdPath, agent: CurrentAgent, session: SessionDep
) -> Appointment:
    appointment = await appointment_service.get_appointment(session, appointment_id)
    ensure_scope(
        request,
        agent,
        appointment.spip_id,
        AppointmentNotFound,
        entity="appointment",
        entity_id=appointment.id,
    )
    return appointment


ScopedAppointment = Annotated[Appointment, Depends(scoped_appointment)]
