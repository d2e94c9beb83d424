"""Agendas: the forms of an agenda and of a recurring opening read into the API's bodies
(``AgendaCreate``, ``SlotTypeCreate``), their refusals as French field messages, the recurring
openings in words (« chaque mardi à 9h00, 20 minutes, 1 place ») and a week of slots per day,
in the place's local time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from app.agendas.schemas import SlotView
from app.core.errors import AppError
from app.core.localtime import zone
from app.core.validation import field_errors
from app.models import SlotType
from app.web.templating import french_date, french_time

AGENDA_LABELS = {
    "lieu": "Lieu",
    "nom": "Nom de l'agenda",
    "agent": "Agent",
    "types": "Types de convocation acceptés",
}
OPENING_LABELS = {
    "jour": "Jour de la semaine",
    "heure": "Heure de début",
    "duree": "Durée (minutes)",
    "capacite": "Nombre de places",
    "debut": "À partir du",
    "fin": "Jusqu'au",
}
WEEKDAYS = [
    ("1", "lundi"),
    ("2", "mardi"),
    ("3", "mercredi"),
    ("4", "jeudi"),
    ("5", "vendredi"),
    ("6", "samedi"),
    ("7", "dimanche"),
]
_WEEKDAY_NAMES = dict(WEEKDAYS)
# Which field of a form a field of the API's body is.
_FIELDS = {
    "place_id": "lieu",
    "name": "nom",
    "agent_id": "agent",
    "appointment_types": "types",
    "weekday": "jour",
    "start_time": "heure",
    "duration_minutes": "duree",
    "capacity": "capacite",
    "from_date": "debut",
    "to_date": "fin",
}
# The API's bounds, said for the field rather than « Valeur trop petite ».
_BOUNDS = {
    "capacite": "Indiquez un nombre de places entre 1 et 1000.",
    "duree": "Indiquez une durée entre 5 et 1440 minutes.",
}
_PERIOD = "La date de fin précède la date de début."


@dataclass
class Form:
    """A form's fields as typed (a failed form comes back filled), its errors by field."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    alert: str | None = None
    chosen: list[str] = field(default_factory=list)  # the checked types

    def get(self, name: str) -> str:
        return self.values.get(name, "")


M = TypeVar("M", bound=BaseModel)


def validated(
    form: Form,
    model: type[M],
    values: dict[str, Any],
    *,
    fields: dict[str, str] = _FIELDS,
    bounds: dict[str, str] = _BOUNDS,
) -> M | None:
    """The API's body, or ``None`` with the form's errors in the API's French words
    (``fields``: which field of the form each field of the body is)."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        for error in field_errors(exc.errors()):
            name = fields.get(error["field"].split(".")[0])
            if name in bounds and error["code"].endswith(("than_equal", "than")):
                form.errors.setdefault(name, bounds[name])
            elif name:
                form.errors.setdefault(name, error["message"])
            elif error["code"] == "invalid_period":
                form.errors.setdefault("fin", _PERIOD)
            else:
                form.alert = "Vérifiez les champs du formulaire."
        return None


def explain(form: Form, exc: AppError) -> None:
    """A domain refusal, on the field it concerns, or as the form's alert."""
    fields = exc.extra.get("fields") or []
    named = fields[0]["field"] if fields else exc.extra.get("field")
    name = _FIELDS.get(str(named).split(".")[-1]) if named else None
    if name:
        form.errors[name] = exc.detail
    else:
        form.alert = exc.detail


def optional_id(value: str) -> int | str | None:
    """A select's id: ``None`` when empty, the text itself when not a number (refused)."""
    value = value.strip()
    if not value:
        return None
    return int(value) if value.isdigit() and len(value) < 10 else value


def opening_values(form: Form) -> dict[str, Any]:
    """The opening form as ``SlotTypeCreate``'s body; a weekday outside the list is refused
    here, in words (the list is French, the API's field is an ISO number)."""
    jour = form.get("jour")
    if jour not in _WEEKDAY_NAMES:
        form.errors["jour"] = "Choisissez un jour de la semaine dans la liste."
    return {
        "weekday": int(jour) if jour in _WEEKDAY_NAMES else 1,
        "start_time": form.get("heure") or None,
        "duration_minutes": form.get("duree") or None,
        "capacity": form.get("capacite") or None,
        "from_date": form.get("debut") or None,
        "to_date": form.get("fin") or None,
    }


def places_word(count: int) -> str:
    return f"{count} place" + ("s" if count > 1 else "")


def describe(slot_type: SlotType) -> str:
    """« chaque mardi à 9h00, 20 minutes, 1 place, du mardi 19 janvier 2027 au … »."""
    day = _WEEKDAY_NAMES[str(slot_type.weekday)]
    at = f"{slot_type.start_time.hour}h{slot_type.start_time.minute:02d}"
    text = (
        f"chaque {day} à {at}, {slot_type.duration_minutes} minutes, "
        f"{places_word(slot_type.capacity)}, "
    )
    if slot_type.to_date is None:
        return text + f"à partir du {french_date(slot_type.from_date)}, sans fin"
    return text + f"du {french_date(slot_type.from_date)} au {french_date(slot_type.to_date)}"


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_param(value: str | None, today: date) -> date:
    """``?semaine=AAAA-MM-JJ`` as the Monday of that week; missing or wrong: this week."""
    if value:
        try:
            return monday_of(date.fromisoformat(value))
        except ValueError:
            pass
    return monday_of(today)


@dataclass(frozen=True)
class SlotLine:
    id: int
    time: str
    end: str
    taken: int
    capacity: int
    closed: bool
    started: bool


@dataclass(frozen=True)
class Day:
    label: str
    iso: str
    slots: list[SlotLine]


def week_days(monday: date, views: list[SlotView], timezone: str, now: datetime) -> list[Day]:
    """The seven days of the week, each with its slots in the place's local time."""
    tz = zone(timezone)
    by_day: dict[date, list[SlotLine]] = {monday + timedelta(days=k): [] for k in range(7)}
    for view in views:
        slot = view.slot
        local = slot.starts_at.astimezone(tz)
        end = (slot.starts_at + timedelta(minutes=slot.duration_minutes)).astimezone(tz)
        line = SlotLine(
            slot.id,
            french_time(local),
            french_time(end),
            slot.booked,
            slot.capacity,
            slot.closed,
            slot.starts_at <= now,
        )
        by_day.setdefault(local.date(), []).append(line)
    return [Day(french_date(d), d.isoformat(), lines) for d, lines in sorted(by_day.items())]
