"""Modèles de SMS: the words of the template editor (kinds, sources, placeholders), the
characters of a draft that force UCS-2 with their GSM-7 replacement, and the preview of a
national wording (the renderer, with a sample place and the default policy)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace

from app.core.errors import AppError
from app.reminders import templates
from app.reminders.schemas import PreviewRead, ReminderPolicyBody
from app.sms.encoding import ucs2_characters

KINDS = {
    "summons": "Convocation",
    "reminder": "Rappel",
    "cancellation": "Annulation",
    "reschedule": "Changement de date",
    "missed": "Absence constatée",
}
SOURCES = {
    "default": "modèle par défaut de Convoc",
    "national": "modèle national",
    "spip": "modèle du SPIP",
    "appointment_type": "modèle du SPIP pour ce type de convocation",
}
PLACEHOLDERS = {
    "rdv.date": "date de la convocation, « lundi 29 mars 2027 »",
    "rdv.heure": "heure de la convocation (heure du lieu), « 9h00 »",
    "rdv.lien": (
        "lien court vers la page de la convocation (date, lieu, ajout à l'agenda, arrêt des "
        "SMS) ; à placer entre crochets : absent pour une convocation sans lien"
    ),
    "lieu.nom": "nom du lieu",
    "lieu.adresse": "adresse du lieu",
    "lieu.telephone": "téléphone du lieu",
    "lieu.lien_info": "lien vers les informations pratiques du lieu",
    "spip.nom": "nom du SPIP",
}
_NAMED = {
    "\u00a0": "espace insécable",
    "\u202f": "espace fine insécable",
    "\t": "tabulation",
    "\u00ad": "trait d'union conditionnel",
    "\u200b": "espace de largeur nulle",
}
# The previews' convocation: the API's sample Monday, at 9:00 in the place's zone (a wall time).
PREVIEW_LOCAL_START = datetime(2027, 3, 29, 9, 0)  # noqa: DTZ001

# --- drafts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    char: str
    label: str
    replacement: str | None


@dataclass(frozen=True)
class Piece:
    """A run of the draft: plain text, or one character that forces UCS-2 (shown in <mark>)."""

    text: str
    marked: bool = False


def suggestions(text: str) -> list[Suggestion]:
    """The characters of ``text`` that force UCS-2, each with its GSM-7 replacement."""
    return [
        Suggestion(c.char, _NAMED.get(c.char, f"« {c.char} »"), c.replacement)
        for c in ucs2_characters(text)
    ]


def pieces(text: str) -> list[Piece]:
    """The draft cut so that each character forcing UCS-2 stands alone, to be highlighted."""
    bad = {s.char for s in suggestions(text)}
    result: list[Piece] = []
    run = ""
    for char in text:
        if char in bad:
            if run:
                result.append(Piece(run))
                run = ""
            result.append(Piece(_NAMED.get(char, char), marked=True))
        else:
            run += char
    if run:
        result.append(Piece(run))
    return result


def encoding_label(value: str) -> str:
    return {"gsm7": "GSM-7", "ucs2": "UCS-2"}.get(value, value)


# --- the template editor ---------------------------------------------------------------------


@dataclass
class Editor:
    """The wording as typed, its preview (the API's ``PreviewRead``) and its errors."""

    text: str
    preview: PreviewRead | None = None
    errors: dict[str, str] = field(default_factory=dict)
    confirm_revert: bool = False  # « Revenir au modèle hérité » asked: confirm it

    @property
    def suggestions(self) -> list[Suggestion]:
        return suggestions(self.text)

    @property
    def pieces(self) -> list[Piece]:
        return pieces(self.text)

    @property
    def encoding(self) -> str:
        return encoding_label(self.preview.encoding) if self.preview else ""


# A place for national previews: no SPIP's place, the sample a SPIP without places gets.
SAMPLE_PLACE = SimpleNamespace(
    name="Antenne du SPIP",
    address="1 rue de la République",
    phone="01 23 45 67 89",
    info_url=None,
    timezone="Europe/Paris",
)


def national_preview(editor: Editor) -> None:
    """A national wording rendered by the renderer with a sample place and the default policy
    (what a SPIP without a policy of its own sends)."""
    try:
        templates.validate(editor.text)
    except AppError as exc:
        editor.errors["texte"] = exc.detail
        return
    defaults = ReminderPolicyBody()
    values = templates.placeholder_values(
        spip_name="SPIP des Hauts-de-Seine",
        place=SAMPLE_PLACE,
        starts_at=templates.SAMPLE_START,
        link=templates.longest_link(),
    )
    rendered = templates.render_info(editor.text, values, gsm7_friendly=defaults.gsm7_friendly)
    editor.preview = PreviewRead(
        text=rendered.text,
        encoding=rendered.info.encoding,
        segments=rendered.info.segments,
        characters=len(rendered.text),
        max_segments=defaults.max_segments,
    )
