"""``/api/v1/operations``: the queue now, pausing and resuming the sending (national
administrators: ``operations:manage``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from app.auth.access import Permission as P
from app.auth.dependencies import Allowed
from app.core.clock import utcnow
from app.core.responses import error_responses
from app.core.schemas import IdPath
from app.db import SessionDep
from app.models import Agent
from app.operations import pauses, retry, service
from app.operations.schemas import PauseCreate, PauseRead, QueueRead, RetryCreate, RetryRead

router = APIRouter(prefix="/operations", tags=["Exploitation"])
Operator = Annotated[Agent, Depends(Allowed(P.operations))]
AUTH = error_responses(401, 403)


@router.get("/queue", response_model=QueueRead, responses=AUTH)
async def queue(session: SessionDep, _: Operator) -> QueueRead:
    """La file d'envoi maintenant : dus, en cours, en retard, par SPIP, et les pauses en cours."""
    return await service.queue_read(session, utcnow())


@router.post(
    "/pauses",
    response_model=PauseRead,
    status_code=status.HTTP_201_CREATED,
    responses=AUTH | error_responses(404, 409, 422),
)
async def create_pause(body: PauseCreate, session: SessionDep, agent: Operator) -> PauseRead:
    """Suspendre l'envoi, national (sans ``spip_id``) ou d'un SPIP. Les messages retenus gardent
    leur fenêtre : celui dont le dernier moment utile passe pendant la pause expire."""
    row = await pauses.pause(session, spip_id=body.spip_id, reason=body.reason, agent=agent)
    return PauseRead.model_validate(row)


@router.post(
    "/pauses/{pause_id}/resume",
    response_model=PauseRead,
    responses=AUTH | error_responses(404, 409),
)
async def resume_pause(pause_id: IdPath, session: SessionDep, agent: Operator) -> PauseRead:
    """Reprendre l'envoi : le prochain passage du répartiteur prend ce qui est encore à temps."""
    return PauseRead.model_validate(await pauses.resume(session, pause_id=pause_id, agent=agent))


@router.post("/retries", response_model=RetryRead, responses=AUTH | error_responses(404, 422))
async def retry_failures(body: RetryCreate, session: SessionDep, agent: Operator) -> RetryRead:
    """Renvoyer les messages en échec des dernières 24 h dont la convocation est à venir (et pas
    déjà renvoyés), chacun comme ``POST /notifications/{id}/resend`` ; au plus 500 à la fois."""
    chosen = retry.RetryFilter(provider=body.provider, reason=body.reason, spip_id=body.spip_id)
    result = await retry.retry_failed(session, utcnow(), chosen, agent=agent)
    return RetryRead(
        replanned=result.replanned, refused=dict(result.refused), summary=retry.summary(result)
    )
