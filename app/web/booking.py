"""Convoquer: the form's fields read into the API's ``AppointmentCreate``, the domain's errors
as French field errors, the preview of the SMS in the agent's words, and the changes of time
explained (the API refuses a local time in a gap or a fold; the page says why, in words)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from app.appointments.schemas import AppointmentCreate, BookingPreviewRead
from app.core.errors import AppError
from app.core.localtime import AmbiguousLocalTime, NonexistentLocalTime, zone
from app.models import AppointmentType, Place
from app.web.templating import french_date, french_time, sms_parts, zone_name
from app.web.today import zone_label

LABELS = {
    "mode": "Quand",
    "type": "Type de convocation",
    "lieu": "Lieu",
    "date": "Date",
    "heure": "Heure",
    "agenda": "Agenda",
    "creneau": "Créneau",
}
# The agenda's refusals of a slot booking, on the slot's field, in the secretariat's words.
SLOT_ERRORS = {
    "slot_full": "Ce créneau vient d'être complet : choisissez-en un autre.",
    "slot_closed": "Ce créneau vient d'être fermé : choisissez-en un autre.",
    "slot_not_found": "Ce créneau n'existe plus : choisissez-en un autre.",
    "agenda_inactive": "Cet agenda n'est plus utilisé : choisissez un autre agenda.",
}
SLOT = "creneau"
KINDS = {
    "summons": "Convocation",
    "reminder": "Rappel",
    "cancellation": "Annulation",
    "reschedule": "Changement de date",
    "missed": "Absence constatée",
}
# Which field of the form an error of the domain belongs to.
FIELDS = {"appointment_type": "type", "place_id": "lieu", "starts_at": "date"}


@dataclass
class Form:
    """What the agent typed, kept as typed (a failed form comes back filled)."""

    type: str = ""
    lieu: str = ""
    date: str = ""
    heure: str = ""
    envoyer: bool = False
    # « À une heure libre » (``heure``) or « Dans un créneau d'un agenda » (``creneau``).
    mode: str = "heure"
    agenda: str = ""
    creneau: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    alert: str | None = None


@dataclass(frozen=True)
class SmsLine:
    kind: str
    goes: bool
    when: str
    text: str
    parts: str


def default_form(places: list[Place], types: list[AppointmentType]) -> Form:
    return Form(
        type=types[0].code if len(types) == 1 else "",
        lieu=str(places[0].id) if len(places) == 1 else "",
    )


def place_of(form: Form, places: list[Place]) -> Place | None:
    return next((p for p in places if str(p.id) == form.lieu), None)


def to_create(form: Form, person_id: int, places: list[Place]) -> AppointmentCreate | None:
    """The API's body, or ``None`` with the form's errors filled."""
    if not form.type:
        form.errors["type"] = "Choisissez le type de convocation."
    if form.mode == SLOT:
        return _slot_create(form, person_id)
    if place_of(form, places) is None:
        form.errors["lieu"] = "Choisissez le lieu."
    day = _day(form.date)
    at = _time(form.heure)
    if day is None:
        form.errors["date"] = "Saisissez la date au format jj/mm/aaaa."
    if at is None:
        form.errors["heure"] = "Saisissez l'heure au format hh:mm, par exemple 09:00."
    if form.errors or day is None or at is None:
        return None
    try:
        return AppointmentCreate(
            person_id=person_id,
            place_id=int(form.lieu),
            appointment_type=form.type,
            starts_at=datetime.combine(day, at),
            send_summons=form.envoyer,
        )
    except ValidationError:
        form.alert = "Vérifiez les champs du formulaire."
        return None


def _slot_create(form: Form, person_id: int) -> AppointmentCreate | None:
    """A booking into a slot: the slot gives the place, the start and the duration."""
    if not form.agenda.isdigit():
        form.errors["agenda"] = "Choisissez l'agenda."
    elif not (form.creneau.isdigit() and len(form.creneau) < 10):
        form.errors["creneau"] = "Choisissez un créneau libre."
    if form.errors:
        return None
    try:
        return AppointmentCreate(
            person_id=person_id,
            slot_id=int(form.creneau),
            appointment_type=form.type,
            send_summons=form.envoyer,
        )
    except ValidationError:
        form.alert = "Vérifiez les champs du formulaire."
        return None


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def _time(value: str) -> time | None:
    try:
        return time.fromisoformat(value.strip())
    except ValueError:
        return None


def explain_error(form: Form, exc: AppError, place: Place | None) -> None:
    """The domain's refusal, on the field it concerns, in words."""
    if isinstance(exc, NonexistentLocalTime | AmbiguousLocalTime) and place is not None:
        local = datetime.combine(date.fromisoformat(form.date), time.fromisoformat(form.heure))
        form.errors["heure"] = explain_dst(local, zone(place.timezone))
        return
    fields = exc.extra.get("fields") or []
    named = fields[0]["field"] if fields else exc.extra.get("field")
    name = FIELDS.get(str(named)) if named else None
    if exc.code in SLOT_ERRORS:
        form.errors["creneau"] = SLOT_ERRORS[exc.code]
    elif exc.code == "duplicate_appointment":
        where = "creneau" if form.mode == SLOT else "date"
        form.errors[where] = "Cette personne a déjà une convocation sur ce créneau."
    elif name:
        form.errors[name] = exc.detail
    else:
        form.alert = exc.detail


def _in_gap(wall: datetime, tz: ZoneInfo) -> bool:
    back = wall.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    return back != wall


def _in_fold(wall: datetime, tz: ZoneInfo) -> bool:
    return wall.replace(tzinfo=tz).utcoffset() != wall.replace(tzinfo=tz, fold=1).utcoffset()


def explain_dst(local: datetime, tz: ZoneInfo) -> str:
    """« 2h30 n'existe pas ce jour-là à Paris : les horloges passent de 2h00 à 3h00 »; the
    fold likewise. Pure: the wall time and the zone."""
    city = zone_name(tz.key)
    day = french_date(local)
    first = local.replace(tzinfo=tz, fold=0).utcoffset() or timedelta()
    second = local.replace(tzinfo=tz, fold=1).utcoffset() or timedelta()
    if _in_gap(local, tz):
        start = local.replace(second=0, microsecond=0)
        while _in_gap(start - timedelta(minutes=1), tz):
            start -= timedelta(minutes=1)
        end = start + (second - first)
        return (
            f"{french_time(local)} n'existe pas le {day} à {city} : cette nuit-là, les horloges "
            f"passent directement de {french_time(start)} à {french_time(end)} (heure d'été). "
            "Choisissez une autre heure."
        )
    back_at = local.replace(second=0, microsecond=0)
    while _in_fold(back_at, tz):
        back_at += timedelta(minutes=1)
    shift = first - second
    return (
        f"{french_time(local)} existe deux fois le {day} à {city} : cette nuit-là, à "
        f"{french_time(back_at)}, les horloges reviennent à {french_time(back_at - shift)} "
        "(heure d'hiver). Convoc ne choisit pas à votre place : choisissez une autre heure."
    )


def when(instant: datetime, place_tz: str, spip_tz: str) -> str:
    """« lundi 29 mars 2027 à 9h00 (heure de Cayenne) »."""
    local = instant.astimezone(zone(place_tz))
    label = zone_label(place_tz, spip_tz)
    return f"{french_date(local)} à {french_time(local)}" + (f" ({label})" if label else "")


def sms_lines(preview: BookingPreviewRead, spip_tz: str) -> list[SmsLine]:
    return [
        SmsLine(
            kind=KINDS.get(m.kind.value, m.kind.value),
            goes=m.status.value == "planned",
            when=when(m.send_at, preview.timezone, spip_tz),
            text=m.text,
            parts=sms_parts(m.segments, m.encoding) or "",
        )
        for m in preview.messages
    ]
