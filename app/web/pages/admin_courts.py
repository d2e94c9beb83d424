"""Administration nationale — tribunaux: the courts whose clerks book at the « sortie
d'audience », the SPIPs each is linked to (whose agendas open to courts it sees), and their
deactivation — through ``app.courts.service``, with ``court:write`` (national
administrators)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from app.auth.access import Permission
from app.auth.dependencies import require
from app.core.errors import AppError
from app.core.schemas import IdPath
from app.courts import service
from app.courts.schemas import CourtCreate, CourtUpdate
from app.db import SessionDep
from app.models import Court
from app.spips import service as spip_service
from app.web import admin as views
from app.web.sessions import PageAgent, PostingAgent
from app.web.templating import render

router = APIRouter()
FormField = Annotated[str, Form()]
LABELS = {"nom": "Nom du tribunal", "spips": "SPIP liés", "actif": "Tribunal actif"}
NOTICES = {
    "cree": "Le tribunal est créé. Ses greffiers verront les agendas que ses SPIP lui ouvrent.",
    "modifie": "Le tribunal est enregistré.",
}


@router.get("/administration/tribunaux", response_class=HTMLResponse)
async def courts(
    request: Request, session: SessionDep, agent: PageAgent, ok: str = ""
) -> HTMLResponse:
    require(request, agent, Permission.court_write)
    spips = {s.id: s.name for s in await spip_service.list_spips(session)}
    rows = [
        (court, [spips[i] for i in await service.court_spip_ids(session, court.id) if i in spips])
        for court in await service.list_courts(session)
    ]
    context = {"nav": "administration", "rows": rows, "notice": NOTICES.get(ok)}
    return render(request, "pages/admin_courts.html", context)


async def _form_page(
    request: Request,
    session: AsyncSession,
    form: views.Form,
    chosen: list[str],
    court: Court | None,
    *,
    status_code: int = 200,
    notice: str | None = None,
) -> HTMLResponse:
    context: dict[str, Any] = {
        "nav": "administration",
        "court": court,
        "form": form,
        "chosen": chosen,
        "labels": LABELS,
        "spips": await spip_service.list_spips(session),
        "notice": notice,
    }
    return render(request, "pages/admin_court.html", context, status_code=status_code)


def _spip_ids(values: list[str] | None) -> list[int | str]:
    """The checked SPIPs; a value that is not an id is sent as is, and refused by the body."""
    return [int(v) if v.isdigit() and len(v) < 10 else v for v in values or []]


@router.get("/administration/tribunaux/nouveau", response_class=HTMLResponse)
async def new_court(request: Request, session: SessionDep, agent: PageAgent) -> HTMLResponse:
    require(request, agent, Permission.court_write)
    return await _form_page(request, session, views.Form({"actif": "oui"}), [], None)


@router.post("/administration/tribunaux/nouveau", response_class=HTMLResponse)
async def create_court(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    nom: FormField = "",
    spips: Annotated[list[str] | None, Form()] = None,
) -> Response:
    require(request, agent, Permission.court_write)
    chosen = list(spips or [])
    form = views.Form({"nom": nom, "actif": "oui"})
    values = {"name": nom.strip(), "spip_ids": _spip_ids(chosen)}
    data = _validated(form, CourtCreate, values)
    if data is None:
        return await _form_page(request, session, form, chosen, None, status_code=422)
    try:
        async with session.begin_nested():
            court = await service.create_court(session, data=data)
    except AppError as exc:
        _explain(form, exc)
        return await _form_page(request, session, form, chosen, None, status_code=422)
    return RedirectResponse(f"/administration/tribunaux/{court.id}?ok=cree", status_code=303)


@router.get("/administration/tribunaux/{court_id}", response_class=HTMLResponse)
async def court_page(
    request: Request, session: SessionDep, agent: PageAgent, court_id: IdPath, ok: str = ""
) -> HTMLResponse:
    require(request, agent, Permission.court_write)
    court = await service.get_court(session, court_id)
    form = views.Form({"nom": court.name, "actif": "oui" if court.active else ""})
    chosen = [str(i) for i in await service.court_spip_ids(session, court.id)]
    notice = NOTICES.get(ok)
    return await _form_page(request, session, form, chosen, court, notice=notice)


@router.post("/administration/tribunaux/{court_id}", response_class=HTMLResponse)
async def update_court(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    court_id: IdPath,
    nom: FormField = "",
    actif: FormField = "",
    spips: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Name, linked SPIPs (checkboxes: unchecking one unlinks it) and ``actif``: an inactive
    court's clerks see no agenda and book nothing."""
    require(request, agent, Permission.court_write)
    court = await service.get_court(session, court_id)
    chosen = list(spips or [])
    form = views.Form({"nom": nom, "actif": actif})
    values = {"name": nom.strip(), "active": actif == "oui", "spip_ids": _spip_ids(chosen)}
    data = _validated(form, CourtUpdate, values)
    if data is None:
        return await _form_page(request, session, form, chosen, court, status_code=422)
    try:
        async with session.begin_nested():
            await service.update_court(session, court=court, data=data)
    except AppError as exc:
        _explain(form, exc)
        return await _form_page(request, session, form, chosen, court, status_code=422)
    return RedirectResponse(f"/administration/tribunaux/{court.id}?ok=modifie", status_code=303)


def _validated(form: views.Form, model: Any, values: dict[str, Any]) -> Any:
    """``views.validated`` with the court's own field (``spip_ids``) on the SPIPs' fieldset."""
    data = views.validated(form, model, values)
    if data is None and form.alert and "nom" not in form.errors:
        form.errors["spips"], form.alert = "Choisissez des SPIP dans la liste.", None
    return data


def _explain(form: views.Form, exc: AppError) -> None:
    views.explain(form, exc)
    if form.alert and "spip" in exc.code:
        form.errors["spips"], form.alert = exc.detail, None
