from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.types import UtcDateTime
from app.models.base import Base, IdMixin


class AuditEvent(IdMixin, Base):
    """Who did what, when. Append-only: database triggers refuse UPDATE and DELETE.

    ``changes`` holds old and new values for ordinary fields, and only ``{"changed": true}`` for
    personal data (names, phone, birth date), so the trail itself leaks nothing.
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_entity_entity_id", "entity", "entity_id"),
        Index("ix_audit_event_spip_id_occurred_at", "spip_id", "occurred_at"),
        Index("ix_audit_event_agent_id_occurred_at", "agent_id", "occurred_at"),
    )

    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))
    spip_id: Mapped[int | None] = mapped_column(ForeignKey("spip.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None]
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    client: Mapped[str | None] = mapped_column(String(64))
