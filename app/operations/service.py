"""The operations' use cases the API and the page share."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.operations import board, pauses
from app.operations.schemas import PauseRead, QueueRead, SpipQueueRead
from app.sms.config import SmsSettings


async def queue_read(session: AsyncSession, now: datetime) -> QueueRead:
    queue = await board.queue(session, now)
    active = await pauses.active_pauses(session)
    paused = {p.spip_id for p in active}
    return QueueRead(
        due=queue.due,
        later_today=queue.later_today,
        in_flight=queue.in_flight,
        late=queue.late,
        held=queue.held,
        oldest_due_at=queue.oldest_due_at,
        spips=[
            SpipQueueRead(
                spip_id=s.spip_id,
                name=s.name,
                due=s.due,
                late=s.late,
                paused=None in paused or s.spip_id in paused,
            )
            for s in queue.spips
        ],
        national_pause=None in paused,
        pauses=[PauseRead.model_validate(p) for p in active],
    )


def configured_providers(sms: SmsSettings | Any) -> list[tuple[str, float | None]]:
    """(name, rate limit) in failover order, from the SMS settings the process runs with."""
    if not isinstance(sms, SmsSettings):
        return []
    configured: list[tuple[str, float | None]] = []
    for name in sms.providers:
        try:
            limit = sms.provider_config(name).rate_limit
        except ValueError:  # a provider without settings of its own
            limit = None
        configured.append((name, limit))
    return configured
