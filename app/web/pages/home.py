"""Accueil: the day's convocations (a CPIP's own; a secretariat's or manager's service)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from app.db import SessionDep
from app.web import today
from app.web.sessions import PageAgent
from app.web.templating import render

router = APIRouter()


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
) -> HTMLResponse:
    spip = getattr(request.state, "web_spip", None)
    if spip is None:  # a national administrator belongs to no SPIP
        return render(request, "pages/home.html", {"day": None})
    day = await today.load_day(
        session, agent=agent, spip=spip, agent_filter=_id(agent_id), place_filter=_id(place_id)
    )
    return render(request, "pages/home.html", {"day": day})
