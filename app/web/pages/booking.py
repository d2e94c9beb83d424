"""Convoquer une personne: one form, the preview of the SMS the booking would plan (htmx on
each change, « Vérifier » without JavaScript), and the booking itself, all through the
appointments service (the API's checks, planner and renderer)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from app.appointments import service as appointment_service
from app.appointments.schemas import BookingPreviewRead
from app.auth.access import Permission
from app.core.errors import AppError
from app.core.schemas import IdPath
from app.db import SessionDep
from app.models import Agent, Person, Spip
from app.persons import service as person_service
from app.spips import service as spip_service
from app.web import booking, loaders, today
from app.web.sessions import PageAgent, PostingAgent
from app.web.templating import render

router = APIRouter()


async def _person(request: Request, session: AsyncSession, agent: Agent, person_id: int) -> Person:
    return await loaders.person(request, session, agent, person_id, Permission.appointment_write)


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
    place = booking.place_of(form, places)
    context = {
        "person": person,
        "places": places,
        "types": types,
        "form": form,
        "labels": booking.LABELS,
        "zone": today.zone_label(place.timezone, spip.timezone) if place else None,
        "preview": preview,
        "sms": booking.sms_lines(preview, spip.timezone) if preview is not None else None,
        "fragment": fragment,
    }
    name = "pages/_booking_preview.html" if fragment else "pages/booking.html"
    return render(request, name, context, status_code=status_code)


@router.get("/personnes/{person_id}/convoquer", response_class=HTMLResponse)
async def booking_form(
    request: Request, session: SessionDep, agent: PageAgent, person_id: IdPath
) -> HTMLResponse:
    person = await _person(request, session, agent, person_id)
    return await _page(request, session, person, None)


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
    action: FormField = "convoquer",
) -> Response:
    """« Vérifier » (and htmx on each change) shows the preview; « Convoquer » books."""
    person = await _person(request, session, agent, person_id)
    form = booking.Form(type=type, lieu=lieu, date=date, heure=heure, envoyer=envoyer == "oui")
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
        status = 200 if fragment else 422
        return await _page(request, session, person, form, status_code=status, fragment=fragment)
    return RedirectResponse(f"/convocations/{view.appointment.id}?nouvelle=1", status_code=303)
