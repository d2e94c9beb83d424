"""Administration du SPIP — agents: the list, the creation with its one-time activation link
(shown once, in the answer to the POST: never in a URL, a log or a page that can be asked
again), a correction of the name or e-mail, a change of role, deactivation and reactivation,
a new activation link — through the agents and auth services the API's ``/agents`` routes
call, with ``agent:write``. The last active local administrator of a SPIP is kept by the
service (``last_local_admin``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from app.agents import service as agent_service
from app.agents.errors import AgentNotFound
from app.agents.schemas import AgentCreate, AgentUpdate
from app.auth import access
from app.auth import service as auth_service
from app.auth.access import Permission
from app.auth.dependencies import ensure_scope, require
from app.core.errors import AppError
from app.core.schemas import IdPath
from app.courts import service as court_service
from app.db import SessionDep
from app.models import Agent, Role, Spip
from app.spips import service as spip_service
from app.web import admin as views
from app.web.pages.admin import spip_param
from app.web.sessions import PageAgent, PostingAgent
from app.web.templating import render

router = APIRouter()
FormField = Annotated[str, Form()]
NOTICES = {
    "identite": "Le nom et l'adresse électronique sont enregistrés.",
    "role": "Le rôle est modifié.",
    "desactive": "Le compte est désactivé : ses sessions sont fermées.",
    "reactive": "Le compte est réactivé.",
}


async def _scope(
    request: Request, session: AsyncSession, agent: Agent, spip: str | None
) -> Spip | None:
    """The SPIP whose agents are listed; ``None`` for a national administrator's list of
    national agents (no SPIP)."""
    require(request, agent, Permission.agent_write)
    chosen = spip_param(spip)
    if access.is_national(agent) and chosen is None:
        return None
    return await views.target_spip(request, session, agent, chosen)


def _roles(spip: Spip | None, *, creating: bool = False) -> list[tuple[str, str]]:
    """The roles offered: a SPIP's; without a SPIP, national administrators and (on creation)
    court clerks, who belong to a court and not to a SPIP."""
    if spip is None:
        roles = [Role.admin, Role.court_clerk] if creating else [Role.admin]
        return [(r.value, views.ROLE_LABELS[r.value]) for r in roles]
    return [(r.value, views.ROLE_LABELS[r.value]) for r in views.LOCAL_ROLES]


def _target_roles(target: Agent, spip: Spip | None) -> list[tuple[str, str]]:
    """A court clerk stays one (their court is not a SPIP): no other role is offered."""
    if target.role == Role.court_clerk.value:
        return [(Role.court_clerk.value, views.ROLE_LABELS[Role.court_clerk.value])]
    return _roles(spip)


async def _court_choices(session: AsyncSession) -> list[tuple[str, str]]:
    courts = [c for c in await court_service.list_courts(session) if c.active]
    return [("", "Choisir un tribunal"), *((str(c.id), c.name) for c in courts)]


def _base(agent: Agent, spip: Spip | None, **extra: Any) -> dict[str, Any]:
    query = views.spip_query(agent, spip) if spip is not None else ""
    return {"nav": "administration", "spip": spip, "q": query, "roles": views.ROLE_LABELS, **extra}


@router.get("/administration/agents", response_class=HTMLResponse)
async def agents(
    request: Request, session: SessionDep, agent: PageAgent, spip: str | None = None
) -> HTMLResponse:
    target = await _scope(request, session, agent, spip)
    rows = await agent_service.list_agents(session, spip_id=target.id if target else None)
    if target is None:
        rows = [a for a in rows if a.spip_id is None]
    return render(request, "pages/admin_agents.html", _base(agent, target, agents=rows))


@router.get("/administration/agents/nouveau", response_class=HTMLResponse)
async def new_agent(
    request: Request, session: SessionDep, agent: PageAgent, spip: str | None = None
) -> HTMLResponse:
    target = await _scope(request, session, agent, spip)
    form = views.Form({"role": _roles(target)[0][0]})
    return await _creation(request, session, agent, target, form)


async def _creation(
    request: Request,
    session: AsyncSession,
    agent: Agent,
    spip: Spip | None,
    form: views.Form,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    context = _base(
        agent,
        spip,
        form=form,
        labels=views.AGENT_LABELS,
        choices=_roles(spip, creating=True),
        # A court clerk's court: national administrators only (court:write).
        courts=await _court_choices(session)
        if spip is None and access.can(agent, Permission.court_write)
        else None,
    )
    return render(request, "pages/admin_agent_new.html", context, status_code=status_code)


def activation_link(request: Request, token: str) -> str:
    """The link of ``/activation`` (app.web.pages.auth), absolute so that it can be sent."""
    return f"{str(request.base_url).rstrip('/')}/activation?token={token}"


@router.post("/administration/agents/nouveau", response_class=HTMLResponse)
async def create_agent(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    spip: str | None = None,
    nom: FormField = "",
    email: FormField = "",
    role: FormField = "",
    tribunal: FormField = "",
) -> Response:
    """The API's ``POST /agents``: the account, then its one-time activation token, shown in
    this answer only (a reload of the agent's page never shows it again). A court clerk
    (« Greffe du tribunal ») names their court."""
    target = await _scope(request, session, agent, spip)
    form = views.Form({"nom": nom, "email": email, "role": role, "tribunal": tribunal})
    if role not in dict(_roles(target, creating=True)):
        form.errors["role"] = "Choisissez un rôle dans la liste."
    values: dict[str, Any] = {
        "spip_id": target.id if target else None,
        "name": nom.strip(),
        "email": email,
    }
    if role == Role.court_clerk.value:
        if tribunal not in dict(await _court_choices(session)) or not tribunal:
            form.errors["tribunal"] = "Choisissez le tribunal du greffier dans la liste."
        else:
            values["court_id"] = int(tribunal)
    data = views.validated(form, AgentCreate, values | {"role": role or None})
    if data is None or form.errors:
        return await _creation(request, session, agent, target, form, status_code=422)
    try:
        async with session.begin_nested():
            agent_service.check_role_grant(agent, data.role)
            created = await agent_service.create_agent(session, data=data)
            token = await auth_service.issue_activation(
                session, created, request.app.state.settings
            )
    except AppError as exc:
        views.explain(form, exc)
        return await _creation(request, session, agent, target, form, status_code=422)
    return _link_page(request, agent, target, created, token, created_now=True)


def _link_page(
    request: Request,
    agent: Agent,
    spip: Spip | None,
    target: Agent,
    token: str,
    *,
    created_now: bool,
) -> HTMLResponse:
    hours = request.app.state.settings.activation_token_hours
    context = _base(
        agent,
        spip,
        target=target,
        link=activation_link(request, token),
        created_now=created_now,
        hours=hours,
    )
    return render(request, "pages/admin_agent_link.html", context)


# --- Un agent --------------------------------------------------------------------------------


async def _agent(
    request: Request, session: AsyncSession, agent: Agent, agent_id: int
) -> tuple[Agent, Spip | None]:
    """The API's rule: another SPIP's agent (or, for a local administrator, a national one)
    is « introuvable »."""
    target = await agent_service.get_agent(session, agent_id)
    ensure_scope(request, agent, target.spip_id, AgentNotFound, entity="agent", entity_id=target.id)
    require(request, agent, Permission.agent_write)
    spip = None
    if target.spip_id is not None:
        spip = await spip_service.get_spip(session, target.spip_id)
    return target, spip


def _agent_page(
    request: Request,
    agent: Agent,
    target: Agent,
    spip: Spip | None,
    form: views.Form,
    *,
    status_code: int = 200,
    notice: str | None = None,
) -> HTMLResponse:
    form.values = _identity(target) | form.values
    context = _base(
        agent,
        spip,
        target=target,
        form=form,
        labels=views.AGENT_LABELS,
        choices=_target_roles(target, spip),
        notice=notice,
        is_self=target.id == agent.id,
    )
    return render(request, "pages/admin_agent.html", context, status_code=status_code)


@router.get("/administration/agents/{agent_id}", response_class=HTMLResponse)
async def agent_page(
    request: Request, session: SessionDep, agent: PageAgent, agent_id: IdPath, ok: str = ""
) -> HTMLResponse:
    target, spip = await _agent(request, session, agent, agent_id)
    form = views.Form({"role": target.role})
    return _agent_page(request, agent, target, spip, form, notice=NOTICES.get(ok))


def _identity(target: Agent, **typed: str) -> dict[str, str]:
    """The fields of the page's forms: the identity as stored unless typed."""
    return {"nom": target.name, "email": target.email, "role": target.role, **typed}


async def _update(
    request: Request,
    session: AsyncSession,
    agent: Agent,
    target: Agent,
    spip: Spip | None,
    data: AgentUpdate,
    form: views.Form,
    ok: str,
    *,
    fields: tuple[str, ...] = ("role",),
) -> Response:
    """The API's ``PATCH /agents/{id}``: the role grant rule, the service (which keeps the
    last administrator and refuses an e-mail already taken), and a deactivated account's
    sessions revoked. A refusal about one of the form's ``fields`` is said on it, another one
    as the form's alert."""
    try:
        async with session.begin_nested():
            if data.role is not None or target.role == Role.admin.value:
                grant = Role.admin if target.role == Role.admin.value else data.role
                agent_service.check_role_grant(agent, grant)
            await agent_service.update_agent(session, agent=target, data=data)
            if data.active is False:
                await auth_service.revoke_all(session, target.id)
    except AppError as exc:
        views.explain(form, exc)
        if not form.errors.keys() & set(fields):
            form.alert, form.errors = exc.detail, {}
        return _agent_page(request, agent, target, spip, form, status_code=exc.status_code)
    return RedirectResponse(f"/administration/agents/{target.id}?ok={ok}", status_code=303)


@router.post("/administration/agents/{agent_id}/identite", response_class=HTMLResponse)
async def change_identity(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    agent_id: IdPath,
    nom: FormField = "",
    email: FormField = "",
) -> Response:
    """« Nom et adresse électronique »: ``AgentUpdate``'s validation and the PATCH's service;
    a refusal comes back on its field in French, with what was typed."""
    target, spip = await _agent(request, session, agent, agent_id)
    form = views.Form(_identity(target, nom=nom, email=email))
    data = views.validated(form, AgentUpdate, {"name": nom.strip(), "email": email.strip()})
    if data is None:
        return _agent_page(request, agent, target, spip, form, status_code=422)
    return await _update(
        request, session, agent, target, spip, data, form, "identite", fields=("nom", "email")
    )


@router.post("/administration/agents/{agent_id}/role", response_class=HTMLResponse)
async def change_role(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    agent_id: IdPath,
    role: FormField = "",
) -> Response:
    target, spip = await _agent(request, session, agent, agent_id)
    form = views.Form({"role": role})
    if role not in dict(_target_roles(target, spip)):
        form.errors["role"] = "Choisissez un rôle dans la liste."
        return _agent_page(request, agent, target, spip, form, status_code=422)
    data = AgentUpdate(role=Role(role))
    return await _update(request, session, agent, target, spip, data, form, "role")


@router.post("/administration/agents/{agent_id}/etat", response_class=HTMLResponse)
async def change_state(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    agent_id: IdPath,
    actif: FormField = "",
) -> Response:
    """``actif=non`` deactivates the account (its sessions closed), ``actif=oui`` reactivates."""
    target, spip = await _agent(request, session, agent, agent_id)
    form = views.Form({"role": target.role})
    active = actif == "oui"
    data = AgentUpdate(active=active)
    return await _update(
        request, session, agent, target, spip, data, form, "reactive" if active else "desactive"
    )


@router.post("/administration/agents/{agent_id}/lien", response_class=HTMLResponse)
async def new_link(
    request: Request, session: SessionDep, agent: PostingAgent, agent_id: IdPath
) -> Response:
    """The API's ``POST /agents/{id}/activation-token``: a new one-time link, shown once."""
    target, spip = await _agent(request, session, agent, agent_id)
    agent_service.check_role_grant(agent, target.role)
    token = await auth_service.issue_activation(session, target, request.app.state.settings)
    return _link_page(request, agent, spip, target, token, created_now=False)
