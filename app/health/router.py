from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from app.auth.dependencies import PUBLIC
from app.core.errors import ServiceUnavailable
from app.core.responses import error_responses
from app.db import SessionDep

router = APIRouter(tags=["Santé"])


class HealthRead(BaseModel):
    status: str


@router.get("/health", response_model=HealthRead, dependencies=[PUBLIC])
async def alive() -> HealthRead:
    """The process answers (liveness)."""
    return HealthRead(status="ok")


@router.get(
    "/health/ready",
    response_model=HealthRead,
    responses=error_responses(503),
    dependencies=[PUBLIC],
)
async def ready(session: SessionDep) -> HealthRead:
    """The database answers (readiness)."""
    try:
        await session.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not ready"
        raise ServiceUnavailable("La base de données ne répond pas.") from exc
    return HealthRead(status="ok")
