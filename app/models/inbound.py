"""SMS received from persons: a STOP (the refusal is recorded on the person) or a reply.

A reply's text is personal data: it is stored here for the referent to read, never logged,
and goes with the person (``ON DELETE CASCADE``). A STOP keeps no text: what it means is
already recorded on the person (``phone_status``, ``sms_refused_*``) and in the audit trail.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.types import UtcDateTime
from app.models.base import Base, IdMixin, enum_check


class InboundKind(StrEnum):
    stop = "stop"  # the person declines SMS
    reply = "reply"  # any other text, shown to the referent


class InboundMessage(IdMixin, Base):
    """One SMS a provider received for us. (provider, provider_message_id) is unique: a
    provider retrying its webhook stores the message once."""

    __tablename__ = "inbound_sms"
    __table_args__ = (
        enum_check("kind", InboundKind),
        UniqueConstraint("provider", "provider_message_id"),
        # A person's replies, latest first (the person's page, the API).
        Index("ix_inbound_sms_person_id_received_at", "person_id", "received_at"),
        # The referents' unread replies (home page): few rows, read_at IS NULL.
        Index("ix_inbound_sms_spip_id_read_at", "spip_id", "read_at"),
    )

    provider: Mapped[str] = mapped_column(String(30))
    provider_message_id: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sender_phone: Mapped[str] = mapped_column(String(20))  # E.164; personal data
    # NULL when no person has this number: kept (counted, never shown) until retention.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    # The convocation whose SMS the person answered (the latest sent to them), if any.
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment.id", ondelete="CASCADE"), index=True
    )
    spip_id: Mapped[int | None] = mapped_column(ForeignKey("spip.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(10))
    body: Mapped[str | None] = mapped_column(Text)  # NULL for a STOP: nothing to keep
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    read_by_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
