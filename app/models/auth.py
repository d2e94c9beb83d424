from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
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


class LoginThrottle(Base):
    """Login attempts per client address in the current window, for the rate limit.

    One row per address, counted with a single ``INSERT … ON CONFLICT DO UPDATE … RETURNING``:
    parallel attempts serialise on the row, so none escapes the count (rows read then written
    back let 60 parallel attempts through a limit of 30).
    """

    __tablename__ = "login_throttle"

    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_started_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    attempts: Mapped[int]
