"""Sortie d'audience: the court clerk's pages — the agendas the court's SPIPs open to it, a
month of free seats, a day's slots, booking in one page and the printable summary handed to
the person — over ``app.courts.service`` (the API's rules: a clerk sees only the agendas open
to their court and only the convocations they gave)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from app.agendas import service as agenda_service
from app.agents import service as agent_service
from app.appointments import service as appointment_service
from app.auth.access import Permission
from app.auth.dependencies import require
from app.auth.errors import Forbidden
from app.core.clock import utcnow
from app.core.errors import AppError
from app.core.localtime import zone
from app.core.schemas import IdPath
from app.courts import service, summaries
from app.courts.schemas import CourtBookingCreate
from app.db import SessionDep
from app.models import Agent
from app.persons import service as person_service
from app.persons.errors import PersonLikelyDuplicate
from app.web import court as views
from app.web import persons as person_views
from app.web.sessions import PageAgent, PostingAgent
from app.web.templating import french_date, render

router = APIRouter()
FormField = Annotated[str, Form()]


def _clerk(request: Request, agent: Agent) -> None:
    """The court's pages: for its clerks (``court:booking``), who belong to a court."""
    require(request, agent, Permission.court_booking)
    if agent.court_id is None:
        raise Forbidden()


@router.get("/tribunal", response_class=HTMLResponse)
async def court_home(request: Request, session: SessionDep, agent: PageAgent) -> HTMLResponse:
    _clerk(request, agent)
    now = utcnow()
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for item in await service.court_agendas(session, agent=agent):
        key = (item.spip.name, item.place.name)
        groups.setdefault(key, []).append(
            {
                "item": item,
                "zone": views.zone_of(item.place.timezone),
                "next": await _next_free(session, item, now),
            }
        )
    context = {"nav": "tribunal", "groups": sorted(groups.items())}
    return render(request, "pages/tribunal.html", context)


async def _next_free(session: AsyncSession, item: Any, now: Any) -> str | None:
    """The next free seat, looked for in this month and the next (two cheap queries)."""
    today = now.astimezone(zone(item.place.timezone)).date()
    month = today.replace(day=1)
    for offset in (0, 1):
        first = views.shift_month(month, offset)
        days = await service.month_availability(session, item=item, month=first, now=now)
        free = [d.day for d in days if d.free_seats > 0 and d.day >= today]
        if free:
            return french_date(min(free))
    return None


@router.get("/tribunal/agendas/{agenda_id}", response_class=HTMLResponse)
async def court_agenda(
    request: Request,
    session: SessionDep,
    agent: PageAgent,
    agenda_id: IdPath,
    mois: str | None = None,
    jour: str | None = None,
) -> HTMLResponse:
    """A month of the agenda (a table, one cell a day) and, with ``jour``, that day's slots;
    htmx swaps the day's part only (``hx-select``), the same template without JavaScript."""
    _clerk(request, agent)
    item = await service.get_court_agenda(session, agent=agent, agenda_id=agenda_id)
    now = utcnow()
    today = now.astimezone(zone(item.place.timezone)).date()
    chosen = views.day_param(jour)
    month = views.month_param(mois or (chosen.isoformat()[:7] if chosen else None), today)
    if chosen is not None and chosen.replace(day=1) != month:
        chosen = None
    availability = await service.month_availability(session, item=item, month=month, now=now)
    slots = await service.day_slots(session, item=item, day=chosen, now=now) if chosen else []
    context = {
        "nav": "tribunal",
        "item": item,
        "zone": views.zone_of(item.place.timezone),
        "month": month,
        "month_label": views.month_label(month),
        "weekdays": views.WEEKDAYS,
        "weeks": views.month_weeks(month, availability, chosen),
        "previous": views.shift_month(month, -1).isoformat()[:7]
        if month > today.replace(day=1)
        else None,
        "next": views.shift_month(month, 1).isoformat()[:7],
        "chosen": chosen,
        "chosen_label": french_date(chosen) if chosen else None,
        "slots": views.slot_lines(slots, now),
    }
    return render(request, "pages/tribunal_agenda.html", context)


# --- Convoquer -------------------------------------------------------------------------------


async def _slot_item(
    request: Request, session: AsyncSession, agent: Agent, slot_id: int
) -> tuple[Any, Any]:
    """The slot and its agenda as the clerk sees it (an agenda not open to the court: 404)."""
    _clerk(request, agent)
    slot = await agenda_service.get_slot(session, slot_id)
    item = await service.get_court_agenda(session, agent=agent, agenda_id=slot.agenda_id)
    return slot, item


async def _booking_page(
    request: Request,
    session: AsyncSession,
    slot: Any,
    item: Any,
    form: views.BookingForm,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    types = views.accepted_types(
        await appointment_service.list_types(session), list(item.agenda.appointment_types or [])
    )
    if not form.type and len(types) == 1:
        form.type = types[0].code
    local_day = slot.starts_at.astimezone(zone(item.place.timezone)).date()
    context = {
        "nav": "tribunal",
        "item": item,
        "slot": slot,
        "when": views.when(slot.starts_at, item.place.timezone),
        "form": form,
        "labels": views.LABELS,
        "types": types,
        "day_url": f"/tribunal/agendas/{item.agenda.id}?mois={local_day.isoformat()[:7]}"
        f"&jour={local_day.isoformat()}",
        "slot_full": views.SLOT_FULL,
        "duplicate": views.DUPLICATE,
    }
    return render(request, "pages/tribunal_booking.html", context, status_code=status_code)


@router.get("/tribunal/creneaux/{slot_id}/convoquer", response_class=HTMLResponse)
async def booking_form(
    request: Request, session: SessionDep, agent: PageAgent, slot_id: IdPath
) -> HTMLResponse:
    slot, item = await _slot_item(request, session, agent, slot_id)
    return await _booking_page(request, session, slot, item, views.BookingForm())


@router.post("/tribunal/creneaux/{slot_id}/convoquer", response_class=HTMLResponse)
async def book(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    slot_id: IdPath,
    nom: FormField = "",
    prenom: FormField = "",
    naissance: FormField = "",
    telephone: FormField = "",
    type: FormField = "",
    choix: FormField = "",
    candidat: FormField = "",
) -> Response:
    """« Convoquer »; on a likely duplicate, ``choix=meme`` books the person already followed
    (the opaque ``candidat`` the service gave), ``choix=autre`` creates a new one."""
    slot, item = await _slot_item(request, session, agent, slot_id)
    person = person_views.PersonForm(prenom=prenom, nom=nom, naissance=naissance)
    person.telephone = telephone
    form = views.BookingForm(person=person, type=type)
    if not type:
        form.person.errors["type"] = "Choisissez le type de convocation."
    # The persons' own reading of the fields (names required, a French birth date).
    read = person_views.to_create(person, item.spip.id, allow_duplicate=False)
    if read is None or form.errors:
        return await _booking_page(request, session, slot, item, form, status_code=422)
    values: dict[str, Any] = {
        "slot_id": slot.id,
        "appointment_type": type,
        "person": read.model_dump(include={"first_name", "last_name", "birth_date", "phone"}),
        "allow_duplicate": choix == "autre",
    }
    if choix == "meme":
        values["person_id"] = candidat
    try:
        data = CourtBookingCreate.model_validate(values)
        async with session.begin_nested():
            appointment = await service.book(session, agent=agent, data=data, now=utcnow())
    except ValidationError:
        form.person.alert = "Vérifiez les champs du formulaire."
        return await _booking_page(request, session, slot, item, form, status_code=422)
    except AppError as exc:
        return await _refused(request, session, slot, item, form, exc)
    return RedirectResponse(f"/tribunal/convocations/{appointment.id}?ok=1", status_code=303)


async def _refused(
    request: Request,
    session: AsyncSession,
    slot: Any,
    item: Any,
    form: views.BookingForm,
    exc: AppError,
) -> HTMLResponse:
    if exc.code == "slot_full":
        form.full = True
    elif isinstance(exc, PersonLikelyDuplicate) and exc.candidate_ids:
        # The clerk sees no file of the SPIP: only the choice, the first candidate kept for
        # « la même personne » (the service takes it only for the person described again).
        form.duplicate = True
        form.candidate = str(exc.candidate_ids[0])
    else:
        fields = exc.extra.get("fields") or []
        name = views_field(fields[0]["field"]) if fields else None
        if name:
            form.person.errors[name] = exc.detail
        else:
            form.person.alert = exc.detail
    return await _booking_page(request, session, slot, item, form, status_code=exc.status_code)


def views_field(api_field: str) -> str | None:
    last = api_field.split(".")[-1]
    return "type" if last == "appointment_type" else person_views.FIELDS.get(last)


# --- Convocations données --------------------------------------------------------------------


@router.get("/tribunal/convocations", response_class=HTMLResponse)
async def court_bookings(request: Request, session: SessionDep, agent: PageAgent) -> HTMLResponse:
    _clerk(request, agent)
    reads = await summaries.booking_reads(
        session, await service.court_bookings(session, agent=agent)
    )
    clerks = {
        i: (await agent_service.get_agent(session, i)).name
        for i in {r.created_by_id for r in reads if r.created_by_id is not None}
    }
    rows = [views.booking_row(r, clerks.get(r.created_by_id or 0)) for r in reads]
    return render(request, "pages/tribunal_bookings.html", {"nav": "donnees", "rows": rows})


@router.get("/tribunal/convocations/{appointment_id}", response_class=HTMLResponse)
async def summary(
    request: Request, session: SessionDep, agent: PageAgent, appointment_id: IdPath, ok: str = ""
) -> HTMLResponse:
    """The paper handed to the person (« Imprimer »: the print stylesheet keeps it alone)."""
    _clerk(request, agent)
    appointment = await service.get_court_booking(
        session, agent=agent, appointment_id=appointment_id
    )
    [read] = await summaries.booking_reads(session, [appointment])
    person = await person_service.get_person(session, appointment.person_id)
    context = {"nav": "donnees", "v": views.summary(read, person.phone), "new": ok == "1"}
    return render(request, "pages/tribunal_summary.html", context)
