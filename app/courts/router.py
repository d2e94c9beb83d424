from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status

from app.agendas.schemas import SlotRead
from app.core.clock import utcnow
from app.core.responses import error_responses
from app.core.schemas import DayQuery, IdPath
from app.courts import service, summaries
from app.courts.dependencies import Clerk, ClerkAgenda, CourtAdmin, CourtDep
from app.courts.schemas import (
    CourtAgendaRead,
    CourtBookingCreate,
    CourtBookingRead,
    CourtCreate,
    CourtRead,
    CourtUpdate,
    DayAvailabilityRead,
)
from app.db import SessionDep
from app.models import Court

router = APIRouter(tags=["Tribunaux et sortie d'audience"])
AUTH = error_responses(401, 403)


MonthQuery = Annotated[
    str,
    Query(
        pattern=r"^[12][0-9]{3}-(0[1-9]|1[0-2])$",
        description="Mois local du lieu, AAAA-MM",
        examples=["2027-10"],
    ),
]


def _month(value: str) -> date:
    return date(int(value[:4]), int(value[5:7]), 1)


async def _court_read(session: SessionDep, court: Court) -> CourtRead:
    spip_ids = await service.court_spip_ids(session, court.id)
    return CourtRead.model_validate(
        {k: getattr(court, k) for k in CourtRead.model_fields if k != "spip_ids"}
        | {"spip_ids": spip_ids}
    )


# ------------------------------------------------------------------ courts (national admins)


@router.post(
    "/courts",
    response_model=CourtRead,
    status_code=status.HTTP_201_CREATED,
    responses=AUTH | error_responses(409, 422),
)
async def create_court(data: CourtCreate, _: CourtAdmin, session: SessionDep) -> CourtRead:
    """Créer un tribunal et le lier à des SPIP (administration nationale)."""
    return await _court_read(session, await service.create_court(session, data=data))


@router.get("/courts", response_model=list[CourtRead], responses=AUTH)
async def list_courts(_: CourtAdmin, session: SessionDep) -> list[CourtRead]:
    """Les tribunaux et leurs SPIP liés."""
    return [await _court_read(session, c) for c in await service.list_courts(session)]


@router.get("/courts/{court_id}", response_model=CourtRead, responses=AUTH | error_responses(404))
async def get_court(court: CourtDep, session: SessionDep) -> CourtRead:
    return await _court_read(session, court)


@router.patch(
    "/courts/{court_id}",
    response_model=CourtRead,
    responses=AUTH | error_responses(404, 409, 422),
)
async def update_court(court: CourtDep, data: CourtUpdate, session: SessionDep) -> CourtRead:
    """Renommer, activer ou désactiver un tribunal ; « spip_ids » remplace ses SPIP liés."""
    return await _court_read(session, await service.update_court(session, court=court, data=data))


# ------------------------------------------------------------------ the court clerk


@router.get("/court/agendas", response_model=list[CourtAgendaRead], responses=AUTH)
async def list_court_agendas(agent: Clerk, session: SessionDep) -> list[CourtAgendaRead]:
    """Les agendas de sortie d'audience que les SPIP liés au tribunal lui ouvrent."""
    return [CourtAgendaRead.of(i) for i in await service.court_agendas(session, agent=agent)]


@router.get(
    "/court/agendas/{agenda_id}/availability",
    response_model=list[DayAvailabilityRead],
    responses=AUTH | error_responses(404, 422),
)
async def month_availability(
    item: ClerkAgenda, month: MonthQuery, session: SessionDep
) -> list[DayAvailabilityRead]:
    """Places libres par jour du mois (heure locale du lieu)."""
    days = await service.month_availability(session, item=item, month=_month(month), now=utcnow())
    return [DayAvailabilityRead(day=d.day, free_seats=d.free_seats, slots=d.slots) for d in days]


@router.get(
    "/court/agendas/{agenda_id}/slots",
    response_model=list[SlotRead],
    responses=AUTH | error_responses(404, 422),
)
async def day_slots(
    item: ClerkAgenda,
    session: SessionDep,
    day: Annotated[DayQuery, Query(description="Jour local du lieu, AAAA-MM-JJ")],
) -> list[SlotRead]:
    """Les créneaux à venir d'un jour, complets compris (« seats_left » à 0)."""
    views = await service.day_slots(session, item=item, day=day, now=utcnow())
    return [SlotRead.from_view(v) for v in views]


@router.post(
    "/court/bookings",
    response_model=CourtBookingRead,
    status_code=status.HTTP_201_CREATED,
    responses=AUTH | error_responses(404, 409, 422),
)
async def book(data: CourtBookingCreate, agent: Clerk, session: SessionDep) -> CourtBookingRead:
    """Convoquer la personne présente à l'audience ; le SMS de convocation part aussitôt."""
    appointment = await service.book(session, agent=agent, data=data, now=utcnow())
    return (await summaries.booking_reads(session, [appointment]))[0]


@router.get("/court/bookings", response_model=list[CourtBookingRead], responses=AUTH)
async def list_bookings(agent: Clerk, session: SessionDep) -> list[CourtBookingRead]:
    """Les dernières convocations prises par le greffe du tribunal (50 au plus)."""
    return await summaries.booking_reads(
        session, await service.court_bookings(session, agent=agent)
    )


@router.get(
    "/court/bookings/{appointment_id}",
    response_model=CourtBookingRead,
    responses=AUTH | error_responses(404),
)
async def get_booking(
    appointment_id: IdPath, agent: Clerk, session: SessionDep
) -> CourtBookingRead:
    """Le récapitulatif à imprimer pour la personne."""
    appointment = await service.get_court_booking(
        session, agent=agent, appointment_id=appointment_id
    )
    return (await summaries.booking_reads(session, [appointment]))[0]
