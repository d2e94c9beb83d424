"""The workers' ticks, written for the operations page: one small insert after a tick that did
something, and at most one a minute per worker while idle (the proof that it still runs).

Rows older than ``KEEP`` are deleted by the same write path, with the idle rows: the table
holds a week, whatever the number of workers.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import session_scope
from app.models import DispatchTick
from app.reminders.dispatcher import TickStats

log = logging.getLogger("convoc.worker")

KEEP = timedelta(days=7)
IDLE_EVERY_SECONDS = 60.0


class TickLog:
    """One per worker: remembers when it last wrote an idle tick."""

    def __init__(self, worker_id: str) -> None:
        self.worker_id = worker_id
        self._idle_written: float | None = None
        self._pruned: float | None = None

    async def write(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        started_at: datetime,
        duration_ms: int,
        stats: TickStats | None,
        error: BaseException | None = None,
    ) -> None:
        """Record a tick (``stats`` None: it raised ``error`` before counting). Never raises:
        the page's proof must not stop the sending."""
        counts = dataclasses.asdict(stats) if stats is not None else {}
        busy = error is not None or any(counts.values())
        if not busy:
            if not _due(self._idle_written):
                return
            self._idle_written = time.monotonic()
        pruning = _due(self._pruned)
        if pruning:
            self._pruned = time.monotonic()
        try:
            async with session_scope(sessionmaker) as session:
                session.add(
                    DispatchTick(
                        worker_id=self.worker_id[:64],
                        started_at=started_at,
                        duration_ms=max(duration_ms, 0),
                        error=type(error).__name__[:100] if error is not None else None,
                        **counts,
                    )
                )
                if pruning:  # once a minute per worker: what aged out since, a few rows
                    await prune(session, started_at - KEEP)
        except Exception:
            log.exception("worker.tick_record_failed id=%s", self.worker_id)


def _due(last: float | None) -> bool:
    return last is None or time.monotonic() - last >= IDLE_EVERY_SECONDS


async def prune(session: AsyncSession, before: datetime) -> int:
    result = await session.execute(delete(DispatchTick).where(DispatchTick.started_at < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
