from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from pydantic import BeforeValidator

from app.agendas import service as agenda_service
from app.agendas.errors import SlotNotFound
from app.appointments import service
from app.appointments.dependencies import ScopedAppointment
from app.appointments.schemas import (
    AppointmentCancel,
    AppointmentChangeRead,
    AppointmentCreate,
    AppointmentFilters,
    AppointmentOutcome,
    AppointmentRead,
    AppointmentReschedule,
    AppointmentSort,
    AppointmentTypeRead,
    BookingPreviewRead,
)
from app.auth import access
from app.auth.access import Permission as P
from app.auth.dependencies import Allowed
from app.core.pagination import Page, PageParams
from app.core.responses import error_responses
from app.core.schemas import IdQuery, IsoText, page_params
from app.db import SessionDep
from app.models import Agent, AppointmentStatus
from app.persons.errors import PersonNotFound
from app.spips import service as spip_service
from app.spips.errors import PlaceNotFound, SpipNotFound

router = APIRouter(tags=["Convocations"])
AUTH = error_responses(401, 403)


def _day_or_instant(value: object) -> object:
    """'2027-01-31' is a whole local day, not midnight: keep it a date."""
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value


PeriodBound = Annotated[datetime | date | None, IsoText, BeforeValidator(_day_or_instant)]


@router.get("/appointment-types", response_model=list[AppointmentTypeRead], responses=AUTH)
async def list_appointment_types(
    session: SessionDep, _: Annotated[Agent, Depends(Allowed(P.appointment_read))]
) -> list[AppointmentTypeRead]:
    return [AppointmentTypeRead.model_validate(t) for t in await service.list_types(session)]


@router.post(
    "/appointments",
    response_model=AppointmentChangeRead,
    status_code=status.HTTP_201_CREATED,
    responses=AUTH | error_responses(404, 409, 422),
)
async def book_appointment(
    data: AppointmentCreate,
    session: SessionDep,
    agent: Annotated[Agent, Depends(Allowed(P.appointment_write))],
) -> AppointmentChangeRead:
    inputs = await service.load_booking_inputs(session, data)
    access.ensure_scope(agent, inputs.person.spip_id, PersonNotFound)
    if inputs.place is None:
        raise PlaceNotFound()
    access.ensure_scope(agent, inputs.place.spip_id, PlaceNotFound)
    view = await service.book(
        session, data=data, created_by_id=agent.id, booker_role=agent.role, inputs=inputs
    )
    return AppointmentChangeRead.from_view(view)


@router.post(
    "/appointments/preview",
    response_model=BookingPreviewRead,
    responses=AUTH | error_responses(404, 409, 422),
)
async def preview_appointment(
    data: AppointmentCreate,
    session: SessionDep,
    agent: Annotated[Agent, Depends(Allowed(P.appointment_write))],
) -> BookingPreviewRead:
    """What ``POST /appointments`` would do with the same body (same checks and errors), and
    the SMS it would plan, rendered, with when they go and what will not go out; nothing is
    stored."""
    inputs = await service.load_booking_inputs(session, data)
    access.ensure_scope(agent, inputs.person.spip_id, PersonNotFound)
    if inputs.place is None:
        raise PlaceNotFound()
    access.ensure_scope(agent, inputs.place.spip_id, PlaceNotFound)
    return await service.preview_booking(
        session, data=data, created_by_id=agent.id, booker_role=agent.role, inputs=inputs
    )


def appointment_filters(
    spip_id: IdQuery = None,
    person_id: IdQuery = None,
    agent_id: IdQuery = None,
    place_id: IdQuery = None,
    status: AppointmentStatus | None = None,
    appointment_type: Annotated[
        str | None, Query(max_length=50, description="Code du type de convocation")
    ] = None,
    started: Annotated[
        bool | None,
        Query(description="true : déjà commencées ; false : à venir (selon l'heure actuelle)"),
    ] = None,
    starts_from: Annotated[
        PeriodBound,
        Query(alias="from", description="Début de période (date ou date-heure ; locale au SPIP)"),
    ] = None,
    starts_to: Annotated[
        PeriodBound,
        Query(alias="to", description="Fin de période (une date est incluse entière)"),
    ] = None,
) -> AppointmentFilters:
    return AppointmentFilters(
        spip_id=spip_id,
        person_id=person_id,
        agent_id=agent_id,
        place_id=place_id,
        status=status,
        starts_from=starts_from,
        starts_to=starts_to,
        appointment_type=appointment_type,
        started=started,
    )


@router.get(
    "/appointments",
    response_model=Page[AppointmentRead],
    responses=AUTH | error_responses(404, 422),
)
async def list_appointments(
    session: SessionDep,
    agent: Annotated[Agent, Depends(Allowed(P.appointment_read))],
    filters: Annotated[AppointmentFilters, Depends(appointment_filters)],
    page: Annotated[PageParams, Depends(page_params)],
    sort: Annotated[
        AppointmentSort,
        Query(
            description=(
                "Ordre : date (croissante), -date (décroissante), person (nom, prénom), "
                "place (nom du lieu) ; à égalité, par date"
            )
        ),
    ] = AppointmentSort.date,
) -> Page[AppointmentRead]:
    scope = access.list_scope(agent, filters.spip_id, SpipNotFound)
    views, total = await service.list_appointments(
        session, filters=filters.within_spip(scope), page=page, sort=sort
    )
    return Page(
        items=[AppointmentRead.from_view(v) for v in views],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


# Digits only: ``/appointments/preview`` (POST) is no convocation, so GET on it is a 405 that
# says POST, not a 422 about an id.
@router.get(
    "/appointments/{appointment_id:int}",
    response_model=AppointmentRead,
    responses=AUTH | error_responses(404),
)
async def get_appointment(
    appointment: ScopedAppointment,
    _: Annotated[Agent, Depends(Allowed(P.appointment_read))],
    session: SessionDep,
) -> AppointmentRead:
    return AppointmentRead.from_view(await service.get_view(session, appointment.id))


@router.post(
    "/appointments/{appointment_id}/cancel",
    response_model=AppointmentChangeRead,
    responses=AUTH | error_responses(404, 409),
)
async def cancel_appointment(
    appointment: ScopedAppointment,
    _: Annotated[Agent, Depends(Allowed(P.appointment_write))],
    session: SessionDep,
    data: AppointmentCancel | None = None,
) -> AppointmentChangeRead:
    view = await service.cancel(
        session, appointment=appointment, notify=data.notify if data is not None else True
    )
    return AppointmentChangeRead.from_view(view)


@router.post(
    "/appointments/{appointment_id}/reschedule",
    response_model=AppointmentChangeRead,
    status_code=status.HTTP_201_CREATED,
    responses=AUTH | error_responses(404, 409, 422),
)
async def reschedule_appointment(
    appointment: ScopedAppointment,
    agent: Annotated[Agent, Depends(Allowed(P.appointment_write))],
    data: AppointmentReschedule,
    session: SessionDep,
) -> AppointmentChangeRead:
    if data.place_id is not None:
        place = await spip_service.get_place(session, data.place_id)
        access.ensure_scope(agent, place.spip_id, PlaceNotFound)
    if data.slot_id is not None:
        slot = await agenda_service.get_slot(session, data.slot_id)
        access.ensure_scope(agent, slot.spip_id, SlotNotFound)
    return AppointmentChangeRead.from_view(
        await service.reschedule(
            session, appointment=appointment, data=data, created_by_id=agent.id
        )
    )


@router.post(
    "/appointments/{appointment_id}/outcome",
    response_model=AppointmentRead,
    responses=AUTH | error_responses(404, 409, 422),
)
async def record_outcome(
    appointment: ScopedAppointment,
    agent: Annotated[Agent, Depends(Allowed(P.appointment_write))],
    data: AppointmentOutcome,
    session: SessionDep,
) -> AppointmentRead:
    await service.record_outcome(
        session,
        appointment=appointment,
        outcome=AppointmentStatus(data.outcome),
        notify_missed=data.notify,
        recorded_by_id=agent.id,
    )
    return AppointmentRead.from_view(await service.get_view(session, appointment.id))
