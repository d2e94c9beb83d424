"""« Marquer comme lue »: a reply a person sent, read by an agent of the person's SPIP (the
persons' loader and access rules: another SPIP's person is « introuvable »)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from app.auth.access import Permission
from app.core.schemas import IdPath
from app.db import SessionDep
from app.replies import service as reply_service
from app.web import loaders
from app.web.sessions import PostingAgent, safe_next

router = APIRouter()


@router.post("/personnes/{person_id}/reponses/{reply_id}/lue")
async def mark_read(
    request: Request,
    session: SessionDep,
    agent: PostingAgent,
    person_id: IdPath,
    reply_id: IdPath,
    retour: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """Back to the page the agent came from (the person's, or the home page's list)."""
    person = await loaders.person(request, session, agent, person_id, Permission.person_read)
    await reply_service.mark_read(session, person=person, reply_id=reply_id, agent=agent)
    target = safe_next(retour) if retour else f"/personnes/{person.id}?ok=lue#reponses"
    return RedirectResponse(target, status_code=303)
