"""Administration du SPIP: the forms of the places, agents, sender and SPIPs read into the API's
bodies (``PlaceCreate``, ``AgentCreate``, ``SpipCreate``…), their refusals as French field
messages (``app.core.validation``, the API's own words), and the SPIP a page administers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import access
from app.auth.access import Permission
from app.auth.dependencies import ensure_scope, require
from app.core.errors import AppError
from app.core.holidays import HOLIDAY_TERRITORIES, METROPOLE, holiday_territory
from app.core.localtime import FRENCH_ZONE_KEYS, FRENCH_ZONES, french_zone
from app.core.validation import field_errors
from app.models import Agent, Role, Spip
from app.spips import service as spip_service
from app.spips.errors import SpipNotFound

ROLE_LABELS = {
    Role.cpip.value: "CPIP",
    Role.secretariat.value: "Secrétariat",
    Role.manager.value: "Direction (DPIP)",
    Role.local_admin.value: "Administration locale",
    Role.admin.value: "Administration nationale",
    Role.court_clerk.value: "Greffe du tribunal (sortie d'audience)",
}
LOCAL_ROLES = (Role.cpip, Role.secretariat, Role.manager, Role.local_admin)
ZONE_CHOICES = [(z.key, z.label) for z in FRENCH_ZONES]
REGION_CHOICES = list(dict.fromkeys((z.region, z.territory) for z in FRENCH_ZONES))
NOT_IN_LIST = "Choisissez un fuseau dans la liste des territoires français."
# « Jours fériés »: the territories of app.core.holidays, after the empty choice (the SPIP's
# metropolitan holidays, or for a place its SPIP's own).
HOLIDAY_CHOICES = [(t.code, t.label) for t in HOLIDAY_TERRITORIES]
SPIP_HOLIDAY_CHOICES = [("", METROPOLE.label), *HOLIDAY_CHOICES]


def place_holiday_choices(spip: Spip) -> list[tuple[str, str]]:
    """« Ceux du SPIP (Guyane) » first: what the place follows when nothing else is chosen."""
    inherited = holiday_territory(spip.holiday_territory).label
    return [("", f"Ceux du SPIP ({inherited})"), *HOLIDAY_CHOICES]


PLACE_LABELS = {
    "nom": "Nom",
    "adresse": "Adresse",
    "infos": "Lien vers les informations pratiques",
    "telephone": "Téléphone",
    "fuseau": "Fuseau horaire",
    "feries": "Jours fériés",
    "actif": "Lieu actif",
}
AGENT_LABELS = {
    "nom": "Nom",
    "email": "Adresse électronique",
    "role": "Rôle",
    "tribunal": "Tribunal",
}
SPIP_LABELS = {
    "code": "Code",
    "nom": "Nom",
    "fuseau": "Fuseau horaire",
    "region": "Région téléphonique",
    "feries": "Jours fériés",
    "adresse": "Adresse",
    "telephone": "Téléphone",
}
SENDER_LABELS = {"expediteur": "Nom d'expéditeur"}
# Which field of a form a field of the API's body is.
_FIELDS = {
    "name": "nom",
    "address": "adresse",
    "info_url": "infos",
    "phone": "telephone",
    "timezone": "fuseau",
    "active": "actif",
    "email": "email",
    "role": "role",
    "code": "code",
    "phone_region": "region",
    "spip_id": "role",
    "sender": "expediteur",
    "holiday_territory": "feries",
    "court_id": "tribunal",
}


@dataclass
class Form:
    """A form's fields as typed (a failed form comes back filled), its errors by field."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    alert: str | None = None

    def get(self, name: str) -> str:
        return self.values.get(name, "")


M = TypeVar("M", bound=BaseModel)


def validated(form: Form, model: type[M], values: dict[str, Any]) -> M | None:
    """The API's body, or ``None`` with the form's errors in the API's French words."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        for error in field_errors(exc.errors()):
            name = _FIELDS.get(error["field"].split(".")[0])
            if name:
                form.errors.setdefault(name, error["message"])
            else:
                form.alert = "Vérifiez les champs du formulaire."
        return None


def explain(form: Form, exc: AppError) -> None:
    """A domain refusal, on the field it concerns, or as the form's alert."""
    fields = exc.extra.get("fields") or []
    named = fields[0]["field"] if fields else exc.extra.get("field")  # a Conflict names one
    name = _FIELDS.get(str(named).split(".")[-1]) if named else None
    if name:
        form.errors[name] = exc.detail
    else:
        form.alert = exc.detail


def optional(value: str) -> str | None:
    return value.strip() or None


def check_zone(form: Form) -> str | None:
    """The zone chosen in the list; another value (posted by hand) is refused in words."""
    key = form.get("fuseau")
    if key not in FRENCH_ZONE_KEYS:
        form.errors["fuseau"] = NOT_IN_LIST
        return None
    return key


def place_values(form: Form) -> dict[str, Any]:
    return {
        "name": form.get("nom").strip(),
        "address": optional(form.get("adresse")),
        "info_url": optional(form.get("infos")),
        "phone": optional(form.get("telephone")),
        "timezone": check_zone(form),
        "holiday_territory": optional(form.get("feries")),
    }


def zone_label(key: str) -> str:
    known = french_zone(key)
    return known.label if known else key


def administers(agent: Agent) -> bool:
    """Who sees « Administration »: local and national administrators."""
    return access.can(agent, Permission.agent_write)


async def target_spip(
    request: Request, session: AsyncSession, agent: Agent, spip_id: int | None
) -> Spip:
    """The SPIP a page administers: a local administrator's own; for a national administrator,
    the one named by ``?spip=`` (without it: « introuvable »). Another SPIP's id answers 404,
    as the API's ``ScopedSpip`` does."""
    if spip_id is None:
        spip_id = agent.spip_id
    if spip_id is None:
        raise SpipNotFound()
    spip = await spip_service.get_spip(session, spip_id)
    ensure_scope(request, agent, spip.id, SpipNotFound, entity="spip", entity_id=spip.id)
    return spip


def spip_query(agent: Agent, spip: Spip) -> str:
    """``?spip=ID`` for a national administrator's links (a local one has only their SPIP)."""
    return f"?spip={spip.id}" if access.is_national(agent) else ""


def allowed(request: Request, agent: Agent, permission: Permission) -> None:
    require(request, agent, permission)
