from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TimestampMixin, enum_check


class Role(StrEnum):
    cpip = "cpip"
    secretariat = "secretariat"
    manager = "manager"
    local_admin = "local_admin"
    admin = "admin"


class Agent(IdMixin, TimestampMixin, Base):
    __tablename__ = "agent"
    __table_args__ = (enum_check("role", Role),)

    spip_id: Mapped[int] = mapped_column(ForeignKey("spip.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # Stored lower-cased so uniqueness is case-insensitive on both databases.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
