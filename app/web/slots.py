"""Slots of an agenda, for the secretariat's pages: the form « Ouvrir des créneaux ponctuels »
read into the API's ``SlotBatchCreate`` (several dates × several times, or one day from a start
to an end every N minutes), what it did in words, and a free slot as a booking's choice
(« mardi 8 décembre 2026 à 9h00 — 2 places libres sur 8 »), in the place's local time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from app.agendas.schemas import SlotBatchCreate, SlotView
from app.core.errors import AppError
from app.core.localtime import zone
from app.web.agendas import Form, validated
from app.web.templating import french_date, french_time

BATCH_LABELS = {
    "p_forme": "Façon d'ouvrir",
    "p_dates": "Dates",
    "p_heures": "Heures",
    "p_jour": "Jour",
    "p_debut": "De",
    "p_fin": "À",
    "p_intervalle": "Toutes les (minutes)",
    "p_duree": "Durée de chaque créneau (minutes)",
    "p_capacite": "Places par créneau",
}
# The API's body fields, as the batch form's fields (per form: a grid or a series).
_GRID_FIELDS = {
    "dates": "p_dates",
    "times": "p_heures",
    "duration_minutes": "p_duree",
    "capacity": "p_capacite",
}
_SERIES_FIELDS = {
    "day": "p_jour",
    "dates": "p_jour",
    "start": "p_debut",
    "times": "p_debut",
    "end": "p_fin",
    "interval_minutes": "p_intervalle",
    "duration_minutes": "p_duree",
    "capacity": "p_capacite",
}
_BOUNDS = {
    "p_capacite": "Indiquez un nombre de places entre 1 et 1000.",
    "p_duree": "Indiquez une durée entre 5 et 1440 minutes.",
    "p_intervalle": "Indiquez un intervalle entre 5 et 1440 minutes.",
}
_SEPARATORS = re.compile(r"[\s,;]+")
_FRENCH_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_FRENCH_TIME = re.compile(r"^(\d{1,2})(?:[h:](\d{2})?)?$", re.IGNORECASE)


def batch_form() -> Form:
    return Form({"p_forme": "liste", "p_duree": "20", "p_capacite": "1", "p_jour": ""})


def _date(text: str) -> date | None:
    found = _FRENCH_DATE.match(text)
    try:
        if found:
            return date(int(found[3]), int(found[2]), int(found[1]))
        return date.fromisoformat(text)
    except ValueError:
        return None


def _time(text: str) -> time | None:
    found = _FRENCH_TIME.match(text)
    try:
        if found:
            return time(int(found[1]), int(found[2] or 0))
        return time.fromisoformat(text)
    except ValueError:
        return None


def _many(form: Form, name: str, parse: Any, what: str, example: str) -> list[Any]:
    """Several dates (or times) in one field, separated by commas, spaces or new lines."""
    words = [w for w in _SEPARATORS.split(form.get(name)) if w]
    values = [parse(w) for w in words]
    wrong = [w for w, v in zip(words, values, strict=True) if v is None]
    if not words:
        form.errors[name] = f"Indiquez au moins {what}, par exemple {example}."
    elif wrong:
        form.errors[name] = f"« {wrong[0]} » n'est pas compris : écrivez par exemple {example}."
    return [v for v in values if v is not None]


def read_batch(form: Form) -> SlotBatchCreate | None:
    """``SlotBatchCreate``'s body from the form, or ``None`` with its errors in French."""
    common: dict[str, Any] = {
        "duration_minutes": form.get("p_duree") or None,
        "capacity": form.get("p_capacite") or None,
    }
    if form.get("p_forme") == "serie":
        day = _date(form.get("p_jour").strip())
        start, end = _time(form.get("p_debut").strip()), _time(form.get("p_fin").strip())
        if day is None:
            form.errors["p_jour"] = "Saisissez la date au format jj/mm/aaaa."
        if start is None:
            form.errors["p_debut"] = "Saisissez l'heure au format hh:mm, par exemple 09:00."
        if end is None:
            form.errors["p_fin"] = "Saisissez l'heure au format hh:mm, par exemple 12:00."
        elif start is not None and end <= start:
            form.errors["p_fin"] = "L'heure de fin doit suivre l'heure de début."
        values: dict[str, Any] = common | {
            "day": day,
            "start": start,
            "end": end,
            "interval_minutes": form.get("p_intervalle") or None,
        }
        fields = _SERIES_FIELDS
    else:
        dates = _many(form, "p_dates", _date, "une date", "19/01/2027, 21/01/2027")
        times = _many(form, "p_heures", _time, "une heure", "09:00, 14:30")
        values = common | {"dates": dates, "times": times}
        fields = _GRID_FIELDS
    data = validated(form, SlotBatchCreate, values, fields=fields, bounds=_BOUNDS)
    return None if form.errors or form.alert else data


def explain_batch(form: Form, exc: AppError) -> None:
    """A domain refusal (a slot in the past, a time that does not exist, too many slots)."""
    fields = _SERIES_FIELDS if form.get("p_forme") == "serie" else _GRID_FIELDS
    named = str(exc.extra.get("field") or "")
    if named in fields:
        form.errors[fields[named]] = exc.detail
    else:
        form.alert = exc.detail


def opened_words(created: int, skipped: int) -> str:
    """« 12 créneaux ouverts (2 existaient déjà). »"""
    text = f"{created} créneau{'x' if created > 1 else ''} ouvert{'s' if created > 1 else ''}"
    if skipped:
        text += f" ({skipped} existai{'en' if skipped > 1 else ''}t déjà)"
    return text + "."


@dataclass(frozen=True)
class FreeSlot:
    id: int
    label: str


def free_slot(view: SlotView) -> FreeSlot:
    """« mardi 8 décembre 2026 à 9h00 — 2 places libres sur 8 »."""
    slot = view.slot
    local = slot.starts_at.astimezone(zone(view.timezone))
    left = max(slot.capacity - slot.booked, 0)
    places = f"{left} place{'s' if left > 1 else ''} libre{'s' if left > 1 else ''}"
    return FreeSlot(
        slot.id, f"{french_date(local)} à {french_time(local)} — {places} sur {slot.capacity}"
    )


def slot_title(starts_at: datetime, duration: int, timezone: str) -> str:
    """« mardi 19 janvier 2027, 9h00 – 9h20 »."""
    tz = zone(timezone)
    local = starts_at.astimezone(tz)
    end = (starts_at + timedelta(minutes=duration)).astimezone(tz)
    return f"{french_date(local)}, {french_time(local)} – {french_time(end)}"
