from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TimestampMixin


class Spip(IdMixin, TimestampMixin, Base):
    """A probation service: the unit of access, time zone and phone numbering."""

    __tablename__ = "spip"

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    # ISO region used to read numbers typed in national format (FR, GF, RE, …).
    phone_region: Mapped[str] = mapped_column(String(2))
    address: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(32))


class Place(IdMixin, TimestampMixin, Base):
    """A lieu de convocation. A convocation's local time is always its place's."""

    __tablename__ = "place"

    spip_id: Mapped[int] = mapped_column(ForeignKey("spip.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(32))
    info_url: Mapped[str | None] = mapped_column(String(500))
    timezone: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
