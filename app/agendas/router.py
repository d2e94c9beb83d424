from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status

from app.agendas import listing, service
from app.agendas.dependencies import ScopedAgenda, ScopedSlot, ScopedSlotType
from app.agendas.schemas import (
    AgendaCreate,
    AgendaRead,
    AgendaUpdate,
    SlotBatchCreate,
    SlotBatchRead,
    SlotCursor,
    SlotRead,
    SlotTypeCreate,
    SlotTypeCreated,
    SlotTypeRead,
    SlotUpdate,
    SlotView,
)
from app.auth.access import Permission as P
from app.auth.dependencies import Allowed
from app.core.responses import error_responses
from app.core.schemas import DayQuery
from app.db import SessionDep
from app.models import Agenda, Agent, Place, Slot
from app.spips.dependencies import ScopedPlace

router = APIRouter(tags=["Agendas et créneaux"])
AUTH = error_responses(401, 403)

FromDay = Annotated[
    DayQuery | None,
    Query(alias="from", description="Premier jour, local au lieu (par défaut aujourd'hui)"),
]
ToDay = Annotated[
    DayQuery | None,
    Query(alias="to", description="Dernier jour inclus (par défaut +6 jours : une semaine)"),
]
FreeOnly = Annotated[
    bool, Query(description="true : seulement les créneaux ouverts où il reste une place")
]
PageLimit = Annotated[
    int,
    Query(
        ge=1,
        le=listing.MAX_LIMIT,
        description="Nombre de créneaux par page (200 par défaut, 1000 au plus)",
    ),
]
After = Annotated[
    str | None,
    Query(
        max_length=100,
        description="Curseur de la page suivante, tel que donné par l'en-tête Link (rel=next)",
    ),
]
NEXT_PAGE: dict[int | str, dict[str, Any]] = {
    200: {
        "headers": {
            "Link": {
                "description": 'La page suivante, s\'il y en a une : <url>; rel="next"',
                "schema": {"type": "string"},
            }
        }
    }
}


async def _place_of(session: SessionDep, agenda: Agenda) -> Place:
    return await session.get_one(Place, agenda.place_id)


@router.post(
    "/places/{place_id}/agendas",
    response_model=AgendaRead,
    status_code=status.HTTP_201_CREATED,
    responses=AUTH | error_responses(404, 422),
)
async def create_agenda(
    place: ScopedPlace,
    _: Annotated[Agent, Depends(Allowed(P.agenda_write))],
    data: AgendaCreate,
    session: SessionDep,
) -> AgendaRead:
    agenda = await service.create_agenda(session, place=place, data=data)
    return AgendaRead.of(agenda, place.timezone)


@router.get(
    "/places/{place_id}/agendas",
    response_model=list[AgendaRead],
    responses=AUTH | error_responses(404),
)
async def list_agendas(
    place: ScopedPlace, _: Annotated[Agent, Depends(Allowed(P.agenda_read))], session: SessionDep
) -> list[AgendaRead]:
    agendas = await service.list_agendas(session, place_id=place.id)
    return [AgendaRead.of(a, place.timezone) for a in agendas]


@router.get(
    "/agendas/{agenda_id}", response_model=AgendaRead, responses=AUTH | error_responses(404)
)
async def get_agenda(
    agenda: ScopedAgenda, _: Annotated[Agent, Depends(Allowed(P.agenda_read))], session: SessionDep
) -> AgendaRead:
    return AgendaRead.of(agenda, (await _place_of(session, agenda)).timezone)


@router.patch(
    "/agendas/{agenda_id}", response_model=AgendaRead, responses=AUTH | error_responses(404, 422)
)
async def update_agenda(
    agenda: ScopedAgenda,
    _: Annotated[Agent, Depends(Allowed(P.agenda_write))],
    data: AgendaUpdate,
    session: SessionDep,
) -> AgendaRead:
    agenda = await service.update_agenda(session, agenda=agenda, data=data)
    return AgendaRead.of(agenda, (await _place_of(session, agenda)).timezone)


@router.post(
    "/agendas/{agenda_id}/slot-types",
    response_model=SlotTypeCreated,
    status_code=status.HTTP_201_CREATED,
    responses=AUTH | error_responses(404, 422),
)
async def create_slot_type(
    agenda: ScopedAgenda,
    _: Annotated[Agent, Depends(Allowed(P.agenda_write))],
    data: SlotTypeCreate,
    session: SessionDep,
) -> SlotTypeCreated:
    """A recurring opening; its slots are opened at once up to the horizon (6 months by
    default), then every day by the worker."""
    slot_type, created = await service.create_slot_type(session, agenda=agenda, data=data)
    read = SlotTypeRead.model_validate(slot_type)
    return SlotTypeCreated(**read.model_dump(), slots_created=created)


@router.get(
    "/agendas/{agenda_id}/slot-types",
    response_model=list[SlotTypeRead],
    responses=AUTH | error_responses(404),
)
async def list_slot_types(
    agenda: ScopedAgenda, _: Annotated[Agent, Depends(Allowed(P.agenda_read))], session: SessionDep
) -> list[SlotTypeRead]:
    types = await service.list_slot_types(session, agenda_id=agenda.id)
    return [SlotTypeRead.model_validate(t) for t in types]


@router.delete(
    "/slot-types/{slot_type_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=AUTH | error_responses(404),
)
async def delete_slot_type(
    scoped: ScopedSlotType,
    _: Annotated[Agent, Depends(Allowed(P.agenda_write))],
    session: SessionDep,
) -> Response:
    """End the slot type: its future slots without a convocation are deleted; the slots that
    hold one stay, as do past slots."""
    await service.delete_slot_type(session, slot_type=scoped[0])
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/agendas/{agenda_id}/slots",
    response_model=SlotBatchRead,
    status_code=status.HTTP_201_CREATED,
    responses=AUTH | error_responses(404, 409, 422),
)
async def create_slots(
    agenda: ScopedAgenda,
    _: Annotated[Agent, Depends(Allowed(P.agenda_write))],
    data: SlotBatchCreate,
    session: SessionDep,
) -> SlotBatchRead:
    """One-off slots, many at once: ``dates`` × ``times``, or on ``day`` from ``start`` to
    ``end`` every ``interval_minutes`` (local times of the place)."""
    place = await _place_of(session, agenda)
    slots, skipped = await service.create_slots(session, agenda=agenda, data=data)
    return SlotBatchRead(
        created=[SlotRead.from_view(SlotView(s, place.timezone, agenda.name)) for s in slots],
        skipped=skipped,
    )


@router.get(
    "/agendas/{agenda_id}/slots",
    response_model=list[SlotRead],
    responses=AUTH | error_responses(404, 422) | NEXT_PAGE,
)
async def list_agenda_slots(
    request: Request,
    agenda: ScopedAgenda,
    _: Annotated[Agent, Depends(Allowed(P.agenda_read))],
    session: SessionDep,
    first: FromDay = None,
    last: ToDay = None,
    free: FreeOnly = False,
    limit: PageLimit = listing.DEFAULT_LIMIT,
    after: After = None,
) -> Response:
    """The agenda's slots, in order, in the place's local time; a page of ``limit``, the next
    one linked in the ``Link`` header (``rel="next"``)."""
    place = await _place_of(session, agenda)
    page = await listing.page_slots(
        session,
        place=place,
        agenda_id=agenda.id,
        first=first,
        last=last,
        free=free,
        limit=limit,
        after=_cursor(after),
    )
    return _slots_response(request, *page)


@router.get(
    "/places/{place_id}/slots",
    response_model=list[SlotRead],
    responses=AUTH | error_responses(404, 422) | NEXT_PAGE,
)
async def list_place_slots(
    request: Request,
    place: ScopedPlace,
    _: Annotated[Agent, Depends(Allowed(P.agenda_read))],
    session: SessionDep,
    first: FromDay = None,
    last: ToDay = None,
    free: FreeOnly = False,
    limit: PageLimit = listing.DEFAULT_LIMIT,
    after: After = None,
) -> Response:
    """The slots of every agenda of the place, in order, in the place's local time; a page of
    ``limit``, the next one linked in the ``Link`` header (``rel="next"``)."""
    page = await listing.page_slots(
        session, place=place, first=first, last=last, free=free, limit=limit, after=_cursor(after)
    )
    return _slots_response(request, *page)


def _cursor(after: str | None) -> SlotCursor | None:
    return None if after is None else SlotCursor.decode(after)


def _slots_response(request: Request, views: list[SlotView], next_: SlotCursor | None) -> Response:
    """The JSON built directly (``listing.slots_json``): returning ``SlotRead``s would build a
    model per row, the cost bench/slots.py measured. ``response_model`` still documents it."""
    response = Response(listing.slots_json(views), media_type="application/json")
    if next_ is not None:
        url = request.url.include_query_params(after=next_.encode())
        response.headers["Link"] = f'<{url}>; rel="next"'
    return response


@router.get("/slots/{slot_id}", response_model=SlotRead, responses=AUTH | error_responses(404))
async def get_slot(
    slot: ScopedSlot, _: Annotated[Agent, Depends(Allowed(P.agenda_read))], session: SessionDep
) -> SlotRead:
    return SlotRead.from_view(await _view(session, slot))


@router.patch(
    "/slots/{slot_id}", response_model=SlotRead, responses=AUTH | error_responses(404, 409, 422)
)
async def update_slot(
    slot: ScopedSlot,
    _: Annotated[Agent, Depends(Allowed(P.agenda_write))],
    data: SlotUpdate,
    session: SessionDep,
) -> SlotRead:
    """Close or reopen a slot (existing convocations stay), or change its capacity."""
    slot = await service.update_slot(session, slot=slot, data=data)
    return SlotRead.from_view(await _view(session, slot))


async def _view(session: SessionDep, slot: Slot) -> SlotView:
    agenda = await session.get_one(Agenda, slot.agenda_id)
    return SlotView(slot, (await _place_of(session, agenda)).timezone, agenda.name)
