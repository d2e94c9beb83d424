from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, event, inspect
from sqlalchemy.orm import Mapped, mapped_column

from app.core.text import search_key
from app.core.types import UtcDateTime
from app.models.base import Base, IdMixin, TimestampMixin, enum_check


class RefusalChannel(StrEnum):
    """Who recorded a refusal of SMS: an agent, or the person (the convocation link, an SMS)."""

    agent = "agent"
    link = "link"
    sms = "sms"


class PhoneStatus(StrEnum):
    valid = "valid"
    none = "none"
    refused = "refused"  # the person declined SMS; the number may still be kept for the agent


class Person(IdMixin, TimestampMixin, Base):
    """A personne suivie. Names, birth date and phone are sensitive personal data."""

    __tablename__ = "person"
    __table_args__ = (
        enum_check("phone_status", PhoneStatus),
        CheckConstraint("phone_status <> 'valid' OR phone IS NOT NULL", name="valid_phone_present"),
        Index("ix_person_spip_id_last_name", "spip_id", "last_name"),
        Index("ix_person_spip_id_search_name", "spip_id", "search_name"),
        # An SMS received is matched to its sender's persons by number, across SPIPs.
        Index("ix_person_phone", "phone"),
    )

    spip_id: Mapped[int] = mapped_column(ForeignKey("spip.id", ondelete="RESTRICT"))
    referent_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agent.id", ondelete="SET NULL"), index=True
    )
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    # The names folded for search (app.core.text.search_key): lower-case, without accents,
    # ligatures or punctuation, the same on SQLite and PostgreSQL. Derived, never set by hand:
    # the flush hooks below keep it in step with the names for every writer that goes through
    # the ORM (service, demo data, test factories); migration 7d4e2b9c1a05 filled existing rows.
    search_name: Mapped[str] = mapped_column(String(500), default="", server_default="")
    birth_date: Mapped[date | None] = mapped_column(Date)
    # E.164 (+33612345678), always a valid mobile; never anything else.
    phone: Mapped[str | None] = mapped_column(String(20))
    phone_status: Mapped[str] = mapped_column(String(10), default=PhoneStatus.none.value)
    # Set when a provider refused an SMS to this number for good ("<provider>:<code>"), so the
    # agent checks the number; cleared when the number changes.
    phone_problem: Mapped[str | None] = mapped_column(String(60))
    phone_problem_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # When and how the person declined SMS (``phone_status`` = refused); cleared when SMS are
    # allowed again. The referent sees both; the audit trail says who. A ``RefusalChannel``,
    # written only through it: no CHECK, which SQLite could only add by rebuilding ``person``.
    sms_refused_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sms_refused_via: Mapped[str | None] = mapped_column(String(10))
    archived: Mapped[bool] = mapped_column(default=False)
    archived_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


@event.listens_for(Person, "before_insert")
def _search_name_on_insert(_mapper: object, _connection: object, person: Person) -> None:
    person.search_name = search_key(person.first_name, person.last_name)


@event.listens_for(Person, "before_update")
def _search_name_on_update(_mapper: object, _connection: object, person: Person) -> None:
    state = inspect(person)
    if state.attrs.first_name.history.has_changes() or state.attrs.last_name.history.has_changes():
        person.search_name = search_key(person.first_name, person.last_name)
