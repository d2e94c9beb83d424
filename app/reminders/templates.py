"""SMS wording: French defaults, placeholders, validation and rendering.

Placeholders are ``{rdv.date}`` (« lundi 29 mars 2027 »), ``{rdv.heure}`` (« 9h00 »),
``{lieu.nom}``, ``{lieu.adresse}``, ``{lieu.telephone}``, ``{lieu.lien_info}`` and
``{spip.nom}``. There is deliberately no placeholder for the person's name: an SMS can be read
by anyone holding the phone.
A part in square brackets is optional: it disappears when a placeholder inside it has no value
(``[ Infos : {lieu.lien_info}]`` when the place has no information page).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from app.models import NotificationKind
from app.reminders.errors import MalformedTemplate, TemplateTooLong, UnknownPlaceholder
from app.sms.encoding import SmsInfo, analyze, to_gsm_friendly

DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip
PLACEHOLDERS = frozenset(
    {
        "rdv.date",
        "rdv.heure",
        "lieu.nom",
        "lieu.adresse",
        "lieu.telephone",
        "lieu.lien_info",
        "spip.nom",
    }
)
# A Monday morning, for previews without a convocation.
SAMPLE_START = datetime(2027, 3, 29, 7, 0, tzinfo=UTC)
# The longest values a date and an hour can take, for the segment cap.
LONGEST_DATE = "mercredi 29 septembre 2027"
LONGEST_HOUR = "23h30"

DEFAULT_TEMPLATES: dict[NotificationKind, str] = {
    NotificationKind.summons: (
        "{spip.nom} : vous êtes convoqué(e) le {rdv.date} à {rdv.heure}, {lieu.nom}, "
        "{lieu.adresse}.[ Infos : {lieu.lien_info}][ En cas d'empêchement, appelez le "
        "{lieu.telephone}.]"
    ),
    NotificationKind.reminder: (
        "Rappel : convocation le {rdv.date} à {rdv.heure}, {lieu.nom}, {lieu.adresse}. "
        "Votre présence est obligatoire.[ Empêchement : appelez le {lieu.telephone}.]"
    ),
    NotificationKind.cancellation: (
        "{spip.nom} : votre convocation du {rdv.date} à {rdv.heure} est annulée. "
        "Ne vous déplacez pas.[ Questions : {lieu.telephone}.]"
    ),
    NotificationKind.reschedule: (
        "{spip.nom} : votre convocation est déplacée au {rdv.date} à {rdv.heure}, {lieu.nom}, "
        "{lieu.adresse}.[ Empêchement : appelez le {lieu.telephone}.]"
    ),
    NotificationKind.missed: (
        "{spip.nom} : vous ne vous êtes pas présenté(e) à votre convocation du {rdv.date} à "
        "{rdv.heure}. Contactez votre SPIP rapidement[ au {lieu.telephone}]."
    ),
}

_TOKEN = re.compile(r"\{([^{}]*)\}")
_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")


def french_date(moment: datetime) -> str:
    day = "1er" if moment.day == 1 else str(moment.day)
    return f"{DAYS[moment.weekday()]} {day} {MONTHS[moment.month - 1]} {moment.year}"


def french_hour(moment: datetime) -> str:
    return f"{moment.hour}h{moment.minute:02d}"


def validate(body: str) -> None:
    """Refuse unknown placeholders and unbalanced braces or brackets (422)."""
    unknown = sorted({name for name in _TOKEN.findall(body) if name not in PLACEHOLDERS})
    if unknown:
        allowed = ", ".join("{" + p + "}" for p in sorted(PLACEHOLDERS))
        raise UnknownPlaceholder(
            f"Variable(s) inconnue(s) : {', '.join('{' + u + '}' for u in unknown)}. "
            f"Variables possibles : {allowed}.",
            field="body",
        )
    stripped = _OPTIONAL.sub("", _TOKEN.sub("", body))
    if any(c in stripped for c in "{}[]"):
        raise MalformedTemplate(field="body")


def render(body: str, values: dict[str, str | None], *, gsm7_friendly: bool) -> str:
    def optional(match: re.Match[str]) -> str:
        names = _TOKEN.findall(match.group(1))
        return match.group(1) if all(values.get(n) for n in names) else ""

    text = _OPTIONAL.sub(optional, body)
    text = _TOKEN.sub(lambda m: values.get(m.group(1)) or "", text)
    text = re.sub(r"[ \t]{2,}", " ", text).strip()
    return to_gsm_friendly(text) if gsm7_friendly else text


@dataclass(frozen=True)
class Rendered:
    text: str
    info: SmsInfo


def render_info(body: str, values: dict[str, str | None], *, gsm7_friendly: bool) -> Rendered:
    text = render(body, values, gsm7_friendly=gsm7_friendly)
    return Rendered(text, analyze(text))


ENCODING_LABELS = {"gsm7": "GSM-7", "ucs2": "UCS-2"}


def worst_rendering(
    body: str, longest_values: dict[str, str | None], *, gsm7_friendly: bool
) -> Rendered:
    """The longest rendering of ``body`` with these worst-case values (the segment cap's
    measure, for a template saved as for a policy changed)."""
    values = {"rdv.date": LONGEST_DATE, "rdv.heure": LONGEST_HOUR} | longest_values
    return render_info(body, values, gsm7_friendly=gsm7_friendly)


def check_segment_cap(
    body: str, longest_values: dict[str, str | None], *, gsm7_friendly: bool, max_segments: int
) -> Rendered:
    """The longest rendering this SPIP can produce must fit ``max_segments`` SMS."""
    worst = worst_rendering(body, longest_values, gsm7_friendly=gsm7_friendly)
    if worst.info.segments > max_segments:
        raise TemplateTooLong(
            f"Ce modèle peut atteindre {worst.info.segments} SMS "
            f"({ENCODING_LABELS[worst.info.encoding]}) ; "
            f"le maximum pour ce SPIP est {max_segments}.",
            field="body",
        )
    return worst
