"""``GET /persons/{person_id}/replies``: the SMS a person sent back, for the agents of the
person's SPIP (the persons' scoped loader, ``person:read``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from app.auth.access import Permission as P
from app.auth.dependencies import Allowed
from app.core.responses import error_responses
from app.db import SessionDep
from app.models import Agent
from app.persons.dependencies import ScopedPerson
from app.replies import service
from app.replies.schemas import ReplyRead

router = APIRouter(tags=["Personnes suivies"])


@router.get(
    "/persons/{person_id}/replies",
    response_model=list[ReplyRead],
    responses=error_responses(401, 403, 404),
)
async def list_replies(
    person: ScopedPerson,
    _: Annotated[Agent, Depends(Allowed(P.person_read))],
    session: SessionDep,
) -> list[ReplyRead]:
    """The person's received SMS, latest first (the last 50): replies with their text, STOPs
    without."""
    return [ReplyRead.model_validate(r) for r in await service.for_person(session, person.id)]
