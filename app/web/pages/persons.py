"""Personnes: the search (a POST: no name, number or birth date in a URL), a person's page
(identity, phone and its status, referent, convocations), its actions (identity, refusal of
SMS, referent, archiving, deletion of a person entered by mistake) and the creation with its
warning about likely duplicates — all through the persons service, with the API's access rules
and its audit trail (the flush of the request's session records each change, for the agent of
the page)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from app.agents import service as agent_service
from app.appointments import service as appointment_service
from app.appointments.schemas import AppointmentFilters, AppointmentSort
from app.auth import access
from app.auth.access import Permission
from app.auth.dependencies import require
from app.core.clock import utcnow
from app.core.errors import AppError
from app.core.pagination import PageParams
from app.core.schemas import IdPath
from app.db import SessionDep
from app.models import Agent, Person, PhoneStatus, Role, Spip
from app.persons import export as person_export
from app.persons import service as person_service
from app.persons.errors import InvalidSearchDate, PersonHasAppointments, PersonLikelyDuplicate
from app.persons.schemas import PersonUpdate
from app.replies import service as reply_service
from app.spips.errors import SpipNotFound
from app.web import audit as trail
from app.web import loaders
from app.web import persons as views
from app.web import replies as reply_views
from app.web.sessions import PageAgent, PostingAgent
from app.web.templating import render

router = APIRouter()
FormField = Annotated[str, Form()]
APPOINTMENTS_SHOWN = 20


async def _agents(session: AsyncSession, spip_id: int | None) -> list[Agent]:
    return [a for a in await agent_service.list_agents(session, spip_id=spip_id) if a.active]


# --- Recherche -------------------------------------------------------------------------------


@router.get("/personnes", response_class=HTMLResponse)
async def search_page(
    request: Request, session: SessionDep, agent: PageAgent, ok: str = ""
) -> HTMLResponse:
    form = views.SearchForm(mine=agent.role == Role.cpip.value)
    return await _search(request, session, agent, form, notice=views.LIST_NOTICES.get(ok))


@router.post("/personnes", response_class=HTMLResponse)
async def search(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    q: FormField = "",
    mes: FormField = "",
    archivees: FormField = "",
    page: FormField = "1",
) -> HTMLResponse:
    number = int(page) if page.isdigit() and len(page) < 6 else 1
    form = views.SearchForm(q=q[:100], mine=mes == "oui", archived=archivees == "oui", page=number)
    return await _search(request, session, agent, form)


async def _search(
    request: Request,
    session: AsyncSession,
    agent: Agent,
    form: views.SearchForm,
    *,
    notice: str | None = None,
) -> HTMLResponse:
    """The API's search (``list_persons``: names, a mobile in any form, a birth date)."""
    require(request, agent, Permission.person_read)
    spip_id = access.list_scope(agent, None, SpipNotFound)
    persons: list[Person] = []
    total = 0
    status = 200
    try:
        persons, total = await person_service.list_persons(
            session,
            page=PageParams(limit=views.PAGE_SIZE, offset=(form.page - 1) * views.PAGE_SIZE),
            spip_id=spip_id,
            q=form.q or None,
            referent_agent_id=agent.id if form.mine else None,
            archived=None if form.archived else False,
        )
    except InvalidSearchDate as exc:
        form.errors["q"] = exc.detail
        # htmx swaps the answer in place (the field's message): an error only for a full page.
        status = 200 if request.headers.get("HX-Request") else 422
    referents = {a.id: a.name for a in await agent_service.list_agents(session, spip_id=spip_id)}
    context = {
        "form": form,
        "labels": views.LABELS,
        "rows": [
            {
                "person": p,
                "phone": views.national(p.phone),
                "referent": referents.get(p.referent_agent_id or 0),
            }
            for p in persons
        ],
        "total": total,
        "pages": views.pages(total),
        "is_cpip": agent.role == Role.cpip.value,
        "can_create": access.can(agent, Permission.person_write) and agent.spip_id is not None,
        "notice": notice,
    }
    return render(request, "pages/persons.html", context, status_code=status)


# --- Création --------------------------------------------------------------------------------


@router.get("/personnes/nouvelle", response_class=HTMLResponse)
async def new_person(
    request: Request, session: SessionDep, agent: PageAgent, creneau: str = ""
) -> HTMLResponse:
    """``?creneau=``: from « Convoquer » in an agenda's slot, the booking in it comes next."""
    spip_id = _own_spip(request, agent).id
    form = views.PersonForm(referent=str(agent.id) if agent.role == Role.cpip.value else "")
    return await _creation(request, session, spip_id, form, slot=_slot_id(creneau))


def _slot_id(value: str) -> str:
    return value if value.isdigit() and len(value) < 10 else ""


def _own_spip(request: Request, agent: Agent) -> Spip:
    """A person is created in the agent's SPIP (a national administrator has none)."""
    require(request, agent, Permission.person_write)
    spip: Spip | None = getattr(request.state, "web_spip", None)
    if spip is None:
        raise SpipNotFound()
    return spip


async def _creation(
    request: Request,
    session: AsyncSession,
    spip_id: int,
    form: views.PersonForm,
    *,
    candidates: list[Person] | None = None,
    status_code: int = 200,
    slot: str = "",
) -> HTMLResponse:
    context = {
        "creneau": slot,
        "form": form,
        "labels": views.LABELS,
        "agents": [(a.id, views.agent_label(a)) for a in await _agents(session, spip_id)],
        "candidates": [{"person": p, "phone": views.national(p.phone)} for p in candidates or []],
    }
    return render(request, "pages/person_new.html", context, status_code=status_code)


@router.post("/personnes/nouvelle", response_class=HTMLResponse)
async def create(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    prenom: FormField = "",
    nom: FormField = "",
    naissance: FormField = "",
    telephone: FormField = "",
    refus: FormField = "",
    referent: FormField = "",
    doublon: FormField = "",
    creneau: FormField = "",
) -> Response:
    """« Enregistrer »; a likely duplicate comes back with the candidates, and « Créer quand
    même » sends ``doublon=oui`` (the API's ``allow_duplicate``). With ``creneau`` (from an
    agenda's slot), the booking page set on that slot follows."""
    spip_id = _own_spip(request, agent).id
    slot = _slot_id(creneau)
    form = views.PersonForm(prenom, nom, naissance, telephone, refus == "oui", referent)
    data = views.to_create(form, spip_id, allow_duplicate=doublon == "oui")
    if data is None:
        return await _creation(request, session, spip_id, form, status_code=422, slot=slot)
    try:
        person = await person_service.create_person(session, data=data)
    except PersonLikelyDuplicate as exc:
        candidates = list(
            await session.scalars(select(Person).where(Person.id.in_(exc.candidate_ids)))
        )
        return await _creation(request, session, spip_id, form, candidates=candidates, slot=slot)
    except AppError as exc:
        await session.rollback()
        views.explain_error(form, exc)
        return await _creation(request, session, spip_id, form, status_code=422, slot=slot)
    if slot:
        return RedirectResponse(f"/personnes/{person.id}/convoquer?creneau={slot}", 303)
    return RedirectResponse(f"/personnes/{person.id}?ok=creee", status_code=303)


# --- Fiche -----------------------------------------------------------------------------------


@router.get("/personnes/{person_id}", response_class=HTMLResponse)
async def person_page(
    request: Request, session: SessionDep, agent: PageAgent, person_id: IdPath, ok: str = ""
) -> HTMLResponse:
    person = await loaders.person(request, session, agent, person_id, Permission.person_read)
    return await _fiche(request, session, agent, person, notice=views.NOTICES.get(ok))


async def _fiche(
    request: Request,
    session: AsyncSession,
    agent: Agent,
    person: Person,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    spip = await session.get_one(Spip, person.spip_id)
    now = utcnow()
    upcoming, past = await _appointments(session, person, spip, now)
    referent = (
        await session.get(Agent, person.referent_agent_id) if person.referent_agent_id else None
    )
    can_write = access.can(agent, Permission.person_write)
    can_archive = access.can(agent, Permission.person_archive)
    context: dict[str, Any] = {
        "person": person,
        "phone": views.phone_view(person),
        "refused": person.phone_status == PhoneStatus.refused.value,
        "referent": views.agent_label(referent) if referent else None,
        "agents": [(a.id, views.agent_label(a)) for a in await _agents(session, spip.id)]
        if can_write
        else [],
        "upcoming": upcoming,
        "past": past,
        "can_write": can_write,
        "can_book": access.can(agent, Permission.appointment_write) and not person.archived,
        "can_archive": can_archive,
        "can_export": access.can(agent, Permission.person_export),
        # Deletion is for a person entered by mistake: one with convocations is archived.
        "can_delete": can_archive
        and not await person_service.appointment_count(session, person.id),
        "notice": notice,
        "error": error,
        "history": await trail.history(session, agent, "person", person.id, tz_name=spip.timezone),
        "replies": reply_views.lines(
            await reply_service.for_person(session, person.id), spip.timezone
        ),
    }
    return render(request, "pages/person.html", context, status_code=status_code)


async def _appointments(
    session: AsyncSession, person: Person, spip: Spip, now: datetime
) -> tuple[list[views.AppointmentLine], list[views.AppointmentLine]]:
    """The next convocations (soonest first) and the last past ones (latest first)."""
    base = AppointmentFilters(spip_id=person.spip_id, person_id=person.id)
    coming, _ = await appointment_service.list_appointments(
        session,
        filters=replace(base, starts_from=now),
        page=PageParams(limit=APPOINTMENTS_SHOWN),
    )
    gone, _ = await appointment_service.list_appointments(
        session,
        filters=replace(base, starts_to=now),
        page=PageParams(limit=APPOINTMENTS_SHOWN),
        sort=AppointmentSort.date_desc,
    )
    lines = views.appointment_lines
    return (
        lines(coming, spip_tz=spip.timezone, now=now),
        lines(gone, spip_tz=spip.timezone, now=now),
    )


async def _update(
    request: Request,
    session: AsyncSession,
    agent: Agent,
    person: Person,
    data: PersonUpdate,
    done: str,
) -> Response:
    """``update_person``, the API PATCH's service; its flush writes the audit rows."""
    person_id = person.id
    try:
        await person_service.update_person(session, person=person, data=data)
    except AppError as exc:
        await session.rollback()
        await session.refresh(agent)  # the rollback expired what the page reads of them
        person = await person_service.get_person(session, person_id)
        return await _fiche(
            request, session, agent, person, error=exc.detail, status_code=exc.status_code
        )
    return RedirectResponse(f"/personnes/{person_id}?ok={done}", status_code=303)


# --- Modifier l'identité et le téléphone -----------------------------------------------------


@router.get("/personnes/{person_id}/modifier", response_class=HTMLResponse)
async def edit_page(
    request: Request, session: SessionDep, agent: PageAgent, person_id: IdPath
) -> HTMLResponse:
    person = await loaders.person(request, session, agent, person_id, Permission.person_write)
    return _edit(request, person, views.form_of(person))


def _edit(
    request: Request, person: Person, form: views.PersonForm, status_code: int = 200
) -> HTMLResponse:
    context = {"person": person, "form": form, "labels": views.LABELS}
    return render(request, "pages/person_edit.html", context, status_code=status_code)


@router.post("/personnes/{person_id}/modifier", response_class=HTMLResponse)
async def edit(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    person_id: IdPath,
    prenom: FormField = "",
    nom: FormField = "",
    naissance: FormField = "",
    telephone: FormField = "",
) -> Response:
    person = await loaders.person(request, session, agent, person_id, Permission.person_write)
    form = views.PersonForm(prenom, nom, naissance, telephone)
    data = views.to_update(form)
    if data is None:
        return _edit(request, person, form, 422)
    try:
        await person_service.update_person(session, person=person, data=data)
    except AppError as exc:
        await session.rollback()
        views.explain_error(form, exc)
        person = await person_service.get_person(session, person_id)
        return _edit(request, person, form, 422)
    return RedirectResponse(f"/personnes/{person.id}?ok=modifiee", status_code=303)


# --- Refus des SMS, référent, archivage ------------------------------------------------------


@router.post("/personnes/{person_id}/sms", response_class=HTMLResponse)
async def sms_choice(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    person_id: IdPath,
    choix: FormField = "",
) -> Response:
    """« refus »: the person declines SMS (the number is kept for calls); « accord » undoes it."""
    person = await loaders.person(request, session, agent, person_id, Permission.person_write)
    if choix == "refus":
        status = PhoneStatus.refused
    elif choix == "accord":
        status = PhoneStatus.valid if person.phone else PhoneStatus.none
    else:
        return await _fiche(
            request, session, agent, person, error="Choix inconnu.", status_code=422
        )
    return await _update(request, session, agent, person, PersonUpdate(phone_status=status), choix)


@router.post("/personnes/{person_id}/referent", response_class=HTMLResponse)
async def set_referent(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    person_id: IdPath,
    referent: FormField = "",
) -> Response:
    person = await loaders.person(request, session, agent, person_id, Permission.person_write)
    chosen = int(referent) if referent.isdigit() and len(referent) < 10 else None
    data = PersonUpdate(referent_agent_id=chosen)
    return await _update(request, session, agent, person, data, "referent")


@router.get("/personnes/{person_id}/archiver", response_class=HTMLResponse)
async def archive_page(
    request: Request, session: SessionDep, agent: PageAgent, person_id: IdPath
) -> HTMLResponse:
    """What archiving (or taking the file up again) does, before it is done."""
    person = await loaders.person(request, session, agent, person_id, Permission.person_archive)
    return render(request, "pages/person_archive.html", {"person": person})


@router.post("/personnes/{person_id}/archiver", response_class=HTMLResponse)
async def archive(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    person_id: IdPath,
    archiver: FormField = "",
) -> Response:
    person = await loaders.person(request, session, agent, person_id, Permission.person_archive)
    archived = archiver == "oui"
    done = "archivee" if archived else "desarchivee"
    return await _update(request, session, agent, person, PersonUpdate(archived=archived), done)


# --- Droit d'accès : exporter les données de la personne ----------------------------------


@router.get("/personnes/{person_id}/export")
async def export_data(
    request: Request, session: SessionDep, agent: PageAgent, person_id: IdPath
) -> Response:
    """The person's data as JSON (right of access), exactly as the API exports it; audited."""
    person = await loaders.person(request, session, agent, person_id, Permission.person_export)
    document = await person_export.export_person(session, person=person, agent=agent)
    return Response(
        person_export.as_json(document),
        media_type="application/json",
        headers=person_export.download_headers(person.id),
    )


# --- Supprimer une personne saisie par erreur ------------------------------------------------


@router.get("/personnes/{person_id}/supprimer", response_class=HTMLResponse)
async def delete_page(
    request: Request, session: SessionDep, agent: PageAgent, person_id: IdPath
) -> HTMLResponse:
    """What deleting does (definitive, for a person entered by mistake), before it is done."""
    person = await loaders.person(request, session, agent, person_id, Permission.person_archive)
    return await _deletion(request, session, person)


async def _deletion(
    request: Request,
    session: AsyncSession,
    person: Person,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "person": person,
        "booked": await person_service.appointment_count(session, person.id),
        "error": error,
    }
    return render(request, "pages/person_delete.html", context, status_code=status_code)


@router.post("/personnes/{person_id}/supprimer", response_class=HTMLResponse)
async def delete(
    request: Request, session: SessionDep, agent: PostingAgent, person_id: IdPath
) -> Response:
    """``delete_person``, the API DELETE's service; its flush writes the audit row (ids only).
    A convocation booked meanwhile (the service's refusal, or the database's restriction when
    it was booked during the deletion) comes back on this page in French, the person kept."""
    person = await loaders.person(request, session, agent, person_id, Permission.person_archive)
    try:
        await person_service.delete_person(session, person=person)
    except (AppError, IntegrityError) as exc:
        await session.rollback()
        await session.refresh(agent)  # the rollback expired what the page reads of them
        person = await person_service.get_person(session, person_id)
        refusal = exc if isinstance(exc, AppError) else PersonHasAppointments()
        return await _deletion(
            request, session, person, error=refusal.detail, status_code=refusal.status_code
        )
    return RedirectResponse("/personnes?ok=supprimee", status_code=303)
