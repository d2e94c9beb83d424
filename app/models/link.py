from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.types import UtcDateTime
from app.models.base import Base, IdMixin


class ConvocationLink(IdMixin, Base):
    """The short link of a convocation's SMS, to the person's page (``/c/<token>``).

    The token is never stored: it is derived from ``nonce`` under the server secret
    (``app.links.tokens``), so every SMS of the convocation can render the same link, and
    ``token_hash`` (its SHA-256) finds the row a visitor's token names. A link is revoked by an
    agent; it lapses on its own some days after the convocation (``link_valid_days_after``).
    """

    __tablename__ = "convocation_link"

    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointment.id", ondelete="CASCADE"), unique=True
    )
    nonce: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
