"""Convocations: the SPIP's list (filters in the URL, a GET form with no personal data; sorted;
paged on the server) and a day's print view grouped per place or per agent, both through the
API's ``appointment_service.list_appointments`` and its access rules."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from app.auth.access import Permission
from app.auth.dependencies import require
from app.core.clock import utcnow
from app.core.localtime import zone
from app.core.pagination import PageParams
from app.db import SessionDep
from app.models import Role
from app.web import appointments_list as listing
from app.web.sessions import PageAgent
from app.web.templating import render
from app.web.today import zone_label

router = APIRouter()


def _page_number(value: str | None) -> int:
    """A page from the URL: a number, else the first (a hand-edited URL is not an error)."""
    return int(value) if value and value.isdigit() and len(value) < 7 and int(value) > 0 else 1


# Declared before any ``/convocations/{id}`` route: « impression » is not an id.
@router.get("/convocations/impression", response_class=HTMLResponse)
async def print_view(request: Request, session: SessionDep, agent: PageAgent) -> HTMLResponse:
    """A day's convocations, one table per place (or agent), with a blank « Présent » column
    to tick on paper."""
    require(request, agent, Permission.appointment_read)
    spip = getattr(request.state, "web_spip", None)
    if spip is None:  # a national administrator belongs to no SPIP
        return render(request, "pages/appointments_print.html", {"spip": None})
    spip_today = utcnow().astimezone(zone(spip.timezone)).date()
    found = await listing.choices(session, spip)
    form = listing.read_print_form(request.query_params, spip_today)
    day = await listing.print_day(session, agent=agent, spip=spip, found=found, form=form)
    context = {
        "spip": spip,
        "form": form,
        "found": found,
        "labels": listing.PRINT_LABELS,
        "options": listing.options(found, agent),
        "day": day,
    }
    status = 422 if form.errors else 200
    return render(request, "pages/appointments_print.html", context, status_code=status)


@router.get("/convocations", response_class=HTMLResponse)
async def appointments(
    request: Request,
    session: SessionDep,
    agent: PageAgent,
    page: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    require(request, agent, Permission.appointment_read)
    spip = getattr(request.state, "web_spip", None)
    if spip is None:
        return render(request, "pages/appointments.html", {"spip": None})
    spip_today = utcnow().astimezone(zone(spip.timezone)).date()
    found = await listing.choices(session, spip)
    form = listing.read_form(request.query_params, viewer=agent, spip_today=spip_today)
    read = listing.to_filters(form, found)
    rows: list[listing.Row] = []
    total, number, pages = 0, _page_number(page), 1
    if read is not None:
        filters, sort, size = read
        rows, total = await listing.list_page(
            session,
            agent=agent,
            spip=spip,
            found=found,
            filters=filters,
            sort=sort,
            page=PageParams(limit=size, offset=(number - 1) * size),
        )
        pages = max(1, -(-total // size))
    context = {
        "spip": spip,
        "form": form,
        "found": found,
        "labels": listing.LABELS,
        "options": listing.options(found, agent),
        "rows": rows,
        "total": total,
        "page": number,
        "pages": pages,
        "page_url": listing.page_url(form),
        "print_url": listing.print_url(form, spip_today),
        "own": agent.role == Role.cpip.value and form.agent == str(agent.id),
        "spip_zone": zone_label(spip.timezone, spip.timezone),
    }
    status = 422 if form.errors else 200
    return render(request, "pages/appointments.html", context, status_code=status)
