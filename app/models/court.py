"""Courts (tribunaux judiciaires) whose clerks book « sortie d'audience » convocations."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TimestampMixin


class Court(IdMixin, TimestampMixin, Base):
    """A court: its clerks (``Role.court_clerk``) book into the agendas that its linked SPIPs
    open to the courts (``Agenda.open_to_courts``), and see nothing else of those SPIPs."""

    __tablename__ = "court"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    active: Mapped[bool] = mapped_column(default=True)


# Which SPIPs a court books for. Deleting a court drops its links; a SPIP linked to a court
# cannot be deleted (its agendas hold the court's convocations).
court_spip = Table(
    "court_spip",
    Base.metadata,
    Column("court_id", ForeignKey("court.id", ondelete="CASCADE"), primary_key=True),
    Column("spip_id", ForeignKey("spip.id", ondelete="RESTRICT"), primary_key=True),
)
