from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.types import UtcDateTime
from app.models.base import Base, IdMixin


class AccessToken(IdMixin, Base):
    """An opaque bearer token, stored hashed: a stolen database does not yield live tokens."""

    __tablename__ = "access_token"

    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_used_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())  # absolute lifetime
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ActivationToken(IdMixin, Base):
    """A one-time token with which a new agent sets a password."""

    __tablename__ = "activation_token"

    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class LoginAttempt(IdMixin, Base):
    """Recent login attempts per client address, for rate limiting across API processes."""

    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_client_attempted_at", "client", "attempted_at"),)

    client: Mapped[str] = mapped_column(String(64))
    attempted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    succeeded: Mapped[bool]
