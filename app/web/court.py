"""Sortie d'audience: what the court clerk's pages show beside the courts service — a month of
an agenda as a calendar (free seats per day), a day's slots in the place's time, the booking
form read into the API's body, and its refusals in words."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from app.core.localtime import zone
from app.courts.schemas import CourtBookingRead
from app.models import NotificationStatus
from app.web.appointment import REASONS
from app.web.persons import PersonForm, national
from app.web.templating import DAY_NAMES, MONTH_NAMES, french_date, french_time
from app.web.today import SMS_STATUS, zone_label

# The court's pages name the zone whenever it is not Paris's (a clerk has no SPIP clock).
PARIS = "Europe/Paris"
LABELS = {
    "nom": "Nom",
    "prenom": "Prénom",
    "naissance": "Date de naissance",
    "telephone": "Téléphone mobile",
    "type": "Type de convocation",
}
WEEKDAYS = DAY_NAMES
SLOT_FULL = "Ce créneau vient d'être complet : choisissez-en un autre."
DUPLICATE = "Une personne portant ces nom, prénom et date de naissance est déjà suivie par ce SPIP."


def zone_of(timezone: str) -> str | None:
    """« heure de Cayenne », or nothing for Paris."""
    return zone_label(timezone, PARIS)


def month_label(month: date) -> str:
    return f"{MONTH_NAMES[month.month - 1]} {month.year}"


def month_param(value: str | None, today: date) -> date:
    """``?mois=AAAA-MM`` as its first day; missing or wrong: this month."""
    if value and len(value) == 7:
        try:
            return date.fromisoformat(f"{value}-01")
        except ValueError:
            pass
    return today.replace(day=1)


def day_param(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def shift_month(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def seats_word(count: int) -> str:
    return f"{count} place{'s' if count > 1 else ''} libre{'s' if count > 1 else ''}"


@dataclass(frozen=True)
class DayCell:
    day: date
    label: str  # « mardi 19 janvier 2027 », for the link's accessible name
    status: str  # « 3 places libres », « Complet », « Aucun créneau »
    free: int
    slots: int
    chosen: bool


def month_weeks(
    month: date, availability: list[Any], chosen: date | None
) -> list[list[DayCell | None]]:
    """The month as weeks from Monday to Sunday; days of the neighbouring months are ``None``."""
    by_day = {a.day: a for a in availability}
    first = month - timedelta(days=month.weekday())
    last = shift_month(month, 1) - timedelta(days=1)
    weeks: list[list[DayCell | None]] = []
    day = first
    while day <= last:
        week: list[DayCell | None] = []
        for _ in range(7):
            week.append(_cell(day, by_day.get(day), chosen) if day.month == month.month else None)
            day += timedelta(days=1)
        weeks.append(week)
    return weeks


def _slot_count(item: Any) -> int:
    slots = getattr(item, "slots", 0)
    return len(slots) if isinstance(slots, list | tuple) else int(slots or 0)


def _cell(day: date, item: Any, chosen: date | None) -> DayCell:
    free = int(item.free_seats) if item is not None else 0
    slots = _slot_count(item) if item is not None else 0
    if not slots:
        status = "Aucun créneau"
    elif not free:
        status = "Complet"
    else:
        status = seats_word(free)
    return DayCell(day, french_date(day), status, free, slots, day == chosen)


@dataclass(frozen=True)
class SlotLine:
    id: int
    time: str
    end: str
    free: int
    capacity: int
    bookable: bool
    status: str


def slot_lines(views: list[Any], now: datetime) -> list[SlotLine]:
    """A day's slots in the place's local time, each with its free seats."""
    lines = []
    for view in views:
        slot = view.slot
        tz = zone(view.timezone)
        start = slot.starts_at.astimezone(tz)
        end = (slot.starts_at + timedelta(minutes=slot.duration_minutes)).astimezone(tz)
        free = max(slot.capacity - slot.booked, 0)
        if slot.closed:
            status = "Fermé"
        elif slot.starts_at <= now:
            status = "Passé"
        elif not free:
            status = "Complet"
        else:
            status = seats_word(free)
        bookable = not slot.closed and slot.starts_at > now and free > 0
        line = SlotLine(
            slot.id, french_time(start), french_time(end), free, slot.capacity, bookable, status
        )
        lines.append(line)
    return lines


def when(instant: datetime, timezone: str) -> str:
    """« mardi 19 janvier 2027 à 9h00 (heure de Cayenne) »."""
    local = instant.astimezone(zone(timezone))
    label = zone_of(timezone)
    return f"{french_date(local)} à {french_time(local)}" + (f" ({label})" if label else "")


@dataclass
class BookingForm:
    """The person and the type, as typed (a refused form comes back filled)."""

    person: PersonForm = field(default_factory=PersonForm)
    type: str = ""
    # After the duplicate warning: the candidate the clerk says it is (opaque to the page).
    candidate: str = ""
    duplicate: bool = False  # the warning is shown: the two choices replace « Convoquer »
    full: bool = False  # the last seat went meanwhile

    @property
    def errors(self) -> dict[str, str]:
        return self.person.errors

    @property
    def alert(self) -> str | None:
        return self.person.alert


def accepted_types(types: list[Any], codes: list[str]) -> list[Any]:
    """The agenda's accepted types (none chosen: all)."""
    return [t for t in types if not codes or t.code in codes]


def masked(e164: str | None) -> str | None:
    """« 06 •• •• •• 12 », « 0694 •• •• 56 »: the national form, its first and last groups only
    (the paper may be left anywhere; the person recognises their number)."""
    groups = (national(e164) or "").split()
    if len(groups) < 3:
        return None
    middle = [re.sub(r"\d", "•", g) for g in groups[1:-1]]
    return " ".join([groups[0], *middle, groups[-1]])


def sms_sentence(status: NotificationStatus | None, reason: str | None, phone: str | None) -> str:
    """What the paper says of the summons SMS: sent, leaving now, or why none goes."""
    to = f" au {phone}" if phone else ""
    if status in (NotificationStatus.sent, NotificationStatus.delivered):
        return f"Un SMS de confirmation a été envoyé{to}."
    if status in (NotificationStatus.planned, NotificationStatus.sending):
        return f"Un SMS de confirmation est envoyé{to} dans un instant."
    if status in (NotificationStatus.failed, NotificationStatus.undelivered):
        return f"Le SMS de confirmation n'a pas pu être délivré{to} : gardez bien ce papier."
    why = REASONS.get(reason or "", "aucun SMS n'est prévu pour cette convocation")
    return f"Aucun SMS de confirmation n'est envoyé : {why}. Gardez bien ce papier."


@dataclass(frozen=True)
class Summary:
    id: int
    person: str
    when: str
    place: str
    address: str | None
    service: str
    type_label: str
    sms: str
    sms_short: str
    clerk: str | None = None
    phone: str | None = None  # the place's, to warn of an absence
    info_url: str | None = None


def _person_name(read: CourtBookingRead) -> str:
    return f"{read.person_last_name.upper()} {read.person_first_name}"


def summary(read: CourtBookingRead, phone: str | None, clerk: str | None = None) -> Summary:
    label = zone_of(read.timezone)
    when = f"{read.date_label} à {read.time_label}" + (f" ({label})" if label else "")
    status = read.summons_status
    short, _ = SMS_STATUS.get(status.value if status else "", ("Aucun", ""))
    return Summary(
        id=read.id,
        person=_person_name(read),
        when=when,
        place=read.place_name,
        address=read.place_address,
        service=read.spip_name + (f" — {read.agenda_name}" if read.agenda_name else ""),
        type_label=read.appointment_type_label,
        sms=sms_sentence(status, read.summons_reason, masked(phone)),
        sms_short=short,
        clerk=clerk,
        phone=read.place_phone,
        info_url=read.place_info_url,
    )


def booking_row(read: CourtBookingRead, clerk: str | None) -> Summary:
    return summary(read, None, clerk)
