from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, NamedTuple, Protocol, Self

from pydantic import Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from app.agendas.errors import InvalidCursor
from app.core.localtime import zone
from app.core.schemas import IdRef, InputModel, Name, ReadModel
from app.models import Agenda, Slot

TypeCode = Annotated[str, StringConstraints(min_length=1, max_length=50)]
Capacity = Annotated[int, Field(ge=1, le=1000, description="Nombre de personnes par créneau")]
Duration = Annotated[int, Field(ge=5, le=1440, description="Durée en minutes")]
LocalTime = Annotated[time, Field(description="Heure locale du lieu (HH:MM)", examples=["09:00"])]


class AgendaCreate(InputModel):
    name: Name
    agent_id: IdRef | None = Field(default=None, description="CPIP dont c'est l'agenda")
    appointment_types: list[TypeCode] = Field(
        default_factory=list,
        max_length=50,
        description="Codes des types de convocation acceptés ; vide : tous",
    )
    open_to_courts: bool = Field(
        default=False,
        description="Sortie d'audience : les greffes des tribunaux liés au SPIP y convoquent",
    )


class AgendaUpdate(InputModel):
    name: Name | None = None
    agent_id: IdRef | None = None
    appointment_types: list[TypeCode] | None = Field(default=None, max_length=50)
    active: bool | None = None
    open_to_courts: bool | None = None


class AgendaRead(ReadModel):
    id: int
    spip_id: int
    place_id: int
    name: str
    agent_id: int | None
    appointment_types: list[str]
    active: bool
    open_to_courts: bool
    timezone: str = Field(description="Fuseau IANA du lieu")

    @classmethod
    def of(cls, agenda: Agenda, timezone: str) -> AgendaRead:
        return cls.model_validate(
            {**{k: getattr(agenda, k) for k in cls.model_fields if k != "timezone"}}
            | {"timezone": timezone}
        )


class SlotTypeCreate(InputModel):
    weekday: int = Field(ge=1, le=7, description="Jour ISO : 1 lundi … 7 dimanche")
    start_time: LocalTime
    duration_minutes: Duration
    capacity: Capacity = 1
    from_date: date = Field(description="Premier jour (inclus)")
    to_date: date | None = Field(
        default=None, description="Dernier jour (inclus) ; vide : sans fin"
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.to_date is not None and self.to_date < self.from_date:
            raise PydanticCustomError("invalid_period", "La date de fin précède la date de début.")
        return self


class SlotTypeRead(ReadModel):
    id: int
    agenda_id: int
    weekday: int
    start_time: time
    duration_minutes: int
    capacity: int
    from_date: date
    to_date: date | None
    active: bool


class SlotTypeCreated(SlotTypeRead):
    slots_created: int = Field(description="Créneaux ouverts jusqu'à l'horizon")


class SlotBatchCreate(InputModel):
    """Many one-off slots at once: every ``dates`` × ``times``, or ``day`` from ``start`` to
    ``end`` (excluded) every ``interval_minutes``. Times are the place's local times."""

    dates: list[date] = Field(default_factory=list, max_length=366)
    times: list[LocalTime] = Field(default_factory=list, max_length=96)
    day: date | None = None
    start: LocalTime | None = None
    end: LocalTime | None = None
    interval_minutes: int | None = Field(default=None, ge=5, le=1440)
    duration_minutes: Duration
    capacity: Capacity = 1

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        grid = bool(self.dates or self.times)
        series = any(v is not None for v in (self.day, self.start, self.end, self.interval_minutes))
        if grid == series or (grid and not (self.dates and self.times)):
            raise PydanticCustomError(
                "slot_batch_form",
                "Donnez soit « dates » et « times », soit « day », « start », « end » et "
                "« interval_minutes ».",
            )
        if series and None in (self.day, self.start, self.end, self.interval_minutes):
            raise PydanticCustomError(
                "slot_batch_form", "Donnez « day », « start », « end » et « interval_minutes »."
            )
        if series and self.end is not None and self.start is not None and self.end <= self.start:
            raise PydanticCustomError("invalid_period", "L'heure de fin doit suivre le début.")
        return self

    def local_starts(self) -> list[datetime]:
        """The naive local starts asked for, in order, without repeats."""
        if self.dates:
            starts = {datetime.combine(d, t) for d in self.dates for t in self.times}
            return sorted(starts)
        assert self.day and self.start and self.end and self.interval_minutes
        first = datetime.combine(self.day, self.start)
        end = datetime.combine(self.day, self.end)
        step = timedelta(minutes=self.interval_minutes)
        count = int((end - first) / step) + (1 if (end - first) % step else 0)
        return [first + k * step for k in range(count)]


class SlotUpdate(InputModel):
    capacity: Capacity | None = None
    closed: bool | None = Field(default=None, description="Fermé : plus de nouvelle convocation")


class SlotFields(Protocol):
    """What a slot's representation reads: a ``Slot``, or a row of its columns (listings)."""

    @property
    def id(self) -> int: ...
    @property
    def agenda_id(self) -> int: ...
    @property
    def place_id(self) -> int: ...
    @property
    def slot_type_id(self) -> int | None: ...
    @property
    def starts_at(self) -> datetime: ...
    @property
    def duration_minutes(self) -> int: ...
    @property
    def capacity(self) -> int: ...
    @property
    def booked(self) -> int: ...
    @property
    def closed(self) -> bool: ...


class SlotView(NamedTuple):
    """A slot as listed. A named tuple rather than a frozen dataclass: listings build a
    thousand of these, and a frozen dataclass's ``__init__`` costs twice as much."""

    slot: Slot | SlotFields
    timezone: str
    agenda_name: str


@dataclass(frozen=True)
class SlotCursor:
    """Where a page ended: listings are ordered by (start, agenda) and an agenda has one slot
    per instant, so this pair is unique and never changes (a slot's start is not editable).
    Pages therefore neither repeat nor skip a slot, whatever is booked between two requests."""

    starts_at: datetime
    agenda_id: int

    @classmethod
    def of(cls, view: SlotView) -> SlotCursor:
        return cls(view.slot.starts_at, view.slot.agenda_id)

    def encode(self) -> str:
        """« 2027-03-01T08:00:00Z~12 »: readable in logs, but clients must treat it as opaque."""
        instant = self.starts_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return f"{instant}~{self.agenda_id}"

    @classmethod
    def decode(cls, text: str) -> SlotCursor:
        instant, _, agenda = text.partition("~")
        try:
            starts_at = datetime.fromisoformat(instant)
            agenda_id = int(agenda)
        except ValueError:
            raise InvalidCursor(field="after") from None
        if starts_at.tzinfo is None or agenda_id < 1:
            raise InvalidCursor(field="after")
        return cls(starts_at.astimezone(UTC), agenda_id)


class SlotRead(ReadModel):
    id: int
    agenda_id: int
    agenda_name: str
    place_id: int
    slot_type_id: int | None
    starts_at: datetime = Field(description="Instant UTC")
    starts_at_local: str = Field(description="Heure locale du lieu, avec son décalage UTC")
    ends_at_local: str
    timezone: str
    duration_minutes: int
    capacity: int
    booked: int
    seats_left: int
    closed: bool

    @classmethod
    def from_view(cls, view: SlotView) -> SlotRead:
        """Built without validation (``model_construct``): every value comes from the database
        and listings build a thousand of these (bench/slots.py)."""
        s, tz = view.slot, zone(view.timezone)
        local = s.starts_at.astimezone(tz)
        return cls.model_construct(
            id=s.id,
            agenda_id=s.agenda_id,
            agenda_name=view.agenda_name,
            place_id=s.place_id,
            slot_type_id=s.slot_type_id,
            starts_at=s.starts_at,
            starts_at_local=local.isoformat(),
            ends_at_local=(s.starts_at + timedelta(minutes=s.duration_minutes))
            .astimezone(tz)
            .isoformat(),
            timezone=view.timezone,
            duration_minutes=s.duration_minutes,
            capacity=s.capacity,
            booked=s.booked,
            seats_left=max(s.capacity - s.booked, 0),
            closed=s.closed,
        )


class SlotBatchRead(ReadModel):
    created: list[SlotRead]
    skipped: int = Field(description="Créneaux déjà ouverts à ces heures dans l'agenda")
