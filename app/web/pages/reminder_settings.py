"""Règles de rappel (``/administration/rappels``) and Modèles de SMS
(``/administration/modeles``): the API's reminder policy and templates, through the same
services (``policy_change.change_policy``, ``templates.save_template`` / ``delete_template``,
``preview.preview_template``), with the API's permissions and scope: another SPIP is
« introuvable ». Those who may change them get the editors; the service's managers read them
(``settings_access``: no form, the same rules, example and previews); any other role, and any
POST by a reader, gets the French 403 page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from app.appointments import service as appointment_service
from app.auth.access import Permission
from app.auth.dependencies import ensure_scope, require
from app.auth.errors import Forbidden
from app.core.clock import utcnow
from app.core.errors import AppError
from app.db import SessionDep
from app.models import Agent, AppointmentType, NotificationKind, Spip
from app.reminders import policies, policy_change, preview, templates
from app.reminders.schemas import PreviewRequest
from app.spips import service as spip_service
from app.spips.errors import SpipNotFound
from app.web import reminder_settings as views
from app.web import sms_templates as editing
from app.web.sessions import PageAgent, PostingAgent
from app.web.settings_access import SettingsMode, settings_mode
from app.web.templating import render

router = APIRouter()
FormField = Annotated[str, Form()]
SpipQuery = Annotated[int | None, Query(alias="spip", ge=1, le=2**31 - 1)]
TypeQuery = Annotated[str | None, Query(alias="type", max_length=50)]


async def _spip(
    request: Request,
    session: AsyncSession,
    agent: Agent,
    spip_id: int | None,
    permission: Permission,
    *,
    reading: bool = False,
) -> Spip:
    """The SPIP the page is about: the agent's, or (national administrator) ``?spip=ID``.
    Scope first, as the API's ``ScopedSpip`` then ``Allowed``: another SPIP is « introuvable ».
    ``reading``: a page that a reader may open too (``_mode``), else ``permission`` is needed."""
    wanted = spip_id if spip_id is not None else agent.spip_id
    if wanted is None:
        require(request, agent, permission)
        raise SpipNotFound("Choisissez un SPIP : ajoutez ?spip=<numéro> à l'adresse.")
    spip = await spip_service.get_spip(session, wanted)
    ensure_scope(request, agent, spip.id, SpipNotFound, entity="spip", entity_id=spip.id)
    if reading:
        _mode(request, agent, permission)
    else:
        require(request, agent, permission)
    return spip


def _mode(request: Request, agent: Agent, write: Permission) -> SettingsMode:
    """The editor or the read-only page (``settings_mode``); neither: the French 403 page."""
    mode = settings_mode(agent, write)
    if mode is None:
        require(request, agent, write)  # refused, and kept in the audit trail
        raise Forbidden()
    return mode


def _read_only(agent: Agent, write: Permission) -> bool:
    return settings_mode(agent, write) is SettingsMode.read


def _nav(read_only: bool, own: str) -> str:
    """The menu's current entry: « Administration » for editors, the page's own for readers."""
    return own if read_only else "administration"


async def undo(session: AsyncSession, agent: Agent) -> Agent:
    """Roll back what a refused change may have flushed (the edge would commit it with the
    page); the agent, expired by the rollback, loaded again."""
    agent_id = agent.id
    await session.rollback()
    return await session.get_one(Agent, agent_id)


async def _undo_spip(session: AsyncSession, spip: Spip, agent: Agent) -> tuple[Spip, Agent]:
    """``undo``, and the SPIP the page shows loaded again."""
    spip_id = spip.id
    again = await undo(session, agent)
    return await spip_service.get_spip(session, spip_id), again


def _query(spip: Spip, agent: Agent, type_code: str | None = None) -> str:
    """The page's own query string (the SPIP for a national administrator, the type)."""
    parts = []
    if agent.spip_id is None:
        parts.append(f"spip={spip.id}")
    if type_code:
        parts.append(f"type={type_code}")
    return ("?" + "&".join(parts)) if parts else ""


async def _main_zone(session: AsyncSession, spip: Spip) -> str:
    """The zone of the SPIP's main place (its first, as previews take), else the SPIP's."""
    places = [p for p in await spip_service.list_places(session, spip_id=spip.id) if p.active]
    return places[0].timezone if places else spip.timezone


# --- Règles de rappel ------------------------------------------------------------------------


POLICY_PAGE = "/administration/rappels"
TEMPLATES_PAGE = "/administration/modeles"
_TITLES = {POLICY_PAGE: "Règles de rappel", TEMPLATES_PAGE: "Modèles de SMS"}


async def _choose(
    request: Request, session: AsyncSession, agent: Agent, path: str, permission: Permission
) -> HTMLResponse:
    """A national administrator belongs to no SPIP: the SPIPs to choose from."""
    require(request, agent, permission)
    context = {
        "nav": "administration",
        "title": _TITLES[path],
        "path": path,
        "spips": await spip_service.list_spips(session),
    }
    return render(request, "pages/administration_spips.html", context)


@router.get("/administration/rappels", response_class=HTMLResponse)
async def policy_page(
    request: Request,
    session: SessionDep,
    agent: PageAgent,
    spip_id: SpipQuery = None,
    ok: Annotated[str | None, Query(max_length=20)] = None,
    replanifies: Annotated[int | None, Query(ge=0, le=10_000_000)] = None,
) -> HTMLResponse:
    if spip_id is None and agent.spip_id is None:
        return await _choose(request, session, agent, POLICY_PAGE, Permission.policy_write)
    spip = await _spip(request, session, agent, spip_id, Permission.policy_write, reading=True)
    types = await appointment_service.list_types(session)
    policy = await policies.get_policy(session, spip.id)
    form = views.form_of(policy, types)
    saved = ok == "enregistre"
    return await _policy(
        request,
        session,
        agent,
        spip,
        types,
        form,
        policy,
        saved=saved,
        replanned=replanifies if saved else None,
        default=policy.is_default,
    )


async def _policy(
    request: Request,
    session: AsyncSession,
    agent: Agent,
    spip: Spip,
    types: list[AppointmentType],
    form: views.PolicyForm,
    policy: policies.SpipPolicy | None,
    *,
    status_code: int = 200,
    fragment: bool = False,
    saved: bool = False,
    replanned: int | None = None,
    default: bool = False,
) -> HTMLResponse:
    tz = await _main_zone(session, spip)
    starts_at = views.example_start(form, utcnow(), tz)
    example = None
    if policy is not None and starts_at is not None:
        code = form.exemple_type if any(t.code == form.exemple_type for t in types) else ""
        example = views.example(policy, code, starts_at, tz, territory=spip.holiday_territory)
    type_labels = {t.code: t.label for t in types}
    read_only = _read_only(agent, Permission.policy_write)
    context = {
        "nav": _nav(read_only, "rappels"),
        "read_only": read_only,
        "rules": views.policy_text(form, types) if read_only else None,
        "spip": spip,
        "types": types,
        "form": form,
        "labels": {name: views.label_of(name, type_labels) for name in form.errors},
        "example": example,
        "open_types": views.open_types(form, types),
        "query": _query(spip, agent),
        "saved": saved,
        "replanned": replanned,
        "is_default": default,
        "fragment": fragment,
    }
    name = "pages/_rappels_exemple.html" if fragment else "pages/rappels.html"
    return render(request, name, context, status_code=status_code)


@router.post("/administration/rappels", response_class=HTMLResponse)
async def save_policy(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    spip_id: SpipQuery = None,
    action: FormField = "enregistrer",
) -> Response:
    """« Voir l'exemple » (and htmx on each change) shows when the reminders would go under the
    rules typed, nothing saved; « Enregistrer » saves through the API's service."""
    spip = await _spip(request, session, agent, spip_id, Permission.policy_write)
    types = await appointment_service.list_types(session)
    data = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    form = views.read_form(data, types)
    fragment = bool(request.headers.get("HX-Request")) and action == "apercu"
    body = views.to_body(form, types)
    if body is None:
        status = 200 if fragment else 422
        return await _policy(
            request, session, agent, spip, types, form, None, status_code=status, fragment=fragment
        )
    draft = policies.SpipPolicy(body, is_default=False)
    if action in ("exemple", "apercu"):
        return await _policy(request, session, agent, spip, types, form, draft, fragment=fragment)
    try:
        change = await policy_change.change_policy(session, spip=spip, body=body)
    except AppError as exc:
        views.explain_error(form, exc)
        spip, agent = await _undo_spip(session, spip, agent)
        types = await appointment_service.list_types(session)
        return await _policy(request, session, agent, spip, types, form, draft, status_code=422)
    query = _query(spip, agent)
    done = f"ok=enregistre&replanifies={change.replanned}"
    target = "/administration/rappels" + (f"{query}&" if query else "?") + done
    return RedirectResponse(target, status_code=303)


# --- Modèles de SMS --------------------------------------------------------------------------


def kind_of(value: str) -> NotificationKind:
    try:
        return NotificationKind(value)
    except ValueError:
        raise _KindNotFound() from None


class _KindNotFound(SpipNotFound):
    code = "template_not_found"
    message = "Ce modèle de SMS n'existe pas."


def _type_of(types: list[AppointmentType], code: str | None) -> AppointmentType | None:
    if not code:
        return None
    found = next((t for t in types if t.code == code), None)
    if found is None:
        raise _KindNotFound("Ce type de convocation n'existe pas.")
    return found


@router.get("/administration/modeles", response_class=HTMLResponse)
async def templates_page(
    request: Request, session: SessionDep, agent: PageAgent, spip_id: SpipQuery = None
) -> HTMLResponse:
    """Each kind, SPIP-wide and per type, with where its wording in force comes from."""
    if spip_id is None and agent.spip_id is None:
        return await _choose(request, session, agent, TEMPLATES_PAGE, Permission.template_write)
    spip = await _spip(request, session, agent, spip_id, Permission.template_write, reading=True)
    types = await appointment_service.list_types(session)
    rows = []
    for kind in NotificationKind:
        _, source = await templates.effective_template(
            session, spip_id=spip.id, kind=kind, type_code=None
        )
        by_type = []
        for t in types:
            _, typed = await templates.effective_template(
                session, spip_id=spip.id, kind=kind, type_code=t.code
            )
            by_type.append({"type": t, "source": typed})
        rows.append({"kind": kind.value, "source": source, "types": by_type})
    read_only = _read_only(agent, Permission.template_write)
    context = {
        "nav": _nav(read_only, "modeles"),
        "read_only": read_only,
        "spip": spip,
        "types": types,
        "rows": rows,
        "kinds": editing.KINDS,
        "sources": editing.SOURCES,
        "query": _query(spip, agent),
        "sep": "&" if _query(spip, agent) else "?",
    }
    return render(request, "pages/modeles.html", context)


async def _inherited(
    session: AsyncSession, spip: Spip, kind: NotificationKind, type_code: str | None
) -> tuple[str, str]:
    """The wording this scope would use without its own, and where it comes from."""
    if type_code:
        return await templates.effective_template(
            session, spip_id=spip.id, kind=kind, type_code=None
        )
    read = await templates.read_template(session, scope=templates.NATIONAL, kind=kind)
    return read.body, read.source


@router.get("/administration/modeles/{kind}", response_class=HTMLResponse)
async def template_page(
    request: Request,
    session: SessionDep,
    agent: PageAgent,
    kind: str,
    spip_id: SpipQuery = None,
    type_code: TypeQuery = None,
    ok: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    spip = await _spip(request, session, agent, spip_id, Permission.template_write, reading=True)
    notification_kind = kind_of(kind)
    types = await appointment_service.list_types(session)
    kind_type = _type_of(types, type_code)
    read = await templates.read_template(
        session, scope=templates.SpipScope(spip, type_code or None), kind=notification_kind
    )
    editor = editing.Editor(text=read.body)
    done = {"enregistre": "Le modèle est enregistré.", "retabli": "Le modèle hérité est rétabli."}
    return await _editor(
        request,
        session,
        agent,
        spip,
        notification_kind,
        kind_type,
        editor,
        saved=done.get(ok or ""),
    )


async def _editor(
    request: Request,
    session: AsyncSession,
    agent: Agent,
    spip: Spip,
    kind: NotificationKind,
    kind_type: AppointmentType | None,
    editor: editing.Editor,
    *,
    status_code: int = 200,
    fragment: bool = False,
    saved: str | None = None,
) -> HTMLResponse:
    type_code = kind_type.code if kind_type else None
    read = await templates.read_template(
        session, scope=templates.SpipScope(spip, type_code), kind=kind
    )
    own = read.source == ("appointment_type" if type_code else "spip")
    inherited_body, inherited_source = await _inherited(session, spip, kind, type_code)
    if editor.preview is None and not editor.errors:
        await _preview(session, spip, kind, type_code, editor)
    read_only = _read_only(agent, Permission.template_write)
    context = {
        "nav": _nav(read_only, "modeles"),
        "read_only": read_only,
        "spip": spip,
        "kind": kind.value,
        "kind_label": editing.KINDS[kind.value],
        "kind_type": kind_type,
        "editor": editor,
        "source": editing.SOURCES[read.source],
        "own": own,
        "inherited_body": inherited_body,
        "inherited_source": editing.SOURCES[inherited_source],
        "placeholders": editing.PLACEHOLDERS,
        "action": f"/administration/modeles/{kind.value}{_query(spip, agent, type_code)}",
        "back": f"/administration/modeles{_query(spip, agent)}",
        "national": False,
        "saved": saved,
        "fragment": fragment,
    }
    name = "pages/_modeles_apercu.html" if fragment else "pages/modeles_edition.html"
    return render(request, name, context, status_code=status_code)


async def _preview(
    session: AsyncSession,
    spip: Spip,
    kind: NotificationKind,
    type_code: str | None,
    editor: editing.Editor,
) -> None:
    """The API's ``POST /templates/preview`` on the draft: its text, parts and encoding."""
    try:
        request = PreviewRequest(
            spip_id=spip.id,
            kind=kind,
            appointment_type=type_code,
            body=editor.text,
            starts_at=editing.PREVIEW_LOCAL_START,
        )
        editor.preview = await preview.preview_template(session, spip=spip, request=request)
    except AppError as exc:
        editor.errors["texte"] = exc.detail
    except ValueError:
        editor.errors["texte"] = "Saisissez le texte du modèle (1 000 caractères au plus)."


@router.post("/administration/modeles/{kind}", response_class=HTMLResponse)
async def save_template(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    kind: str,
    spip_id: SpipQuery = None,
    type_code: TypeQuery = None,
    texte: FormField = "",
    action: FormField = "enregistrer",
) -> Response:
    """« Prévisualiser » (and htmx as one types) renders the draft; « Enregistrer » saves it
    (the API's PUT); « Revenir au modèle hérité » asks for a confirmation, then drops this scope's
    own wording (``retablir``: the API's DELETE)."""
    spip = await _spip(request, session, agent, spip_id, Permission.template_write)
    notification_kind = kind_of(kind)
    types = await appointment_service.list_types(session)
    kind_type = _type_of(types, type_code)
    scope = templates.SpipScope(spip, type_code or None)
    editor = editing.Editor(text=texte.replace("\r\n", "\n"))
    fragment = bool(request.headers.get("HX-Request")) and action == "apercu"
    target = f"/administration/modeles/{notification_kind.value}{_query(spip, agent, type_code)}"
    sep = "&" if "?" in target else "?"
    if action == "revenir":  # a confirmation first: the SPIP's wording will be gone
        read = await templates.read_template(session, scope=scope, kind=notification_kind)
        editor = editing.Editor(text=read.body, confirm_revert=True)
        return await _editor(request, session, agent, spip, notification_kind, kind_type, editor)
    try:
        if action == "retablir":
            await templates.delete_template(session, scope=scope, kind=notification_kind)
            return RedirectResponse(f"{target}{sep}ok=retabli", status_code=303)
        if action == "enregistrer":
            await templates.save_template(
                session, scope=scope, kind=notification_kind, body=editor.text, agent_id=agent.id
            )
            return RedirectResponse(f"{target}{sep}ok=enregistre", status_code=303)
    except AppError as exc:
        editor.errors["texte"] = exc.detail
        spip, agent = await _undo_spip(session, spip, agent)
        kind_type = _type_of(await appointment_service.list_types(session), type_code)
        return await _editor(
            request, session, agent, spip, notification_kind, kind_type, editor, status_code=422
        )
    await _preview(session, spip, notification_kind, type_code or None, editor)
    status = 422 if editor.errors and not fragment else 200
    return await _editor(
        request,
        session,
        agent,
        spip,
        notification_kind,
        kind_type,
        editor,
        status_code=status,
        fragment=fragment,
    )
