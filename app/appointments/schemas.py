from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from app.core.localtime import zone
from app.core.schemas import IdRef, InputModel, ReadModel
from app.models import (
    Appointment,
    AppointmentStatus,
    CancelReason,
    NotificationKind,
    NotificationStatus,
)
from app.reminders.schemas import SmsWarning

StartsAt = Annotated[
    datetime,
    Field(
        description=(
            "Début de la convocation : avec un décalage (2027-03-29T09:00:00-03:00, …Z) "
            "ou en heure locale du lieu sans décalage (2027-03-29T09:00)"
        ),
        examples=["2027-03-29T09:00"],
    ),
]
TypeCode = Annotated[str, StringConstraints(min_length=1, max_length=50)]


def _slot_or_time(
    slot_id: int | None, starts_at: datetime | None, place_id: int | None, *, place_needed: bool
) -> None:
    """A slot gives the start and the place: with ``slot_id`` neither is sent; without it, the
    start (and, for a booking, the place) is."""
    if slot_id is not None and (starts_at is not None or place_id is not None):
        raise PydanticCustomError(
            "slot_or_time",
            "Avec « slot_id », le créneau donne l'heure et le lieu : n'envoyez ni « starts_at » "
            "ni « place_id ».",
        )
    if slot_id is None and (starts_at is None or (place_needed and place_id is None)):
        raise PydanticCustomError(
            "slot_or_time",
            "Donnez « starts_at »"
            + (" et « place_id »" if place_needed else "")
            + ", ou « slot_id » (un créneau d'un agenda).",
        )


SlotRef = Annotated[
    IdRef | None,
    Field(description="Créneau d'un agenda (GET /places/{id}/slots) : il donne heure, lieu, durée"),
]


class AppointmentCreate(InputModel):
    person_id: IdRef
    place_id: IdRef | None = None
    appointment_type: TypeCode = Field(examples=["suivi_spip"])
    starts_at: StartsAt | None = None
    slot_id: SlotRef = None
    agent_id: IdRef | None = Field(
        default=None,
        description=(
            "CPIP chargé de la convocation ; par défaut l'agent qui convoque s'il est CPIP, "
            "sinon le référent de la personne"
        ),
    )
    duration_minutes: int | None = Field(default=None, ge=5, le=1440)
    send_summons: bool = Field(
        default=False, description="Envoyer tout de suite une convocation par SMS"
    )
    allow_duplicate: bool = Field(
        default=False,
        description=(
            "Convoquer même si la personne a déjà une convocation qui chevauche ce créneau "
            "(sinon 409 duplicate_appointment)"
        ),
    )

    @model_validator(mode="after")
    def _check_slot_or_time(self) -> Self:
        _slot_or_time(self.slot_id, self.starts_at, self.place_id, place_needed=True)
        if self.slot_id is not None and self.duration_minutes is not None:
            raise PydanticCustomError(
                "slot_or_time", "Avec « slot_id », la durée est celle du créneau."
            )
        return self


class AppointmentCancel(InputModel):
    notify: bool = Field(default=True, description="Prévenir la personne par SMS")


class AppointmentReschedule(InputModel):
    starts_at: StartsAt | None = None
    place_id: IdRef | None = Field(default=None, description="Nouveau lieu ; par défaut le même")
    slot_id: SlotRef = None
    notify: bool = Field(default=True, description="Prévenir la personne par SMS")
    allow_duplicate: bool = Field(
        default=False,
        description=(
            "Convoquer même si la personne a déjà une convocation qui chevauche ce créneau "
            "(sinon 409 duplicate_appointment)"
        ),
    )

    @model_validator(mode="after")
    def _check_slot_or_time(self) -> Self:
        _slot_or_time(self.slot_id, self.starts_at, self.place_id, place_needed=False)
        return self


class AppointmentOutcome(InputModel):
    outcome: Literal["honored", "missed", "excused", "booked"] = Field(
        description="Issue constatée ; « booked » retire une issue saisie par erreur"
    )
    notify: bool = Field(
        default=False,
        description="Pour « missed » : envoyer un SMS invitant à reprendre contact (30 jours)",
    )


class AppointmentTypeRead(ReadModel):
    code: str
    label: str
    default_duration_minutes: int
    sms_enabled: bool


@dataclass(frozen=True)
class AppointmentView:
    """A convocation with what its representation needs from other tables."""

    appointment: Appointment
    timezone: str
    type_code: str
    type_label: str
    rescheduled_to_id: int | None = None
    next_notification_at: datetime | None = None
    # The court whose clerk booked it (« sortie d'audience »).
    court_name: str | None = None
    # What will not go out (booking, reschedule and cancel answers only).
    warnings: list[SmsWarning] = field(default_factory=list)


class AppointmentRead(ReadModel):
    id: int
    spip_id: int
    person_id: int
    place_id: int
    agent_id: int | None
    appointment_type: str
    appointment_type_label: str
    starts_at: datetime = Field(description="Instant UTC")
    starts_at_local: str = Field(description="Heure locale du lieu, avec son décalage UTC")
    timezone: str = Field(description="Fuseau IANA du lieu")
    duration_minutes: int
    status: AppointmentStatus
    cancel_reason: CancelReason | None
    cancelled_at: datetime | None
    outcome_recorded_at: datetime | None
    rescheduled_from_id: int | None
    rescheduled_to_id: int | None
    slot_id: int | None = Field(description="Créneau d'agenda de la convocation")
    court_id: int | None = Field(
        default=None,
        description="Tribunal dont le greffe a pris la convocation (sortie d'audience)",
    )
    court_name: str | None = None
    next_notification_at: datetime | None = Field(description="Prochain SMS prévu (UTC)")
    send_summons: bool
    created_by_id: int | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_view(cls, view: AppointmentView) -> AppointmentRead:
        a = view.appointment
        return cls(
            id=a.id,
            spip_id=a.spip_id,
            person_id=a.person_id,
            place_id=a.place_id,
            agent_id=a.agent_id,
            appointment_type=view.type_code,
            appointment_type_label=view.type_label,
            starts_at=a.starts_at,
            starts_at_local=a.starts_at.astimezone(zone(view.timezone)).isoformat(),
            timezone=view.timezone,
            duration_minutes=a.duration_minutes,
            status=AppointmentStatus(a.status),
            cancel_reason=CancelReason(a.cancel_reason) if a.cancel_reason else None,
            cancelled_at=a.cancelled_at,
            outcome_recorded_at=a.outcome_recorded_at,
            rescheduled_from_id=a.rescheduled_from_id,
            rescheduled_to_id=view.rescheduled_to_id,
            slot_id=a.slot_id,
            court_id=a.court_id,
            court_name=view.court_name,
            next_notification_at=view.next_notification_at,
            send_summons=a.summons_requested,
            created_by_id=a.created_by_id,
            created_at=a.created_at,
            updated_at=a.updated_at,
        )


class AppointmentChangeRead(AppointmentRead):
    """The answer to a booking, a reschedule or a cancellation: the convocation, and the SMS
    that will not go out."""

    warnings: list[SmsWarning] = Field(
        default_factory=list,
        description=(
            "Les SMS qui ne partiront pas, et pourquoi (vide si tout partira) : appeler la "
            "personne ou lui remettre une convocation papier ; et public_holiday si la "
            "convocation tombe un jour férié du lieu"
        ),
    )

    @classmethod
    def from_view(cls, view: AppointmentView) -> AppointmentChangeRead:
        read = super().from_view(view)
        assert isinstance(read, AppointmentChangeRead)
        return read.model_copy(update={"warnings": list(view.warnings)})


class AppointmentSort(StrEnum):
    """Orders of a list; each ends on the start and the id, so a page is stable."""

    date = "date"
    date_desc = "-date"
    person = "person"  # last name, first name
    place = "place"  # the place's name


@dataclass(frozen=True)
class AppointmentFilters:
    spip_id: int | None = None
    person_id: int | None = None
    agent_id: int | None = None
    place_id: int | None = None
    status: AppointmentStatus | None = None
    starts_from: datetime | date | None = None
    starts_to: datetime | date | None = None
    appointment_type: str | None = None  # a type's code
    # True: already started (a booked one is then « à renseigner »); False: still to come.
    started: bool | None = None

    def within_spip(self, spip_id: int | None) -> AppointmentFilters:
        return replace(self, spip_id=spip_id)


class PlannedSmsRead(ReadModel):
    """A message the booking would plan, rendered as the person would read it."""

    kind: NotificationKind
    status: NotificationStatus = Field(description="planned, ou skipped : il ne partira pas")
    reason: str | None = Field(description="Pourquoi il ne partira pas (skipped)")
    rule: str | None
    send_at: datetime = Field(description="Instant UTC de l'envoi prévu")
    send_at_local: str = Field(description="Heure locale du lieu, avec son décalage UTC")
    text: str
    encoding: str
    segments: int


class BookingPreviewRead(ReadModel):
    """What ``POST /appointments`` would do with the same body, computed without storing."""

    starts_at: datetime = Field(description="Instant UTC")
    starts_at_local: str = Field(description="Heure locale du lieu, avec son décalage UTC")
    timezone: str
    messages: list[PlannedSmsRead]
    warnings: list[SmsWarning] = Field(
        default_factory=list,
        description="Les SMS qui ne partiront pas, et pourquoi ; public_holiday : jour férié",
    )
