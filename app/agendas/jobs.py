"""The worker's daily job: open slots up to the horizon as days go by."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.agendas import service
from app.config import get_settings
from app.core.clock import utcnow
from app.db import session_scope

log = logging.getLogger("convoc.agendas")


async def extend_slot_horizon(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Generate every active slot type's missing slots (idempotent: reruns open nothing)."""
    async with session_scope(sessionmaker) as session:
        created = await service.extend_horizon(
            session, now=utcnow(), months=get_settings().slot_horizon_months
        )
    log.info("agendas.horizon_extended slots=%s", created)
    return created
