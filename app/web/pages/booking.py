"""Convoquer une personne: one form, the preview of the SMS the booking would plan (htmx on
each change, « Vérifier » without JavaScript), and the booking itself, all through the
appointments service (the API's checks, planner and renderer). The convocation is at a free
time, or in a slot of one of the SPIP's agendas: the agenda's free slots over the next weeks
(htmx when the agenda changes, « Afficher les créneaux libres » without JavaScript), the types
it accepts, and ``slot_id`` in the API's body; ``?creneau=`` comes from the agenda's week."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from app.agendas import service as agenda_service
from app.agendas.errors import SlotNotFound
from app.appointments import service as appointment_service
from app.appointments.schemas import BookingPreviewRead
from app.auth.access import Permission
from app.auth.dependencies import ensure_scope
from app.core.clock import utcnow
from app.core.errors import AppError
from app.core.localtime import zone
from app.core.schemas import IdPath
from app.db import SessionDep
from app.models import Agenda, Agent, AppointmentType, Person, Place, Slot, Spip
from app.persons import service as person_service
from app.spips import service as spip_service
from app.web import booking, loaders, today
from app.web import slots as slot_views
from app.web.sessions import PageAgent, PostingAgent
from app.web.templating import render

router = APIRouter()
SLOT_WEEKS = 4  # how far ahead the free slots of an agenda are listed


async def _person(request: Request, session: AsyncSession, agent: Agent, person_id: int) -> Person:
    return await loaders.person(request, session, agent, person_id, Permission.appointment_write)


async def _agendas(session: AsyncSession, places: list[Place]) -> list[tuple[Place, list[Agenda]]]:
    """The agendas in use of the SPIP's places, by place (the booking's choices)."""
    groups = []
    for place in places:
        agendas = await agenda_service.list_agendas(session, place_id=place.id)
        if in_use := [a for a in agendas if a.active]:
            groups.append((place, in_use))
    return groups


async def _free_slots(
    session: AsyncSession, place: Place, agenda: Agenda, chosen: str
) -> list[slot_views.FreeSlot]:
    """The agenda's free slots from today over ``SLOT_WEEKS`` weeks (further when the chosen
    slot, from the agenda's week, is later)."""
    first = utcnow().astimezone(zone(place.timezone)).date()
    last = first + timedelta(weeks=SLOT_WEEKS) - timedelta(days=1)
    if chosen.isdigit() and len(chosen) < 10:
        slot = await session.get(Slot, int(chosen))
        if slot is not None and slot.agenda_id == agenda.id:
            last = max(last, slot.starts_at.astimezone(zone(place.timezone)).date())
    views = await agenda_service.list_slots(
        session, place=place, agenda_id=agenda.id, first=first, last=last, free=True
    )
    return [slot_views.free_slot(v) for v in views]


def _accepted(types: list[AppointmentType], agenda: Agenda | None) -> list[AppointmentType]:
    if agenda is None or not agenda.appointment_types:
        return types
    return [t for t in types if t.code in agenda.appointment_types]


async def _page(
    request: Request,
    session: AsyncSession,
    person: Person,
    form: booking.Form | None,
    *,
    preview: BookingPreviewRead | None = None,
    status_code: int = 200,
    fragment: bool = False,
) -> HTMLResponse:
    places = [
        p for p in await spip_service.list_places(session, spip_id=person.spip_id) if p.active
    ]
    types = await appointment_service.list_types(session)
    spip = await session.get_one(Spip, person.spip_id)
    form = form or booking.default_form(places, types)
    groups = await _agendas(session, places)
    agenda = next((a for _, group in groups for a in group if str(a.id) == form.agenda), None)
    slot_mode = form.mode == booking.SLOT
    place: Place | None
    if slot_mode and agenda is not None:
        place = next(p for p, group in groups if agenda in group)
    else:
        place = booking.place_of(form, places)
    context = {
        "person": person,
        "places": places,
        "types": _accepted(types, agenda) if slot_mode else types,
        "form": form,
        "labels": booking.LABELS,
        "zone": today.zone_label(place.timezone, spip.timezone) if place else None,
        "preview": preview,
        "sms": booking.sms_lines(preview, spip.timezone) if preview is not None else None,
        "fragment": fragment,
        "agenda_groups": groups,
        "slot_weeks": SLOT_WEEKS,
        "free_slots": await _free_slots(session, place, agenda, form.creneau)
        if slot_mode and agenda is not None and place is not None
        else None,
    }
    name = "pages/_booking_preview.html" if fragment else "pages/booking.html"
    return render(request, name, context, status_code=status_code)


async def _slot_form(
    request: Request, session: AsyncSession, agent: Agent, person: Person, slot_id: str
) -> booking.Form | None:
    """The form set on a slot (« Convoquer » in an agenda's week); ``None`` if not a number."""
    if not (slot_id.isdigit() and len(slot_id) < 10):
        return None
    slot, agenda = await agenda_service.slot_and_agenda(session, int(slot_id))
    ensure_scope(request, agent, slot.spip_id, SlotNotFound, entity="slot", entity_id=slot.id)
    if slot.spip_id != person.spip_id:
        raise SlotNotFound()
    accepted = agenda.appointment_types
    return booking.Form(
        mode=booking.SLOT,
        agenda=str(agenda.id),
        creneau=str(slot.id),
        type=accepted[0] if len(accepted) == 1 else "",
    )


@router.get("/personnes/{person_id}/convoquer", response_class=HTMLResponse)
async def booking_form(
    request: Request, session: SessionDep, agent: PageAgent, person_id: IdPath, creneau: str = ""
) -> HTMLResponse:
    person = await _person(request, session, agent, person_id)
    form = await _slot_form(request, session, agent, person, creneau)
    return await _page(request, session, person, form)


FormField = Annotated[str, Form()]


@router.post("/personnes/{person_id}/convoquer", response_class=HTMLResponse)
async def book(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    person_id: IdPath,
    type: FormField = "",
    lieu: FormField = "",
    date: FormField = "",
    heure: FormField = "",
    envoyer: FormField = "",
    mode: FormField = "heure",
    agenda: FormField = "",
    creneau: FormField = "",
    action: FormField = "convoquer",
) -> Response:
    """« Vérifier » (and htmx on each change) shows the preview; « Convoquer » books;
    « Afficher les créneaux libres » (htmx: a change of the mode or the agenda) shows the
    chosen agenda's free slots, nothing checked yet."""
    person = await _person(request, session, agent, person_id)
    form = booking.Form(type=type, lieu=lieu, date=date, heure=heure, envoyer=envoyer == "oui")
    form.mode = booking.SLOT if mode == booking.SLOT else "heure"
    form.agenda, form.creneau = agenda, creneau
    if action == "creneaux":
        return await _page(request, session, person, form)
    fragment = bool(request.headers.get("HX-Request")) and action == "apercu"
    places = await spip_service.list_places(session, spip_id=person.spip_id)
    data = booking.to_create(form, person.id, places)
    if data is None:
        status = 200 if fragment else 422
        return await _page(request, session, person, form, status_code=status, fragment=fragment)
    try:
        if action in ("verifier", "apercu"):
            preview = await appointment_service.preview_booking(
                session, data=data, created_by_id=agent.id, booker_role=agent.role
            )
            return await _page(request, session, person, form, preview=preview, fragment=fragment)
        view = await appointment_service.book(
            session, data=data, created_by_id=agent.id, booker_role=agent.role
        )
    except AppError as exc:
        booking.explain_error(form, exc, booking.place_of(form, places))
        await session.rollback()
        person = await person_service.get_person(session, person_id)
        status = 200 if fragment else 409 if exc.code in booking.SLOT_ERRORS else 422
        return await _page(request, session, person, form, status_code=status, fragment=fragment)
    return RedirectResponse(f"/convocations/{view.appointment.id}?nouvelle=1", status_code=303)
