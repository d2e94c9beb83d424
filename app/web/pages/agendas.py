"""Agendas: the SPIP's agendas by place, a new agenda, and one agenda's recurring openings and
week of slots — through ``app.agendas.service``, with the API's permissions (``agenda:read``
for every agent, ``agenda:write`` for the secretariat and administrators) and its access rules
(another SPIP's agenda, opening or slot is « introuvable »). Times are the place's."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from app.agendas import service
from app.agendas.errors import AgendaNotFound, SlotNotFound, SlotTypeNotFound
from app.agendas.schemas import AgendaCreate, AgendaUpdate, SlotTypeCreate, SlotUpdate
from app.agents import service as agent_service
from app.appointments import service as appointment_service
from app.auth import access
from app.auth.access import Permission
from app.auth.dependencies import ensure_scope, require
from app.core.clock import utcnow
from app.core.errors import AppError
from app.core.localtime import zone
from app.core.schemas import IdPath
from app.db import SessionDep
from app.models import Agenda, Agent, Place, Spip
from app.spips import service as spip_service
from app.web import admin as admin_views
from app.web import agendas as views
from app.web import slots as slot_views
from app.web.pages.admin import spip_param
from app.web.sessions import PageAgent, PostingAgent
from app.web.templating import french_date, heure_de, render, zone_name

router = APIRouter()
FormField = Annotated[str, Form()]


async def _spip(request: Request, session: AsyncSession, agent: Agent, spip: str | None) -> Spip:
    """The agent's SPIP (a national administrator names one with ``?spip=``)."""
    return await admin_views.target_spip(request, session, agent, spip_param(spip))


async def _agenda(request: Request, session: AsyncSession, agent: Agent, agenda_id: int) -> Agenda:
    agenda = await service.get_agenda(session, agenda_id)
    ensure_scope(
        request, agent, agenda.spip_id, AgendaNotFound, entity="agenda", entity_id=agenda.id
    )
    return agenda


def _today(place: Place) -> date:
    return utcnow().astimezone(zone(place.timezone)).date()


# --- Liste -----------------------------------------------------------------------------------


@router.get("/agendas", response_class=HTMLResponse)
async def agendas(
    request: Request, session: SessionDep, agent: PageAgent, spip: str | None = None
) -> HTMLResponse:
    require(request, agent, Permission.agenda_read)
    if access.is_national(agent) and not spip:
        # No SPIP of their own: the national administrator chooses one.
        spips = await spip_service.list_spips(session)
        return render(request, "pages/agendas.html", {"nav": "agendas", "spips": spips})
    target = await _spip(request, session, agent, spip)
    places = await spip_service.list_places(session, spip_id=target.id)
    names = {a.id: a.name for a in await agent_service.list_agents(session, spip_id=target.id)}
    types = {t.code: t.label for t in await appointment_service.list_types(session)}
    groups = [(p, await service.list_agendas(session, place_id=p.id)) for p in places]
    context = {
        "nav": "agendas",
        "spip": target,
        "groups": groups,
        "agent_names": names,
        "type_labels": types,
        "can_write": access.can(agent, Permission.agenda_write),
        "q": admin_views.spip_query(agent, target),
    }
    return render(request, "pages/agendas.html", context)


# --- Nouvel agenda ---------------------------------------------------------------------------


async def _new_form(
    request: Request,
    session: AsyncSession,
    spip: Spip,
    agent: Agent,
    form: views.Form,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    places = await spip_service.list_places(session, spip_id=spip.id)
    agents = [a for a in await agent_service.list_agents(session, spip_id=spip.id) if a.active]
    context = {
        "nav": "agendas",
        "spip": spip,
        "form": form,
        "labels": views.AGENDA_LABELS,
        "place_choices": [("", "Choisir un lieu")]
        + [(str(p.id), p.name) for p in places if p.active],
        "agent_choices": [("", "Aucun : agenda collectif")] + [(str(a.id), a.name) for a in agents],
        "types": await appointment_service.list_types(session),
        "q": admin_views.spip_query(agent, spip),
    }
    return render(request, "pages/agenda_new.html", context, status_code=status_code)


@router.get("/agendas/nouveau", response_class=HTMLResponse)
async def new_agenda(
    request: Request, session: SessionDep, agent: PageAgent, spip: str | None = None
) -> HTMLResponse:
    require(request, agent, Permission.agenda_write)
    target = await _spip(request, session, agent, spip)
    return await _new_form(request, session, target, agent, views.Form())


@router.post("/agendas/nouveau", response_class=HTMLResponse)
async def create_agenda(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    spip: str | None = None,
    lieu: FormField = "",
    nom: FormField = "",
    agent_id: Annotated[str, Form(alias="agent")] = "",
    types: Annotated[list[str] | None, Form()] = None,
    tribunal: FormField = "",
) -> Response:
    require(request, agent, Permission.agenda_write)
    target = await _spip(request, session, agent, spip)
    form = views.Form(
        {"lieu": lieu, "nom": nom, "agent": agent_id, "tribunal": tribunal},
        chosen=list(types or []),
    )
    places = {str(p.id): p for p in await spip_service.list_places(session, spip_id=target.id)}
    place = places.get(lieu.strip())
    if place is None:
        form.errors["lieu"] = "Choisissez un lieu dans la liste."
    values = {
        "name": nom.strip(),
        "agent_id": views.optional_id(agent_id),
        "appointment_types": form.chosen,
        "open_to_courts": tribunal == "oui",
    }
    data = views.validated(form, AgendaCreate, values)
    if data is None or place is None:
        return await _new_form(request, session, target, agent, form, status_code=422)
    try:
        async with session.begin_nested():
            agenda = await service.create_agenda(session, place=place, data=data)
    except AppError as exc:
        views.explain(form, exc)
        return await _new_form(request, session, target, agent, form, status_code=422)
    return RedirectResponse(f"/agendas/{agenda.id}?ok=cree", status_code=303)


# --- Modifier un agenda ----------------------------------------------------------------------


async def _edit_form(
    request: Request,
    session: AsyncSession,
    agenda: Agenda,
    form: views.Form,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    place = await spip_service.get_place(session, agenda.place_id)
    agents = [
        a for a in await agent_service.list_agents(session, spip_id=agenda.spip_id) if a.active
    ]
    context = {
        "nav": "agendas",
        "agenda": agenda,
        "place": place,
        "form": form,
        "labels": views.AGENDA_LABELS,
        "agent_choices": [("", "Aucun : agenda collectif")] + [(str(a.id), a.name) for a in agents],
        "types": await appointment_service.list_types(session),
        "editing": True,
    }
    return render(request, "pages/agenda_edit.html", context, status_code=status_code)


@router.get("/agendas/{agenda_id}/modifier", response_class=HTMLResponse)
async def edit_agenda(
    request: Request, session: SessionDep, agent: PageAgent, agenda_id: IdPath
) -> HTMLResponse:
    agenda = await _agenda(request, session, agent, agenda_id)
    require(request, agent, Permission.agenda_write)
    values = {
        "nom": agenda.name,
        "agent": str(agenda.agent_id or ""),
        "actif": "oui" if agenda.active else "",
        "tribunal": "oui" if agenda.open_to_courts else "",
    }
    form = views.Form(values, chosen=list(agenda.appointment_types))
    return await _edit_form(request, session, agenda, form)


@router.post("/agendas/{agenda_id}/modifier", response_class=HTMLResponse)
async def update_agenda(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    agenda_id: IdPath,
    nom: FormField = "",
    agent_id: Annotated[str, Form(alias="agent")] = "",
    types: Annotated[list[str] | None, Form()] = None,
    actif: FormField = "",
    tribunal: FormField = "",
) -> Response:
    """The API's ``PATCH /agendas/{id}``, every field sent (an emptied agent makes the agenda
    collective; no type checked: all types)."""
    agenda = await _agenda(request, session, agent, agenda_id)
    require(request, agent, Permission.agenda_write)
    form = views.Form(
        {
            "nom": nom,
            "agent": agent_id,
            "actif": "oui" if actif == "oui" else "",
            "tribunal": "oui" if tribunal == "oui" else "",
        },
        chosen=list(types or []),
    )
    values = {
        "name": nom.strip(),
        "agent_id": views.optional_id(agent_id),
        "appointment_types": form.chosen,
        "active": actif == "oui",
        "open_to_courts": tribunal == "oui",
    }
    data = views.validated(form, AgendaUpdate, values)
    if data is None:
        return await _edit_form(request, session, agenda, form, status_code=422)
    try:
        async with session.begin_nested():
            await service.update_agenda(session, agenda=agenda, data=data)
    except AppError as exc:
        await session.refresh(agenda)
        views.explain(form, exc)
        return await _edit_form(request, session, agenda, form, status_code=422)
    return RedirectResponse(f"/agendas/{agenda.id}?ok=modifie", status_code=303)


# --- Un agenda : ouvertures récurrentes et semaine de créneaux -------------------------------

_NOTICES = {
    "cree": "L'agenda est créé. Ajoutez-lui des ouvertures récurrentes.",
    "ferme": "Le créneau est fermé : il ne prend plus de nouvelle convocation.",
    "rouvert": "Le créneau est rouvert.",
    "modifie": "L'agenda est modifié.",
}


async def _agenda_page(
    request: Request,
    session: AsyncSession,
    agent: Agent,
    agenda: Agenda,
    *,
    semaine: str | None = None,
    form: views.Form | None = None,
    batch: views.Form | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    place = await spip_service.get_place(session, agenda.place_id)
    today = _today(place)
    monday = views.week_param(semaine, today)
    sunday = monday + timedelta(days=6)
    slots = await service.list_slots(
        session, place=place, agenda_id=agenda.id, first=monday, last=sunday
    )
    owner = await agent_service.get_agent(session, agenda.agent_id) if agenda.agent_id else None
    types = {t.code: t.label for t in await appointment_service.list_types(session)}
    openings = [
        (t, views.describe(t)) for t in await service.list_slot_types(session, agenda_id=agenda.id)
    ]
    if form is None:
        form = views.Form({"jour": "", "duree": "20", "capacite": "1", "debut": today.isoformat()})
    context = {
        "nav": "agendas",
        "agenda": agenda,
        "place": place,
        "owner": owner,
        "type_labels": types,
        "openings": openings,
        "form": form,
        "labels": views.OPENING_LABELS,
        "weekdays": [("", "Choisir un jour"), *views.WEEKDAYS],
        "heure_de": heure_de(place.timezone),
        "zone_city": zone_name(place.timezone),
        "monday": monday,
        "week_label": f"du {french_date(monday)} au {french_date(sunday)}",
        "previous": (monday - timedelta(days=7)).isoformat(),
        "next": (monday + timedelta(days=7)).isoformat(),
        "this_week": views.monday_of(today) == monday,
        "days": views.week_days(monday, slots, place.timezone, utcnow()),
        "can_write": access.can(agent, Permission.agenda_write),
        "can_book": access.can(agent, Permission.appointment_write) and agenda.active,
        "batch": batch or slot_views.batch_form(),
        "batch_labels": slot_views.BATCH_LABELS,
        "notice": notice,
    }
    return render(request, "pages/agenda.html", context, status_code=status_code)


@router.get("/agendas/{agenda_id}", response_class=HTMLResponse)
async def agenda_page(
    request: Request,
    session: SessionDep,
    agent: PageAgent,
    agenda_id: IdPath,
    semaine: str | None = None,
    ok: str = "",
    crees: str = "0",
    retires: str = "0",
    deja: str = "0",
) -> HTMLResponse:
    require(request, agent, Permission.agenda_read)
    agenda = await _agenda(request, session, agent, agenda_id)
    notice = _NOTICES.get(ok)
    count = int(crees) if crees.isdigit() and len(crees) < 7 else 0
    removed = int(retires) if retires.isdigit() and len(retires) < 7 else 0
    existing = int(deja) if deja.isdigit() and len(deja) < 7 else 0
    if ok == "ponctuels":
        notice = slot_views.opened_words(count, existing)
    elif ok == "ouverture":
        plural = "x ouverts" if count > 1 else " ouvert"
        notice = f"L'ouverture est enregistrée : {count} créneau{plural}."
    elif ok == "terminee":
        notice = (
            f"L'ouverture est terminée : {removed} créneau{'x' if removed > 1 else ''} "
            "à venir sans convocation supprimé" + ("s" if removed > 1 else "") + " ; "
            "les créneaux qui ont une convocation sont gardés."
        )
    return await _agenda_page(request, session, agent, agenda, semaine=semaine, notice=notice)


@router.post("/agendas/{agenda_id}/ouvertures", response_class=HTMLResponse)
async def add_opening(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    agenda_id: IdPath,
    jour: FormField = "",
    heure: FormField = "",
    duree: FormField = "",
    capacite: FormField = "",
    debut: FormField = "",
    fin: FormField = "",
) -> Response:
    """The API's ``POST /agendas/{id}/slot-types``: its slots are opened at once up to the
    horizon; the page says how many."""
    agenda = await _agenda(request, session, agent, agenda_id)
    require(request, agent, Permission.agenda_write)
    form = views.Form(
        {"jour": jour, "heure": heure, "duree": duree, "capacite": capacite, "debut": debut}
        | {"fin": fin}
    )
    values = views.opening_values(form)
    data = views.validated(form, SlotTypeCreate, values)
    if data is None or form.errors:
        return await _agenda_page(request, session, agent, agenda, form=form, status_code=422)
    try:
        async with session.begin_nested():
            _, created = await service.create_slot_type(session, agenda=agenda, data=data)
    except AppError as exc:
        views.explain(form, exc)
        return await _agenda_page(request, session, agent, agenda, form=form, status_code=422)
    # The week of its first occurrence, where the agent looks next.
    place = await spip_service.get_place(session, agenda.place_id)
    first = max(data.from_date, _today(place))
    first += timedelta(days=(data.weekday - first.isoweekday()) % 7)
    week = views.monday_of(first).isoformat()
    url = f"/agendas/{agenda.id}?ok=ouverture&crees={created}&semaine={week}"
    return RedirectResponse(url, status_code=303)


@router.post("/agendas/{agenda_id}/creneaux", response_class=HTMLResponse)
async def add_slots(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    agenda_id: IdPath,
    p_forme: FormField = "liste",
    p_dates: FormField = "",
    p_heures: FormField = "",
    p_jour: FormField = "",
    p_debut: FormField = "",
    p_fin: FormField = "",
    p_intervalle: FormField = "",
    p_duree: FormField = "",
    p_capacite: FormField = "",
) -> Response:
    """The API's ``POST /agendas/{id}/slots``: one-off slots, several dates × several times or
    one day from a start to an end; those the agenda already has are counted, not doubled."""
    agenda = await _agenda(request, session, agent, agenda_id)
    require(request, agent, Permission.agenda_write)
    typed = {"p_forme": "serie" if p_forme == "serie" else "liste", "p_dates": p_dates}
    typed |= {"p_heures": p_heures, "p_jour": p_jour, "p_debut": p_debut, "p_fin": p_fin}
    typed |= {"p_intervalle": p_intervalle, "p_duree": p_duree, "p_capacite": p_capacite}
    batch = views.Form(typed)
    data = slot_views.read_batch(batch)
    if data is None:
        return await _agenda_page(request, session, agent, agenda, batch=batch, status_code=422)
    try:
        async with session.begin_nested():
            created, skipped = await service.create_slots(session, agenda=agenda, data=data)
    except AppError as exc:
        slot_views.explain_batch(batch, exc)
        return await _agenda_page(request, session, agent, agenda, batch=batch, status_code=422)
    # The week of the first slot asked for, where the agent looks next.
    week = views.monday_of(data.local_starts()[0].date()).isoformat()
    url = f"/agendas/{agenda.id}?ok=ponctuels&crees={len(created)}&deja={skipped}&semaine={week}"
    return RedirectResponse(url + "#semaine", status_code=303)


@router.post("/agendas/{agenda_id}/ouvertures/{slot_type_id}/terminer", response_class=HTMLResponse)
async def end_opening(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    agenda_id: IdPath,
    slot_type_id: IdPath,
) -> Response:
    """The API's ``DELETE /slot-types/{id}``: no more slots; its future slots without a
    convocation are deleted, those that hold one are kept."""
    agenda = await _agenda(request, session, agent, agenda_id)
    require(request, agent, Permission.agenda_write)
    slot_type = await service.get_slot_type(session, slot_type_id)
    if slot_type.agenda_id != agenda.id:
        raise SlotTypeNotFound()
    removed = await service.delete_slot_type(session, slot_type=slot_type)
    return RedirectResponse(f"/agendas/{agenda.id}?ok=terminee&retires={removed}", 303)


@router.post("/agendas/creneaux/{slot_id}", response_class=HTMLResponse)
async def close_slot(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    slot_id: IdPath,
    ferme: FormField = "",
    semaine: FormField = "",
) -> Response:
    """The API's ``PATCH /slots/{id}`` ``{"closed": …}``: a closed slot takes no new
    convocation, those already booked stay."""
    slot = await service.get_slot(session, slot_id)
    ensure_scope(request, agent, slot.spip_id, SlotNotFound, entity="slot", entity_id=slot.id)
    require(request, agent, Permission.agenda_write)
    closed = ferme == "oui"
    await service.update_slot(session, slot=slot, data=SlotUpdate(closed=closed))
    place = await spip_service.get_place(session, slot.place_id)
    local_day = slot.starts_at.astimezone(zone(place.timezone)).date()
    week = views.week_param(semaine, local_day).isoformat()
    ok = "ferme" if closed else "rouvert"
    return RedirectResponse(f"/agendas/{slot.agenda_id}?ok={ok}&semaine={week}", 303)
