"""One slot of an agenda: its page (when, seats taken, its capacity changed) and « Convoquer »
into it from the week — choose the person (the persons search, by POST: no name in a URL), then
the booking page set on that slot. Through ``app.agendas.service`` and the persons service, with
the API's permissions (``agenda:write`` to change a slot, ``appointment:write`` to book) and
access rules (another SPIP's slot is « introuvable »)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from app.agendas import service
from app.agendas.errors import SlotNotFound
from app.agendas.schemas import SlotUpdate
from app.auth import access
from app.auth.access import Permission
from app.auth.dependencies import ensure_scope, require
from app.core.clock import utcnow
from app.core.errors import AppError
from app.core.localtime import zone
from app.core.pagination import PageParams
from app.core.schemas import IdPath
from app.db import SessionDep
from app.models import Agenda, Agent, Slot
from app.persons import service as person_service
from app.persons.errors import InvalidSearchDate
from app.spips import service as spip_service
from app.web import agendas as views
from app.web import persons as person_views
from app.web import slots as slot_views
from app.web.sessions import PageAgent, PostingAgent
from app.web.templating import heure_de, render

router = APIRouter()
FormField = Annotated[str, Form()]
CAPACITY_LABELS = {"capacite": "Nombre de places"}


async def _slot(
    request: Request, session: AsyncSession, agent: Agent, slot_id: int
) -> tuple[Slot, Agenda]:
    slot, agenda = await service.slot_and_agenda(session, slot_id)
    ensure_scope(request, agent, slot.spip_id, SlotNotFound, entity="slot", entity_id=slot.id)
    return slot, agenda


def _bookable(slot: Slot, agenda: Agenda) -> bool:
    return (
        agenda.active
        and not slot.closed
        and slot.booked < slot.capacity
        and slot.starts_at > utcnow()
    )


# --- La page d'un créneau --------------------------------------------------------------------


async def _slot_page(
    request: Request,
    session: AsyncSession,
    agent: Agent,
    slot: Slot,
    agenda: Agenda,
    *,
    form: views.Form | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    place = await spip_service.get_place(session, slot.place_id)
    local_day = slot.starts_at.astimezone(zone(place.timezone)).date()
    context = {
        "nav": "agendas",
        "slot": slot,
        "agenda": agenda,
        "place": place,
        "title": slot_views.slot_title(slot.starts_at, slot.duration_minutes, place.timezone),
        "heure_de": heure_de(place.timezone),
        "week": views.monday_of(local_day).isoformat(),
        "form": form or views.Form({"capacite": str(slot.capacity)}),
        "labels": CAPACITY_LABELS,
        "can_write": access.can(agent, Permission.agenda_write),
        "can_book": access.can(agent, Permission.appointment_write) and _bookable(slot, agenda),
        "started": slot.starts_at <= utcnow(),
        "notice": notice,
    }
    return render(request, "pages/agenda_slot.html", context, status_code=status_code)


@router.get("/agendas/creneaux/{slot_id}", response_class=HTMLResponse)
async def slot_page(
    request: Request, session: SessionDep, agent: PageAgent, slot_id: IdPath, ok: str = ""
) -> HTMLResponse:
    require(request, agent, Permission.agenda_read)
    slot, agenda = await _slot(request, session, agent, slot_id)
    notice = "La capacité du créneau est modifiée." if ok == "capacite" else None
    return await _slot_page(request, session, agent, slot, agenda, notice=notice)


@router.post("/agendas/creneaux/{slot_id}/capacite", response_class=HTMLResponse)
async def change_capacity(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    slot_id: IdPath,
    capacite: FormField = "",
) -> Response:
    """The API's ``PATCH /slots/{id}`` ``{"capacity": …}``: raising it reopens a full slot;
    below the seats taken it is refused (« Ce créneau compte déjà N convocations … »)."""
    slot, agenda = await _slot(request, session, agent, slot_id)
    require(request, agent, Permission.agenda_write)
    form = views.Form({"capacite": capacite})
    data = views.validated(form, SlotUpdate, {"capacity": capacite.strip() or None})
    if data is None or data.capacity is None:
        form.errors.setdefault("capacite", "Indiquez un nombre de places entre 1 et 1000.")
        return await _slot_page(request, session, agent, slot, agenda, form=form, status_code=422)
    try:
        async with session.begin_nested():
            await service.update_slot(session, slot=slot, data=data)
    except AppError as exc:
        views.explain(form, exc)
        await session.refresh(slot)
        return await _slot_page(
            request, session, agent, slot, agenda, form=form, status_code=exc.status_code
        )
    return RedirectResponse(f"/agendas/creneaux/{slot.id}?ok=capacite", status_code=303)


# --- Convoquer dans un créneau : choisir la personne -----------------------------------------


async def _choose(
    request: Request,
    session: AsyncSession,
    agent: Agent,
    slot_id: int,
    q: str | None,
) -> HTMLResponse:
    require(request, agent, Permission.appointment_write)
    slot, agenda = await _slot(request, session, agent, slot_id)
    place = await spip_service.get_place(session, slot.place_id)
    form = person_views.SearchForm(q=(q or "")[:100])
    rows, status = [], 200
    if q is not None:
        try:
            persons, _ = await person_service.list_persons(
                session,
                page=PageParams(limit=person_views.PAGE_SIZE),
                spip_id=slot.spip_id,
                q=form.q or None,
                archived=False,
            )
            rows = [{"person": p, "phone": person_views.national(p.phone)} for p in persons]
        except InvalidSearchDate as exc:
            form.errors["q"] = exc.detail
            status = 422
    context = {
        "nav": "agendas",
        "slot": slot,
        "agenda": agenda,
        "title": slot_views.slot_title(slot.starts_at, slot.duration_minutes, place.timezone),
        "heure_de": heure_de(place.timezone),
        "bookable": _bookable(slot, agenda),
        "searched": q is not None,
        "form": form,
        "labels": person_views.LABELS,
        "rows": rows,
        "can_create": access.can(agent, Permission.person_write) and agent.spip_id is not None,
    }
    return render(request, "pages/agenda_slot_person.html", context, status_code=status)


@router.get("/agendas/creneaux/{slot_id}/convoquer", response_class=HTMLResponse)
async def choose_person(
    request: Request, session: SessionDep, agent: PageAgent, slot_id: IdPath
) -> HTMLResponse:
    return await _choose(request, session, agent, slot_id, None)


@router.post("/agendas/creneaux/{slot_id}/convoquer", response_class=HTMLResponse)
async def search_person(
    request: Request, session: SessionDep, agent: PostingAgent, slot_id: IdPath, q: FormField = ""
) -> HTMLResponse:
    return await _choose(request, session, agent, slot_id, q)
