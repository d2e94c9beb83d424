"""Accueil: the day's convocations (a CPIP's own; a secretariat's or manager's service), and
the one-click outcome of each (htmx answers the changed row; without JavaScript the form
posts and the page comes back)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from app.appointments import service as appointment_service
from app.auth.access import Permission
from app.core.errors import AppError
from app.core.schemas import IdPath
from app.db import SessionDep
from app.models import Agent, AppointmentStatus, Role, Spip
from app.replies import service as reply_service
from app.web import loaders, today, worklist
from app.web import replies as reply_views
from app.web.sessions import PageAgent, PostingAgent, safe_next
from app.web.templating import render

router = APIRouter()
REPLIES_SHOWN = 5
NOTICES = {
    AppointmentStatus.honored.value: "Issue enregistrée.",
    AppointmentStatus.missed.value: "Issue enregistrée.",
    AppointmentStatus.excused.value: "Issue enregistrée.",
    AppointmentStatus.booked.value: "Issue retirée.",
}


def _id(value: str | None) -> int | None:
    """A filter from the URL: an id, or nothing (a hand-edited URL is not an error)."""
    return int(value) if value and value.isdigit() and len(value) < 10 else None


@router.get("/", response_class=HTMLResponse)
async def home(
    request: Request,
    session: SessionDep,
    agent: PageAgent,
    agent_id: Annotated[str | None, Query(alias="agent")] = None,
    place_id: Annotated[str | None, Query(alias="lieu")] = None,
    page: Annotated[str | None, Query()] = None,
) -> Response:
    if agent.role == Role.court_clerk.value:  # a court clerk works from the court's page
        return RedirectResponse("/tribunal", status_code=303)
    spip = getattr(request.state, "web_spip", None)
    if spip is None:  # a national administrator belongs to no SPIP
        return render(request, "pages/home.html", {"day": None})
    day = await today.load_day(
        session,
        agent=agent,
        spip=spip,
        agent_filter=_id(agent_id),
        place_filter=_id(place_id),
        page=_id(page) or 1,
    )
    scope = today.Scope(day.service_wide, day.agents, day.places, day.agent_id, day.place_id)
    waiting = await worklist.count(session, agent=agent, spip=spip, scope=scope)
    replies, replies_total = await reply_service.unread(
        session,
        spip_id=spip.id,
        referent_id=None if day.service_wide else agent.id,
        limit=REPLIES_SHOWN,
    )
    context = {
        "replies": reply_views.unread_lines(replies, spip.timezone),
        "replies_total": replies_total,
        "day": day,
        "retour": _here(request),
        "waiting": waiting,
        "waiting_link": "/a-renseigner" + _filters(scope),
        "page_url": _page_url("/", scope),
        "waiting_warns": waiting > 0
        and await _warns(request, session, agent, spip, scope, waiting),
    }
    return render(request, "pages/home.html", context)


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _filters(scope: today.Scope) -> str:
    if not scope.service_wide:
        return ""
    params = [
        f"agent={scope.agent_id}" if scope.agent_id else "",
        f"lieu={scope.place_id}" if scope.place_id else "",
    ]
    query = "&".join(p for p in params if p)
    return f"?{query}" if query else ""


def _page_url(path: str, scope: today.Scope) -> str:
    """The list's address with its filters, ending in ``page=`` for the pagination's links."""
    base = path + _filters(scope)
    return f"{base}{'&' if '?' in base else '?'}page="


async def _warns(
    request: Request,
    session: AsyncSession,
    agent: Agent,
    spip: Spip,
    scope: today.Scope,
    waiting: int,
) -> bool:
    """The settings' two thresholds: per agent of the list, and a whole service's share."""
    settings = request.app.state.settings
    if not scope.service_wide or scope.agent_id is not None:
        per_agent = settings.unrecorded_warning_per_agent
        return worklist.warns(waiting, 0, per_agent=per_agent, agents=1, service_percent=None)
    cpips = [a for a in scope.agents if a.role == Role.cpip.value]
    past = await worklist.past_count(session, agent=agent, spip=spip, scope=scope)
    return worklist.warns(
        waiting,
        past,
        per_agent=settings.unrecorded_warning_per_agent,
        agents=len(cpips),
        service_percent=settings.unrecorded_warning_service_percent,
    )


@router.get("/a-renseigner", response_class=HTMLResponse)
async def to_record(
    request: Request,
    session: SessionDep,
    agent: PageAgent,
    agent_id: Annotated[str | None, Query(alias="agent")] = None,
    place_id: Annotated[str | None, Query(alias="lieu")] = None,
    page: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    """Past convocations without an outcome, oldest first."""
    spip = getattr(request.state, "web_spip", None)
    if spip is None:
        return render(request, "pages/home.html", {"day": None})
    work = await worklist.load(
        session,
        agent=agent,
        spip=spip,
        agent_filter=_id(agent_id),
        place_filter=_id(place_id),
        page=_id(page) or 1,
    )
    page_url = _page_url("/a-renseigner", work.scope)
    context = {"work": work, "retour": _here(request), "page_url": page_url}
    return render(request, "pages/worklist.html", context)


@router.post("/convocations/{appointment_id}/issue", response_class=HTMLResponse)
async def record_outcome(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    appointment_id: IdPath,
    issue: Annotated[str, Form()] = "",
    sms: Annotated[str, Form()] = "",
    retour: Annotated[str, Form()] = "/",
    avec_date: Annotated[str, Form()] = "",
) -> Response:
    """The API's ``POST /appointments/{id}/outcome``, for a page: same loader, same access
    rules (another SPIP's convocation is « introuvable »), same service."""
    appointment = await loaders.appointment(
        request, session, agent, appointment_id, Permission.appointment_write
    )
    error, status = None, 200
    if issue not in NOTICES:
        error, status = "Choisissez une issue.", 422
    else:
        try:
            await appointment_service.record_outcome(
                session,
                appointment=appointment,
                outcome=AppointmentStatus(issue),
                notify_missed=issue == AppointmentStatus.missed.value and sms == "oui",
                recorded_by_id=agent.id,
            )
        except AppError as exc:
            await session.rollback()
            error, status = exc.detail, exc.status_code
    if not request.headers.get("HX-Request"):
        if error:
            page = {"title": "Action impossible", "message": error}
            return render(request, "pages/error.html", page, status_code=status)
        return RedirectResponse(safe_next(retour), status_code=303)
    spip = request.state.web_spip
    row = await today.load_row(session, spip=spip, appointment_id=appointment.id)
    context: dict[str, object] = {
        "r": row,
        "service_wide": today.sees_service(agent),
        "retour": safe_next(retour),
        "with_date": avec_date == "1",
        "notice": None if error else NOTICES[issue],
        "error": error,
    }
    return render(request, "pages/day_row.html", context, status_code=status)
