"""What the operations page reads and writes beside the messages: the dispatcher's ticks, and
the pauses of sending (national or for one SPIP)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.types import UtcDateTime
from app.models.base import Base, IdMixin


class DispatchTick(IdMixin, Base):
    """One tick of a worker that did something (or one idle tick a minute per worker): the
    operators' proof that the workers run. Rows older than a week are deleted as new ones
    are written."""

    __tablename__ = "dispatch_tick"
    __table_args__ = (Index("ix_dispatch_tick_started_at", "started_at"),)

    worker_id: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    duration_ms: Mapped[int]
    claimed: Mapped[int] = mapped_column(default=0)
    sent: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    cancelled: Mapped[int] = mapped_column(default=0)
    deferred: Mapped[int] = mapped_column(default=0)
    retried: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    expired: Mapped[int] = mapped_column(default=0)
    receipts: Mapped[int] = mapped_column(default=0)
    # The tick raised (the database went away…): its counts are what it did before.
    error: Mapped[str | None] = mapped_column(String(100))


class SendingPause(IdMixin, Base):
    """Sending held by an operator: for one SPIP, or nationally (``spip_id`` NULL). Active
    while ``resumed_at`` is NULL. Held messages stay planned with their windows: one whose
    last useful moment passes meanwhile expires, it never goes late."""

    __tablename__ = "sending_pause"
    # The dispatcher reads the active pauses at every claim: a handful of rows at most.
    __table_args__ = (Index("ix_sending_pause_resumed_at", "resumed_at"),)

    spip_id: Mapped[int | None] = mapped_column(ForeignKey("spip.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(200))
    paused_at: Mapped[datetime] = mapped_column(UtcDateTime())
    paused_by_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))
    resumed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resumed_by_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))
