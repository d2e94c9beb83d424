"""Personnes: the forms' fields read into the API's ``PersonCreate`` / ``PersonUpdate``, the
domain's refusals as French field messages, and what the pages show beside the API's person
(the number in national form, its status in words, the convocations in the place's time)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypeVar

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat
from pydantic import ValidationError

from app.appointments.schemas import AppointmentView
from app.core.errors import AppError
from app.core.localtime import zone
from app.models import Agent, Person, PhoneStatus, RefusalChannel, Role
from app.persons.schemas import PersonCreate, PersonUpdate
from app.web.templating import french_date
from app.web.today import status_of, zone_label

PAGE_SIZE = 20
LABELS = {
    "q": "Rechercher",
    "prenom": "Prénom",
    "nom": "Nom",
    "naissance": "Date de naissance",
    "telephone": "Téléphone mobile",
    "referent": "Agent référent",
}
ROLES = {
    Role.cpip.value: "CPIP",
    Role.secretariat.value: "secrétariat",
    Role.manager.value: "direction",
    Role.local_admin.value: "administration locale",
    Role.admin.value: "administration nationale",
    Role.court_clerk.value: "greffe du tribunal",
}
# Which field of the form a field of the API's body is.
FIELDS = {
    "first_name": "prenom",
    "last_name": "nom",
    "birth_date": "naissance",
    "phone": "telephone",
    "phone_status": "telephone",
    "referent_agent_id": "referent",
}
_FRENCH_DATE = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")
NOTICES = {
    "creee": "La personne est enregistrée.",
    "modifiee": "Les informations de la personne sont enregistrées.",
    "refus": "Le refus des SMS est enregistré : aucun SMS ne lui sera plus envoyé.",
    "accord": "Le refus des SMS est levé : les prochains SMS lui seront envoyés.",
    "referent": "L'agent référent est enregistré.",
    "archivee": "Le dossier est archivé.",
    "desarchivee": "Le dossier n'est plus archivé.",
    "lue": "La réponse est marquée comme lue.",
}
# The list of persons, where a deletion lands (a code in the URL, never a name).
LIST_NOTICES = {"supprimee": "La personne est supprimée."}


@dataclass
class SearchForm:
    """The search box and its filters, kept as typed."""

    q: str = ""
    mine: bool = False
    archived: bool = False
    page: int = 1
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class PersonForm:
    """Identity and phone, kept as typed (a failed form comes back filled)."""

    prenom: str = ""
    nom: str = ""
    naissance: str = ""
    telephone: str = ""
    refus: bool = False
    referent: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    alert: str | None = None


@dataclass(frozen=True)
class PhoneView:
    number: str | None  # national form
    label: str
    badge: str
    explanation: str | None


@dataclass(frozen=True)
class AppointmentLine:
    id: int
    when: str
    zone: str | None
    type_label: str
    status: str
    badge: str


def national(e164: str | None) -> str | None:
    """« 0694 12 34 56 »: the number as it is said on its territory."""
    if not e164:
        return None
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return e164
    return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)


REFUSAL_ORIGINS = {
    RefusalChannel.link.value: ", elle-même, depuis le lien de sa convocation",
    RefusalChannel.sms.value: ", elle-même, en répondant STOP par SMS",
}


def refusal_origin(person: Person) -> str:
    """« le 4 décembre 2026, elle-même, depuis le lien de sa convocation »: when, and how."""
    when = f" le {french_date(person.sms_refused_at)}" if person.sms_refused_at else ""
    return when + REFUSAL_ORIGINS.get(person.sms_refused_via or "", "")


def phone_view(person: Person) -> PhoneView:
    """The number and what the agent must know of it: refused SMS, a provider's refusal."""
    number = national(person.phone)
    if person.phone_status == PhoneStatus.refused.value:
        why = f"La personne a refusé les SMS{refusal_origin(person)} : aucun SMS ne lui est envoyé."
        return PhoneView(number, "Refus des SMS", "warning", why)
    if person.phone_problem:
        since = f" le {french_date(person.phone_problem_at)}" if person.phone_problem_at else ""
        why = (
            f"Le dernier SMS n'a pas été délivré{since} : l'opérateur a refusé ce numéro. "
            "Vérifiez le numéro avec la personne."
        )
        return PhoneView(number, "Numéro à vérifier", "error", why)
    if person.phone_status == PhoneStatus.valid.value and number:
        return PhoneView(number, "Valide", "success", None)
    why = "Aucun SMS ne peut lui être envoyé : appelez-la ou remettez-lui une convocation papier."
    return PhoneView(None, "Pas de numéro", "info", why)


def agent_label(agent: Agent) -> str:
    return f"{agent.name} ({ROLES.get(agent.role, agent.role)})"


def form_of(person: Person) -> PersonForm:
    return PersonForm(
        prenom=person.first_name,
        nom=person.last_name,
        naissance=person.birth_date.strftime("%d/%m/%Y") if person.birth_date else "",
        telephone=national(person.phone) or "",
        refus=person.phone_status == PhoneStatus.refused.value,
        referent=str(person.referent_agent_id or ""),
    )


def _birth_date(form: PersonForm) -> date | bool | None:
    """The typed birth date; ``False`` when it cannot be read (the form's error is set)."""
    text = form.naissance.strip()
    if not text:
        return None
    try:
        if match := _FRENCH_DATE.fullmatch(text):
            day, month, year = (int(g) for g in match.groups())
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        form.errors["naissance"] = "Saisissez une date qui existe, au format jj/mm/aaaa."
        return False


def _required(form: PersonForm) -> None:
    if not form.prenom.strip():
        form.errors["prenom"] = "Saisissez le prénom."
    if not form.nom.strip():
        form.errors["nom"] = "Saisissez le nom."


def _referent(form: PersonForm) -> int | None:
    return int(form.referent) if form.referent.isdigit() and len(form.referent) < 10 else None


def to_create(form: PersonForm, spip_id: int, *, allow_duplicate: bool) -> PersonCreate | None:
    """The API's body, or ``None`` with the form's errors filled."""
    _required(form)
    birth = _birth_date(form)
    if form.errors or birth is False:
        return None
    values: dict[str, object] = {
        "spip_id": spip_id,
        "first_name": form.prenom,
        "last_name": form.nom,
        "birth_date": birth,
        "phone": form.telephone.strip() or None,
        "referent_agent_id": _referent(form),
        "allow_duplicate": allow_duplicate,
    }
    if form.refus:
        values["phone_status"] = PhoneStatus.refused
    return _validated(form, PersonCreate, values)


def to_update(form: PersonForm) -> PersonUpdate | None:
    """The API's PATCH body of the identity form: names, birth date, phone."""
    _required(form)
    birth = _birth_date(form)
    if form.errors or birth is False:
        return None
    values: dict[str, object] = {
        "first_name": form.prenom,
        "last_name": form.nom,
        "birth_date": birth,
        "phone": form.telephone.strip() or None,
    }
    return _validated(form, PersonUpdate, values)


M = TypeVar("M", PersonCreate, PersonUpdate)


def _validated(form: PersonForm, model: type[M], values: dict[str, object]) -> M | None:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors():
            name = FIELDS.get(str(error["loc"][0])) if error["loc"] else None
            message = _french(error["type"], error["msg"])
            if name:
                form.errors.setdefault(name, message)
            else:
                form.alert = "Vérifiez les champs du formulaire."
        return None


def _french(kind: str, message: str) -> str:
    if kind == "string_too_long":
        return "100 caractères au plus."
    if kind == "invalid_birth_date":
        return message
    return "Valeur invalide."


def explain_error(form: PersonForm, exc: AppError) -> None:
    """The domain's refusal, on the field it concerns, in words."""
    fields = exc.extra.get("fields") or []
    name = FIELDS.get(fields[0]["field"]) if fields else None
    if name:
        form.errors[name] = exc.detail
    else:
        form.alert = exc.detail


def appointment_lines(
    views: list[AppointmentView], *, spip_tz: str, now: datetime
) -> list[AppointmentLine]:
    lines = []
    for view in views:
        local = view.appointment.starts_at.astimezone(zone(view.timezone))
        status, badge = status_of(view, now)
        lines.append(
            AppointmentLine(
                id=view.appointment.id,
                when=f"{french_date(local)} à {local.hour}h{local.minute:02d}",
                zone=zone_label(view.timezone, spip_tz),
                type_label=view.type_label,
                status=status,
                badge=badge,
            )
        )
    return lines


def pages(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))
