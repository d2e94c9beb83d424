"""What the courts' routes read and answer (« sortie d'audience »)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Self

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from app.core.schemas import IdRef, InputModel, Name, ReadModel
from app.models import Agenda, NotificationStatus, PhoneStatus, Place, Spip
from app.persons.schemas import BirthDate, PersonName, RawPhone


class CourtCreate(InputModel):
    name: Name = Field(examples=["Tribunal judiciaire de Nanterre"])
    spip_ids: list[IdRef] = Field(
        default_factory=list, max_length=50, description="SPIP pour lesquels le tribunal convoque"
    )


class CourtUpdate(InputModel):
    name: Name | None = None
    active: bool | None = None
    spip_ids: list[IdRef] | None = Field(
        default=None, max_length=50, description="Remplace les SPIP liés"
    )


class CourtRead(ReadModel):
    id: int
    name: str
    active: bool
    spip_ids: list[int]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class CourtAgenda:
    """An agenda a court clerk may book into, with the place (its zone) and SPIP it belongs to."""

    agenda: Agenda
    place: Place
    spip: Spip


@dataclass(frozen=True)
class DayAvailability:
    """One local day of an agenda: seats still free in its bookable slots, and its slots."""

    day: date
    free_seats: int
    slots: int


class CourtAgendaRead(ReadModel):
    id: int
    name: str
    appointment_types: list[str]
    place_id: int
    place_name: str
    place_address: str | None
    timezone: str = Field(description="Fuseau IANA du lieu")
    spip_id: int
    spip_name: str

    @classmethod
    def of(cls, item: CourtAgenda) -> CourtAgendaRead:
        return cls(
            id=item.agenda.id,
            name=item.agenda.name,
            appointment_types=list(item.agenda.appointment_types),
            place_id=item.place.id,
            place_name=item.place.name,
            place_address=item.place.address,
            timezone=item.place.timezone,
            spip_id=item.spip.id,
            spip_name=item.spip.name,
        )


class DayAvailabilityRead(ReadModel):
    day: date = Field(description="Jour local du lieu")
    free_seats: int
    slots: int


class CourtPerson(InputModel):
    """The person standing at the clerk's desk."""

    first_name: PersonName
    last_name: PersonName
    birth_date: BirthDate | None = None
    phone: RawPhone | None = None
    phone_status: PhoneStatus | None = Field(
        default=None,
        description="Déduit du numéro si absent ; « refused » quand la personne refuse les SMS",
    )


class CourtBookingCreate(InputModel):
    """Book the person into a slot of an agenda open to the court.

    Either ``person`` alone (the person is created in the slot's SPIP; a likely duplicate
    answers 409 ``person_likely_duplicate`` with the candidates' ids), or ``person_id`` — one of
    those candidates — **with** the same ``person``: the clerk books an existing file only by
    describing the person it matches, never by an id alone.
    """

    slot_id: IdRef
    appointment_type: str | None = Field(
        default=None,
        max_length=50,
        description="Type de convocation ; par défaut le premier accepté par l'agenda",
    )
    person_id: IdRef | None = Field(
        default=None, description="Fiche proposée par l'avertissement de doublon (409)"
    )
    person: CourtPerson | None = None
    allow_duplicate: bool = Field(
        default=False,
        description="true : créer la personne même si une fiche du SPIP semble être la même",
    )

    @model_validator(mode="after")
    def _person_given(self) -> Self:
        if self.person is None:
            raise PydanticCustomError(
                "court_person_required",
                "Décrivez la personne (« person » : nom, prénom, date de naissance, mobile).",
            )
        return self


class CourtBookingRead(ReadModel):
    """A court's booking as its clerk sees it: what the printable summary for the person needs."""

    id: int
    status: str
    person_first_name: str
    person_last_name: str
    starts_at: datetime = Field(description="Instant UTC")
    starts_at_local: str = Field(description="Heure locale du lieu, avec son décalage UTC")
    date_label: str = Field(description="« lundi 29 mars 2027 », au lieu")
    time_label: str = Field(description="« 9h00 », heure du lieu")
    timezone: str
    duration_minutes: int
    place_name: str
    place_address: str | None
    place_phone: str | None
    place_info_url: str | None
    agenda_id: int | None
    agenda_name: str | None
    spip_name: str
    appointment_type: str
    appointment_type_label: str
    summons_status: NotificationStatus | None = Field(
        description="Statut du SMS de convocation ; absent : aucun SMS prévu"
    )
    summons_reason: str | None = Field(description="Pourquoi il ne part pas (no_phone, …)")
    phone_masked: str | None = Field(description="Mobile masqué, par ex. +33••••••78")
    court_id: int
    created_by_id: int | None
    created_at: datetime
