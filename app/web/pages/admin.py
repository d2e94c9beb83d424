"""Administration du SPIP: its home, places, sender name, and the national administrator's
SPIPs — through the services the API calls, with its permissions (``place:write``,
``policy:write``, ``spip:create``/``spip:update``) and its access rules (another SPIP's place is
« introuvable »). The agents' pages are in ``admin_agents``, the audit trail in ``audit``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from app.auth import access
from app.auth.access import Permission
from app.auth.dependencies import ensure_scope, require
from app.core.errors import AppError
from app.core.schemas import IdPath
from app.db import SessionDep
from app.models import Agent, Place, Spip
from app.reminders import place_change, policies, policy_change, spip_change
from app.reminders.schemas import ReminderPolicyBody
from app.spips import service as spip_service
from app.spips.errors import PlaceNotFound, SpipNotFound
from app.spips.schemas import PlaceCreate, PlaceUpdate, SpipCreate, SpipUpdate
from app.web import admin as views
from app.web.sessions import PageAgent, PostingAgent
from app.web.templating import render

router = APIRouter()
FormField = Annotated[str, Form()]


def spip_param(value: str | None) -> int | None:
    """``?spip=`` as an id (a wrong one is « introuvable », as an unknown id)."""
    if not value:
        return None
    if not value.isdigit() or len(value) > 9:
        raise SpipNotFound()
    return int(value)


# --- Accueil ---------------------------------------------------------------------------------


@router.get("/administration", response_class=HTMLResponse)
async def home(
    request: Request, session: SessionDep, agent: PageAgent, spip: str | None = None
) -> HTMLResponse:
    require(request, agent, Permission.agent_write)
    chosen = spip_param(spip)
    if access.is_national(agent) and chosen is None:
        spips = await spip_service.list_spips(session)
        return render(
            request,
            "pages/admin_national.html",
            {"nav": "administration", "spips": spips, "zone_label": views.zone_label},
        )
    target = await views.target_spip(request, session, agent, chosen)
    context = {
        "nav": "administration",
        "spip": target,
        "q": views.spip_query(agent, target),
        "national": access.is_national(agent),
        "can_edit": access.can(agent, Permission.spip_update),  # the API's PATCH /spips/{id}
        "zone": views.zone_label(target.timezone),
    }
    return render(request, "pages/admin.html", context)


# --- Lieux -----------------------------------------------------------------------------------


async def _place(request: Request, session: AsyncSession, agent: Agent, place_id: int) -> Place:
    """The API's rule: another SPIP's place is « introuvable »."""
    place = await spip_service.get_place(session, place_id)
    ensure_scope(request, agent, place.spip_id, PlaceNotFound, entity="place", entity_id=place.id)
    require(request, agent, Permission.place_write)
    return place


def _context(agent: Agent, spip: Spip, **extra: Any) -> dict[str, Any]:
    return {
        "nav": "administration",
        "spip": spip,
        "q": views.spip_query(agent, spip),
        "zones": views.ZONE_CHOICES,
        **extra,
    }


@router.get("/administration/lieux", response_class=HTMLResponse)
async def places(
    request: Request, session: SessionDep, agent: PageAgent, spip: str | None = None
) -> HTMLResponse:
    require(request, agent, Permission.place_write)
    target = await views.target_spip(request, session, agent, spip_param(spip))
    rows = await spip_service.list_places(session, spip_id=target.id)
    context = _context(agent, target, places=rows, zone_label=views.zone_label)
    return render(request, "pages/admin_places.html", context)


@router.get("/administration/lieux/nouveau", response_class=HTMLResponse)
async def new_place(
    request: Request, session: SessionDep, agent: PageAgent, spip: str | None = None
) -> HTMLResponse:
    require(request, agent, Permission.place_write)
    target = await views.target_spip(request, session, agent, spip_param(spip))
    form = views.Form({"fuseau": target.timezone, "actif": "oui"})
    return _place_form(request, agent, target, form, None)


def _place_form(
    request: Request,
    agent: Agent,
    spip: Spip,
    form: views.Form,
    place: Place | None,
    *,
    status_code: int = 200,
    notice: str | None = None,
) -> HTMLResponse:
    context = _context(agent, spip, form=form, place=place, labels=views.PLACE_LABELS)
    context["notice"] = notice
    context["holiday_choices"] = views.place_holiday_choices(spip)
    return render(request, "pages/admin_place.html", context, status_code=status_code)


def _place_form_values(
    nom: str, adresse: str, infos: str, telephone: str, fuseau: str, feries: str, actif: str
) -> views.Form:
    return views.Form(
        {
            "nom": nom,
            "adresse": adresse,
            "infos": infos,
            "telephone": telephone,
            "fuseau": fuseau,
            "feries": feries,
            "actif": actif,
        }
    )


@router.post("/administration/lieux/nouveau", response_class=HTMLResponse)
async def create_place(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    spip: str | None = None,
    nom: FormField = "",
    adresse: FormField = "",
    infos: FormField = "",
    telephone: FormField = "",
    fuseau: FormField = "",
    feries: FormField = "",
) -> Response:
    require(request, agent, Permission.place_write)
    target = await views.target_spip(request, session, agent, spip_param(spip))
    form = _place_form_values(nom, adresse, infos, telephone, fuseau, feries, "oui")
    values = views.place_values(form)
    data = views.validated(form, PlaceCreate, values) if not form.errors else None
    if data is None:
        views.validated(form, PlaceCreate, values | {"timezone": None})  # the other fields
        return _place_form(request, agent, target, form, None, status_code=422)
    place = await spip_service.create_place(session, spip=target, data=data)
    return RedirectResponse(f"/administration/lieux/{place.id}?ok=cree", status_code=303)


def _replanned_notice(replanifies: str) -> str:
    """What a change of zone or of holidays did to the planned SMS (the count comes back in
    the URL after the redirect: bounded, never trusted beyond a number)."""
    count = int(replanifies) if replanifies.isdigit() and len(replanifies) < 7 else 0
    if not count:
        return "Aucun SMS planifié n'a changé."
    plural = "s" if count > 1 else ""
    return f"{count} SMS de rappel replanifié{plural} (fuseau ou jours fériés modifiés)."


@router.get("/administration/lieux/{place_id}", response_class=HTMLResponse)
async def place_page(
    request: Request,
    session: SessionDep,
    agent: PageAgent,
    place_id: IdPath,
    ok: str = "",
    replanifies: str = "0",
) -> HTMLResponse:
    place = await _place(request, session, agent, place_id)
    target = await spip_service.get_spip(session, place.spip_id)
    form = views.Form(
        {
            "nom": place.name,
            "adresse": place.address or "",
            "infos": place.info_url or "",
            "telephone": place.phone or "",
            "fuseau": place.timezone,
            "feries": place.holiday_territory or "",
            "actif": "oui" if place.active else "",
        }
    )
    notice = None
    if ok == "cree":
        notice = "Le lieu est enregistré."
    elif ok == "modifie":
        notice = "Le lieu est modifié. " + _replanned_notice(replanifies)
    return _place_form(request, agent, target, form, place, notice=notice)


@router.post("/administration/lieux/{place_id}", response_class=HTMLResponse)
async def update_place(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    place_id: IdPath,
    nom: FormField = "",
    adresse: FormField = "",
    infos: FormField = "",
    telephone: FormField = "",
    fuseau: FormField = "",
    feries: FormField = "",
    actif: FormField = "",
) -> Response:
    """The API's ``PATCH /places/{id}`` (``place_change``): a new zone re-plans the reminders
    of the place's future convocations, and the page says how many."""
    place = await _place(request, session, agent, place_id)
    target = await spip_service.get_spip(session, place.spip_id)
    form = _place_form_values(nom, adresse, infos, telephone, fuseau, feries, actif)
    values = views.place_values(form) | {"active": actif == "oui"}
    data = views.validated(form, PlaceUpdate, values) if not form.errors else None
    if data is None:
        views.validated(form, PlaceUpdate, values | {"timezone": None})
        return _place_form(request, agent, target, form, place, status_code=422)
    try:
        async with session.begin_nested():
            change = await place_change.change_place(session, place=place, data=data)
    except AppError as exc:
        views.explain(form, exc)
        return _place_form(request, agent, target, form, place, status_code=422)
    url = f"/administration/lieux/{place_id}?ok=modifie&replanifies={change.replanned}"
    return RedirectResponse(url, status_code=303)


# --- Nom d'expéditeur ------------------------------------------------------------------------


@router.get("/administration/expediteur", response_class=HTMLResponse)
async def sender_page(
    request: Request, session: SessionDep, agent: PageAgent, spip: str | None = None, ok: str = ""
) -> HTMLResponse:
    require(request, agent, Permission.policy_write)
    target = await views.target_spip(request, session, agent, spip_param(spip))
    policy = await policies.get_policy(session, target.id)
    form = views.Form({"expediteur": policy.body.sender or ""})
    notice = "Le nom d'expéditeur est enregistré." if ok == "1" else None
    return _sender(request, agent, target, form, notice=notice)


def _sender(
    request: Request,
    agent: Agent,
    spip: Spip,
    form: views.Form,
    *,
    status_code: int = 200,
    notice: str | None = None,
) -> HTMLResponse:
    context = _context(agent, spip, form=form, labels=views.SENDER_LABELS, notice=notice)
    return render(request, "pages/admin_sender.html", context, status_code=status_code)


@router.post("/administration/expediteur", response_class=HTMLResponse)
async def save_sender(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    spip: str | None = None,
    expediteur: FormField = "",
) -> Response:
    """The policy's ``sender`` through ``PUT /spips/{id}/reminder-policy``'s own body and
    service: the same validation (``app.sms.sender``) and French messages."""
    require(request, agent, Permission.policy_write)
    target = await views.target_spip(request, session, agent, spip_param(spip))
    form = views.Form({"expediteur": expediteur})
    policy = await policies.get_policy(session, target.id)
    values = policy.body.model_dump() | {"sender": views.optional(expediteur)}
    body = views.validated(form, ReminderPolicyBody, values)
    if body is None:
        return _sender(request, agent, target, form, status_code=422)
    try:
        async with session.begin_nested():
            await policy_change.change_policy(session, spip=target, body=body)
    except AppError as exc:
        views.explain(form, exc)
        return _sender(request, agent, target, form, status_code=422)
    q = views.spip_query(agent, target)
    return RedirectResponse(f"/administration/expediteur{q or '?'}{'&' if q else ''}ok=1", 303)


# --- SPIP (administration nationale) ---------------------------------------------------------


def _spip_form(
    request: Request,
    form: views.Form,
    spip: Spip | None,
    *,
    status_code: int = 200,
    notice: str | None = None,
) -> HTMLResponse:
    context = {
        "nav": "administration",
        "form": form,
        "spip": spip,
        "labels": views.SPIP_LABELS,
        "zones": views.ZONE_CHOICES,
        "regions": views.REGION_CHOICES,
        "holiday_choices": views.SPIP_HOLIDAY_CHOICES,
        "notice": notice,
    }
    return render(request, "pages/admin_spip.html", context, status_code=status_code)


def _spip_values(form: views.Form) -> dict[str, Any]:
    return {
        "code": form.get("code"),
        "name": form.get("nom").strip(),
        "timezone": views.check_zone(form),
        "phone_region": form.get("region"),
        "holiday_territory": views.optional(form.get("feries")),
        "address": views.optional(form.get("adresse")),
        "phone": views.optional(form.get("telephone")),
    }


def _spip_form_values(**fields: str) -> views.Form:
    return views.Form(dict(fields))


@router.get("/administration/spips", response_class=HTMLResponse)
async def spips_page(request: Request, agent: PageAgent) -> Response:
    require(request, agent, Permission.spip_create)
    return RedirectResponse("/administration", status_code=303)


@router.get("/administration/spips/nouveau", response_class=HTMLResponse)
async def new_spip(request: Request, agent: PageAgent) -> HTMLResponse:
    require(request, agent, Permission.spip_create)
    return _spip_form(request, views.Form({"fuseau": "Europe/Paris", "region": "FR"}), None)


@router.post("/administration/spips/nouveau", response_class=HTMLResponse)
async def create_spip(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    code: FormField = "",
    nom: FormField = "",
    fuseau: FormField = "",
    region: FormField = "",
    feries: FormField = "",
    adresse: FormField = "",
    telephone: FormField = "",
) -> Response:
    require(request, agent, Permission.spip_create)
    form = _spip_form_values(
        code=code,
        nom=nom,
        fuseau=fuseau,
        region=region,
        feries=feries,
        adresse=adresse,
        telephone=telephone,
    )
    values = _spip_values(form)
    data = views.validated(form, SpipCreate, values) if not form.errors else None
    if data is None:
        views.validated(form, SpipCreate, values | {"timezone": "Europe/Paris"})
        return _spip_form(request, form, None, status_code=422)
    try:
        async with session.begin_nested():
            spip = await spip_service.create_spip(session, data=data)
    except AppError as exc:
        views.explain(form, exc)
        return _spip_form(request, form, None, status_code=422)
    return RedirectResponse(f"/administration/spips/{spip.id}?ok=cree", status_code=303)


@router.get("/administration/spips/{spip_id}", response_class=HTMLResponse)
async def spip_page(
    request: Request,
    session: SessionDep,
    agent: PageAgent,
    spip_id: IdPath,
    ok: str = "",
    replanifies: str = "0",
) -> HTMLResponse:
    target = await views.target_spip(request, session, agent, spip_id)
    require(request, agent, Permission.spip_update)
    form = _spip_form_values(
        code=target.code,
        nom=target.name,
        fuseau=target.timezone,
        region=target.phone_region,
        feries=target.holiday_territory or "",
        adresse=target.address or "",
        telephone=target.phone or "",
    )
    notice = {"cree": "Le SPIP est créé.", "modifie": "Le SPIP est modifié."}.get(ok)
    if ok == "modifie":
        notice = f"Le SPIP est modifié. {_replanned_notice(replanifies)}"
    return _spip_form(request, form, target, notice=notice)


@router.post("/administration/spips/{spip_id}", response_class=HTMLResponse)
async def update_spip(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    spip_id: IdPath,
    code: FormField = "",
    nom: FormField = "",
    fuseau: FormField = "",
    region: FormField = "",
    feries: FormField = "",
    adresse: FormField = "",
    telephone: FormField = "",
) -> Response:
    target = await views.target_spip(request, session, agent, spip_id)
    require(request, agent, Permission.spip_update)
    form = _spip_form_values(
        code=code,
        nom=nom,
        fuseau=fuseau,
        region=region,
        feries=feries,
        adresse=adresse,
        telephone=telephone,
    )
    values = _spip_values(form)
    data = views.validated(form, SpipUpdate, values) if not form.errors else None
    if data is None:
        views.validated(form, SpipUpdate, values | {"timezone": None})
        return _spip_form(request, form, target, status_code=422)
    try:
        async with session.begin_nested():
            change = await spip_change.change_spip(session, spip=target, data=data)
    except AppError as exc:
        views.explain(form, exc)
        return _spip_form(request, form, target, status_code=422)
    url = f"/administration/spips/{spip_id}?ok=modifie&replanifies={change.replanned}"
    return RedirectResponse(url, status_code=303)
