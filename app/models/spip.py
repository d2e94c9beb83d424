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
    # Public holidays (app.core.holidays: « 973 », « 57 »…); None: metropolitan France. Checked
    # by the API like phone_region and timezone, not by a CHECK, so the list can grow freely.
    holiday_territory: Mapped[str | None] = mapped_column(String(8))
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
    # Overrides the SPIP's holiday territory; None: the SPIP's.
    holiday_territory: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(default=True)
