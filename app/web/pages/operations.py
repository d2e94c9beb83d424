"""Administration nationale — exploitation: whether the SMS go out (queue, providers, ticks,
failures), pausing and resuming the sending, retrying a failed batch — through
``app.operations``, with ``operations:manage`` (national administrators)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from starlette.responses import Response

from app.auth.access import Permission
from app.auth.dependencies import require
from app.core.clock import utcnow
from app.core.errors import AppError
from app.core.schemas import IdPath
from app.db import SessionDep
from app.operations import pauses, retry
from app.operations.schemas import PauseCreate
from app.web import operations as views
from app.web.admin import Form as PageForm
from app.web.sessions import PageAgent, PostingAgent
from app.web.templating import render

router = APIRouter()
FormField = Annotated[str, Form()]
PAGE = "/administration/exploitation"
LABELS = {"perimetre": "Périmètre", "motif": "Motif de la pause"}
NOTICES = {
    "pause": "L'envoi est en pause. Les messages retenus gardent leur fenêtre : ceux dont le "
    "dernier moment utile passe pendant la pause expireront, aucun ne partira en retard.",
    "reprise": "L'envoi a repris : le prochain passage du répartiteur prend ce qui est encore "
    "à temps.",
}


@router.get(PAGE, response_class=HTMLResponse)
async def operations_page(
    request: Request,
    session: SessionDep,
    agent: PageAgent,
    ok: str = "",
    n: str = "",
    refus: str = "",
) -> HTMLResponse:
    require(request, agent, Permission.operations)
    return await _page(request, session, PageForm(), notice=_notice(ok, n, refus))


async def _page(
    request: Request,
    session: SessionDep,
    form: PageForm,
    *,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    sms = getattr(request.app.state, "sms_settings", None)
    context = await views.page_context(session, utcnow(), sms)
    context |= {"form": form, "labels": LABELS, "notice": notice}
    return render(request, "pages/operations.html", context, status_code=status_code)


def _notice(ok: str, n: str, refus: str) -> str | None:
    if ok == "renvoi" and n.isdigit() and len(n) < 7:
        return retry.summary(_retry_result(int(n), refus))
    return NOTICES.get(ok)


def _retry_result(replanned: int, refus: str) -> retry.RetryResult:
    """The result a batch's redirect carries: ``refus=too_late:2,window_closed:1`` (known codes
    only; their words are the errors' own)."""
    result = retry.RetryResult(replanned=replanned)
    for item in refus.split(",")[:10]:
        code, _, count = item.partition(":")
        if code in retry.REFUSALS and count.isdigit() and len(count) < 7:
            result.refused[code] += int(count)
    return result


def _spip_choice(value: str) -> int | str | None:
    """``national``, a SPIP's id, or the raw value (refused by the body)."""
    if value == "national":
        return None
    return int(value) if value.isdigit() and len(value) < 10 else value


@router.post(f"{PAGE}/pauses", response_class=HTMLResponse)
async def pause(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    perimetre: FormField = "",
    motif: FormField = "",
) -> Response:
    require(request, agent, Permission.operations)
    form = PageForm({"perimetre": perimetre, "motif": motif})
    try:
        data = PauseCreate.model_validate({"spip_id": _spip_choice(perimetre), "reason": motif})
    except ValidationError as exc:
        for error in exc.errors():
            if error["loc"][0] == "spip_id":
                form.errors["perimetre"] = "Choisissez un SPIP de la liste, ou tout le service."
            else:
                form.errors["motif"] = "Indiquez le motif en quelques mots (3 à 200 caractères)."
        return await _page(request, session, form, status_code=422)
    try:
        async with session.begin_nested():
            await pauses.pause(session, spip_id=data.spip_id, reason=data.reason, agent=agent)
    except AppError as exc:
        form.alert = exc.detail
        return await _page(request, session, form, status_code=409)
    return RedirectResponse(f"{PAGE}?ok=pause", status_code=303)


@router.post(f"{PAGE}/pauses/{{pause_id}}/reprise", response_class=HTMLResponse)
async def resume(
    request: Request, session: SessionDep, agent: PostingAgent, pause_id: IdPath
) -> Response:
    require(request, agent, Permission.operations)
    try:
        async with session.begin_nested():
            await pauses.resume(session, pause_id=pause_id, agent=agent)
    except AppError as exc:
        form = PageForm(alert=exc.detail)
        return await _page(request, session, form, status_code=exc.status_code)
    return RedirectResponse(f"{PAGE}?ok=reprise", status_code=303)


def _retry_filter(fournisseur: str, motif: str, spip: str) -> retry.RetryFilter:
    spip_id = int(spip) if spip.isdigit() and len(spip) < 10 else None
    return retry.RetryFilter(
        provider=fournisseur[:30] or None, reason=motif[:40] or None, spip_id=spip_id
    )


@router.get(f"{PAGE}/renvoi", response_class=HTMLResponse)
async def retry_confirm(
    request: Request,
    session: SessionDep,
    agent: PageAgent,
    fournisseur: str = "",
    motif: str = "",
    spip: str = "",
) -> HTMLResponse:
    """The confirmation: how many failed messages the batch would send again."""
    require(request, agent, Permission.operations)
    chosen = _retry_filter(fournisseur, motif, spip)
    ids = await retry.candidates(session, utcnow(), chosen)
    context = {
        "nav": "administration",
        "count": len(ids),
        "limit": retry.BATCH_LIMIT,
        "chosen": chosen,
        "values": {"fournisseur": fournisseur, "motif": motif, "spip": spip},
        "reason_label": views.reason_label,
    }
    return render(request, "pages/operations_retry.html", context)


@router.post(f"{PAGE}/renvoi", response_class=HTMLResponse)
async def retry_batch(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    fournisseur: FormField = "",
    motif: FormField = "",
    spip: FormField = "",
) -> Response:
    require(request, agent, Permission.operations)
    result = await retry.retry_failed(
        session, utcnow(), _retry_filter(fournisseur, motif, spip), agent=agent
    )
    refused = ",".join(f"{code}:{count}" for code, count in result.refused.items())
    query = urlencode({"ok": "renvoi", "n": result.replanned, "refus": refused})
    return RedirectResponse(f"{PAGE}?{query}", status_code=303)
