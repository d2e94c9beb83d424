"""Une convocation: its details in the place's time, the timeline of its SMS, and what can be
done to it — cancel, reschedule, resend a message, and (through the home page's own action)
record its outcome — all through the API's services, loaders and access rules.

Without JavaScript each form posts and the browser is redirected back (POST/redirect/GET) with
a success alert read from what is stored; with htmx a failed form or the confirmation of a
cancellation replaces the page's ``#fiche`` only, and a success reloads the page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from app.appointments import service as appointment_service
from app.appointments.schemas import AppointmentReschedule
from app.auth import access
from app.auth.access import Permission
from app.auth.dependencies import require
from app.core.clock import utcnow
from app.core.errors import AppError
from app.core.schemas import IdPath
from app.courts import service as court_service
from app.db import SessionDep
from app.links import service as link_service
from app.models import Agent, Appointment, Notification, NotificationKind, Place, Spip
from app.reminders import preview as reminder_preview
from app.reminders import service as reminder_service
from app.reminders.errors import NotificationNotFound
from app.replies import service as reply_service
from app.spips import service as spip_service
from app.web import appointment as detail_view
from app.web import audit as trail
from app.web import booking, loaders, today
from app.web import replies as reply_views
from app.web.sessions import PageAgent, PostingAgent
from app.web.templating import render

router = APIRouter()
FormField = Annotated[str, Form()]
RESCHEDULE_LABELS = {**booking.LABELS, "date": "Nouvelle date", "heure": "Nouvelle heure"}


@dataclass(frozen=True)
class LinkPanel:
    """The convocation link as the agent sees it: its state, and whether they may change it."""

    state: str  # "active", "revoked", "expired", "none"
    writes: bool


async def _link_panel(session: AsyncSession, agent: Agent, appointment: Appointment) -> LinkPanel:
    writes = access.can(agent, Permission.appointment_write)
    link = await link_service.link_of(session, appointment.id)
    if link is None:
        return LinkPanel("none", writes)
    if link.revoked_at is not None:
        return LinkPanel("revoked", writes)
    latest = await link_service.latest_of(session, appointment)
    if utcnow() > link_service.expires_at(latest):
        return LinkPanel("expired", writes)
    return LinkPanel("active", writes)


@dataclass(frozen=True)
class CancelStep:
    """The confirmation asked before cancelling: what the person will receive."""

    notify: bool
    text: str | None  # the cancellation SMS as it will be sent


async def _appointment(
    request: Request, session: AsyncSession, agent: Agent, appointment_id: int, *, write: bool
) -> Appointment:
    permission = Permission.appointment_write if write else Permission.appointment_read
    return await loaders.appointment(request, session, agent, appointment_id, permission)


async def _page(
    request: Request,
    session: AsyncSession,
    agent: Agent,
    appointment_id: int,
    *,
    done: str | None = None,
    new: bool = False,
    error: str | None = None,
    cancel: CancelStep | None = None,
    form: booking.Form | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    view = await appointment_service.get_view(session, appointment_id)
    messages = await reminder_service.timeline(session, view.appointment)
    detail = await detail_view.load(
        session, view=view, messages=messages, viewer=agent, now=utcnow()
    )
    spip = await session.get_one(Spip, view.appointment.spip_id)
    places = [p for p in await spip_service.list_places(session, spip_id=spip.id) if p.active]
    form = form or _reschedule_form(detail)
    place = booking.place_of(form, places)
    context = {
        "d": detail,
        "alert": detail_view.success(detail, done, new),
        "error": error,
        "cancel": cancel,
        "form": form,
        "labels": RESCHEDULE_LABELS,
        "places": places,
        "zone": today.zone_label(place.timezone, spip.timezone) if place else None,
        "retour": f"/convocations/{detail.id}?fait=issue",
        "history": await trail.history(
            session, agent, "appointment", detail.id, tz_name=spip.timezone
        ),
        "court": await _court_line(session, view.appointment, detail.created_by),
        "replies": reply_views.lines(
            await reply_service.for_appointment(session, detail.id), detail.timezone
        ),
        "link": await _link_panel(session, agent, view.appointment),
    }
    if request.headers.get("HX-Request"):
        status_code = 200  # as the booking page: htmx shows the form's errors in place
    return render(request, "pages/appointment.html", context, status_code=status_code)


async def _court_line(
    session: AsyncSession, appointment: Appointment, clerk: str | None
) -> str | None:
    """« Tribunal judiciaire de Cayenne (Marie Greffe) »: who gave it at the sortie d'audience."""
    if appointment.court_id is None:
        return None
    court = await court_service.get_court(session, appointment.court_id)
    return f"{court.name} ({clerk})" if clerk else court.name


def _reschedule_form(detail: detail_view.Detail) -> booking.Form:
    """Filled with the convocation's place, day and time: the agent changes what moves."""
    return booking.Form(
        type=detail.type_code,
        lieu=str(detail.place_id),
        date=detail.local_start.date().isoformat(),
        heure=f"{detail.local_start:%H:%M}",
        envoyer=True,
    )


def _done(request: Request, appointment_id: int, done: str) -> Response:
    """After a success: back to the page (POST/redirect/GET); htmx reloads it whole."""
    target = f"/convocations/{appointment_id}?fait={done}"
    if request.headers.get("HX-Request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


@router.get("/convocations/{appointment_id:int}", response_class=HTMLResponse)
async def appointment_page(
    request: Request,
    session: SessionDep,
    agent: PageAgent,
    appointment_id: IdPath,
    nouvelle: Annotated[str | None, Query()] = None,
    fait: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    appointment = await _appointment(request, session, agent, appointment_id, write=False)
    done = fait if fait in detail_view.DONE else None
    return await _page(request, session, agent, appointment.id, done=done, new=nouvelle == "1")


@router.post("/convocations/{appointment_id:int}/annuler", response_class=HTMLResponse)
async def cancel(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    appointment_id: IdPath,
    prevenir: FormField = "",
    etape: FormField = "confirmer",
) -> Response:
    """« Annuler… » asks for confirmation and says what the person will receive; « Confirmer
    l'annulation » cancels (``appointment_service.cancel``, the API's checks and SMS)."""
    appointment = await _appointment(request, session, agent, appointment_id, write=True)
    notify = prevenir == "oui"
    if etape != "annuler":
        step = await _cancel_step(session, appointment, notify)
        return await _page(request, session, agent, appointment.id, cancel=step)
    try:
        await appointment_service.cancel(session, appointment=appointment, notify=notify)
    except AppError as exc:
        await _undo(session, agent)
        return await _page(
            request, session, agent, appointment_id, error=exc.detail, status_code=exc.status_code
        )
    return _done(request, appointment.id, "annulee")


async def _cancel_step(session: AsyncSession, appointment: Appointment, notify: bool) -> CancelStep:
    """The cancellation SMS as the dispatcher will render it (whether it can reach the person
    is the page's ``d.blocker``)."""
    if not notify:
        return CancelStep(False, None)
    view = await appointment_service.get_view(session, appointment.id)
    rendered = await reminder_preview.render_planned(
        session,
        spip=await session.get_one(Spip, appointment.spip_id),
        place=await session.get_one(Place, appointment.place_id),
        type_code=view.type_code,
        kind=NotificationKind.cancellation,
        starts_at=appointment.starts_at,
    )
    return CancelStep(True, rendered.text)


async def _undo(session: AsyncSession, agent: Agent) -> None:
    """A domain error: nothing of the action is kept; the agent is read again for the page."""
    await session.rollback()
    await session.refresh(agent)


@router.post("/convocations/{appointment_id:int}/reporter", response_class=HTMLResponse)
async def reschedule(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    appointment_id: IdPath,
    lieu: FormField = "",
    date: FormField = "",
    heure: FormField = "",
    prevenir: FormField = "",
) -> Response:
    """``appointment_service.reschedule``: the new date and time typed in the place's zone, the
    booking page's reading of them and its words for the errors (a DST gap or fold said)."""
    appointment = await _appointment(request, session, agent, appointment_id, write=True)
    view = await appointment_service.get_view(session, appointment.id)
    form = booking.Form(
        type=view.type_code, lieu=lieu, date=date, heure=heure, envoyer=prevenir == "oui"
    )
    places = [
        p for p in await spip_service.list_places(session, spip_id=appointment.spip_id) if p.active
    ]
    data = booking.to_create(form, appointment.person_id, places)
    if data is None:
        return await _page(request, session, agent, appointment.id, form=form, status_code=422)
    change = AppointmentReschedule(
        starts_at=data.starts_at, place_id=data.place_id, notify=form.envoyer
    )
    try:
        new = await appointment_service.reschedule(
            session, appointment=appointment, data=change, created_by_id=agent.id
        )
    except AppError as exc:
        booking.explain_error(form, exc, booking.place_of(form, places))  # before: no query
        await _undo(session, agent)
        return await _page(request, session, agent, appointment_id, form=form, status_code=422)
    return _done(request, new.appointment.id, "deplacee")


@router.post(
    "/convocations/{appointment_id:int}/sms/{notification_id:int}/renvoyer",
    response_class=HTMLResponse,
)
async def resend(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    appointment_id: IdPath,
    notification_id: IdPath,
) -> Response:
    """The API's ``POST /notifications/{id}/resend``: same loader, rules and service."""
    appointment = await _appointment(request, session, agent, appointment_id, write=False)
    notification = await session.get(Notification, notification_id)
    if notification is None or notification.appointment_id != appointment.id:
        raise NotificationNotFound()
    require(request, agent, Permission.notification_resend)
    try:
        await reminder_service.resend(session, notification_id=notification.id, agent_id=agent.id)
    except AppError as exc:
        await _undo(session, agent)
        return await _page(
            request, session, agent, appointment_id, error=exc.detail, status_code=exc.status_code
        )
    return _done(request, appointment.id, "renvoye")


@router.post("/convocations/{appointment_id:int}/lien/desactiver", response_class=HTMLResponse)
async def revoke_link(
    request: Request, session: SessionDep, agent: PostingAgent, appointment_id: IdPath
) -> Response:
    """The API's ``POST /appointments/{id}/link/revoke``: same loader, rule and service."""
    appointment = await _appointment(request, session, agent, appointment_id, write=True)
    try:
        await link_service.revoke(session, appointment=appointment, agent=agent)
    except AppError as exc:
        await _undo(session, agent)
        return await _page(
            request, session, agent, appointment_id, error=exc.detail, status_code=exc.status_code
        )
    return _done(request, appointment.id, "lien-desactive")


@router.post("/convocations/{appointment_id:int}/lien/nouveau", response_class=HTMLResponse)
async def reissue_link(
    request: Request, session: SessionDep, agent: PostingAgent, appointment_id: IdPath
) -> Response:
    """The API's ``POST /appointments/{id}/link``: a fresh link, the old one stops working."""
    appointment = await _appointment(request, session, agent, appointment_id, write=True)
    await link_service.reissue(session, appointment=appointment, agent=agent)
    return _done(request, appointment.id, "lien-nouveau")
