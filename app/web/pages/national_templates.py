"""Modèles nationaux (``/administration/modeles-nationaux``): the national wordings every SPIP
inherits, for national administrators (``template:national``), through the services of
``PUT`` / ``DELETE /templates/{kind}``, in the same editor as a SPIP's templates."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from app.auth.access import Permission
from app.auth.dependencies import require
from app.core.errors import AppError
from app.db import SessionDep
from app.models import NotificationKind
from app.reminders import templates
from app.web import sms_templates as editing
from app.web.pages.reminder_settings import kind_of, undo
from app.web.sessions import PageAgent, PostingAgent
from app.web.templating import render

router = APIRouter()
FormField = Annotated[str, Form()]


@router.get("/administration/modeles-nationaux", response_class=HTMLResponse)
async def national_templates_page(
    request: Request, session: SessionDep, agent: PageAgent
) -> HTMLResponse:
    require(request, agent, Permission.national_template_write)
    rows = []
    for kind in NotificationKind:
        read = await templates.read_template(session, scope=templates.NATIONAL, kind=kind)
        rows.append({"kind": kind.value, "source": read.source})
    context = {
        "nav": "administration",
        "rows": rows,
        "kinds": editing.KINDS,
        "sources": editing.SOURCES,
    }
    return render(request, "pages/modeles_nationaux.html", context)


@router.get("/administration/modeles-nationaux/{kind}", response_class=HTMLResponse)
async def national_template_page(
    request: Request,
    session: SessionDep,
    agent: PageAgent,
    kind: str,
    ok: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    require(request, agent, Permission.national_template_write)
    notification_kind = kind_of(kind)
    read = await templates.read_template(session, scope=templates.NATIONAL, kind=notification_kind)
    editor = editing.Editor(text=read.body)
    done = {
        "enregistre": "Le modèle national est enregistré.",
        "retabli": "Le modèle par défaut est rétabli.",
    }
    return await _national(request, session, notification_kind, editor, saved=done.get(ok or ""))


async def _national(
    request: Request,
    session: AsyncSession,
    kind: NotificationKind,
    editor: editing.Editor,
    *,
    status_code: int = 200,
    fragment: bool = False,
    saved: str | None = None,
) -> HTMLResponse:
    read = await templates.read_template(session, scope=templates.NATIONAL, kind=kind)
    if editor.preview is None and not editor.errors:
        editing.national_preview(editor)
    context: dict[str, Any] = {
        "nav": "administration",
        "spip": None,
        "kind": kind.value,
        "kind_label": editing.KINDS[kind.value],
        "kind_type": None,
        "editor": editor,
        "source": editing.SOURCES[read.source],
        "own": read.source == "national",
        "inherited_body": templates.DEFAULT_TEMPLATES[kind],
        "inherited_source": editing.SOURCES["default"],
        "placeholders": editing.PLACEHOLDERS,
        "action": f"/administration/modeles-nationaux/{kind.value}",
        "back": "/administration/modeles-nationaux",
        "national": True,
        "saved": saved,
        "fragment": fragment,
    }
    name = "pages/_modeles_apercu.html" if fragment else "pages/modeles_edition.html"
    return render(request, name, context, status_code=status_code)


@router.post("/administration/modeles-nationaux/{kind}", response_class=HTMLResponse)
async def save_national_template(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    kind: str,
    texte: FormField = "",
    action: FormField = "enregistrer",
) -> Response:
    require(request, agent, Permission.national_template_write)
    notification_kind = kind_of(kind)
    editor = editing.Editor(text=texte.replace("\r\n", "\n"))
    fragment = bool(request.headers.get("HX-Request")) and action == "apercu"
    target = f"/administration/modeles-nationaux/{notification_kind.value}"
    if action == "revenir":  # a confirmation first: the national wording will be gone
        read = await templates.read_template(
            session, scope=templates.NATIONAL, kind=notification_kind
        )
        editor = editing.Editor(text=read.body, confirm_revert=True)
        return await _national(request, session, notification_kind, editor)
    try:
        if action == "retablir":
            await templates.delete_template(
                session, scope=templates.NATIONAL, kind=notification_kind
            )
            return RedirectResponse(f"{target}?ok=retabli", status_code=303)
        if action == "enregistrer":
            await templates.save_template(
                session,
                scope=templates.NATIONAL,
                kind=notification_kind,
                body=editor.text,
                agent_id=agent.id,
            )
            return RedirectResponse(f"{target}?ok=enregistre", status_code=303)
    except AppError as exc:
        editor.errors["texte"] = exc.detail
        await undo(session, agent)
        return await _national(request, session, notification_kind, editor, status_code=422)
    editing.national_preview(editor)
    status = 422 if editor.errors and not fragment else 200
    return await _national(
        request, session, notification_kind, editor, status_code=status, fragment=fragment
    )
