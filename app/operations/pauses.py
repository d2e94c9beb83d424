"""Pausing and resuming the sending, nationally or for one SPIP.

The dispatcher's claim skips the messages of a paused SPIP (``dispatcher.paused_spips``): they
stay planned with their windows, and one whose last useful moment passes during the pause
expires (``expire_overdue``), it never goes out late. Resuming lets the next tick take what is
still in its window.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.core.clock import utcnow
from app.models import Agent, SendingPause
from app.operations.errors import AlreadyPaused, AlreadyResumed, PauseNotFound
from app.spips import service as spip_service

log = logging.getLogger("convoc.operations")


async def active_pauses(session: AsyncSession) -> list[SendingPause]:
    """The pauses in force, the national one first, then by SPIP."""
    rows = await session.scalars(
        select(SendingPause).where(SendingPause.resumed_at.is_(None)).order_by(SendingPause.id)
    )
    return sorted(rows, key=lambda p: (p.spip_id is not None, p.spip_id or 0))


async def pause(
    session: AsyncSession, *, spip_id: int | None, reason: str, agent: Agent
) -> SendingPause:
    """Hold the sending of ``spip_id`` (None: nationally). One active pause per scope."""
    if spip_id is not None:
        await spip_service.get_spip(session, spip_id)  # 404 spip_not_found
    if any(p.spip_id == spip_id for p in await active_pauses(session)):
        raise AlreadyPaused()
    row = SendingPause(spip_id=spip_id, reason=reason, paused_at=utcnow(), paused_by_id=agent.id)
    session.add(row)
    await session.flush()
    _audit(session, "sending_paused", row, agent, {"reason": reason})
    log.warning("operations.sending_paused pause=%s spip=%s", row.id, spip_id or "national")
    return row


async def resume(session: AsyncSession, *, pause_id: int, agent: Agent) -> SendingPause:
    row = await session.get(SendingPause, pause_id)
    if row is None:
        raise PauseNotFound()
    if row.resumed_at is not None:
        raise AlreadyResumed()
    row.resumed_at, row.resumed_by_id = utcnow(), agent.id
    await session.flush()
    _audit(session, "sending_resumed", row, agent, None)
    log.warning("operations.sending_resumed pause=%s spip=%s", row.id, row.spip_id or "national")
    return row


def _audit(
    session: AsyncSession,
    action: str,
    row: SendingPause,
    agent: Agent,
    changes: dict[str, object] | None,
) -> None:
    audit.record(
        session,
        action,
        "spip" if row.spip_id is not None else "national",
        row.spip_id,
        agent=agent,
        changes={"pause_id": row.id, **(changes or {})},
        spip_id=row.spip_id,
    )
