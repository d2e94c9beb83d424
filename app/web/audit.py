"""The audit trail as agents read it: actions, kinds of record and changed fields in French,
instants in the SPIP's local time — for the page « Journal d'audit » (app.web.pages.audit) and
the « Historique » of a person's and a convocation's pages. Only the names of the fields
changed are shown, never their values (the trail holds none of a person's)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit_service
from app.auth import access
from app.auth.access import Permission
from app.core.localtime import zone
from app.models import Agent
from app.persons import export as person_export
from app.retention import service as retention
from app.web.templating import french_date, french_time

ACTIONS = {
    "create": "Création",
    "update": "Modification",
    "delete": "Suppression",
    "login": "Connexion",
    "login_failed": "Échec de connexion",
    "account_locked": "Compte verrouillé",
    "login_refused_locked": "Connexion refusée (compte verrouillé)",
    "logout": "Déconnexion",
    "activate": "Activation du compte",
    "sending_paused": "Envoi des SMS mis en pause",
    "sending_resumed": "Envoi des SMS repris",
    "sending_retried": "Échecs renvoyés",
    audit_service.ACCESS_DENIED: "Accès refusé (élément d'un autre SPIP)",
    audit_service.PERMISSION_DENIED: "Action refusée (droits du rôle)",
    # Retention (RGPD, app.retention) and the right of access (app.persons.export).
    retention.ARCHIVED_ACTION: "Archivage automatique (durée de conservation)",
    retention.DELETED_ACTION: "Suppression automatique (durée de conservation)",
    retention.AUDIT_PRUNED_ACTION: "Purge du journal (durée de conservation)",
    person_export.EXPORTED_ACTION: "Export des données (droit d'accès)",
}
ENTITIES = {
    "spip": "SPIP",
    "place": "Lieu",
    "agent": "Agent",
    "person": "Personne",
    "appointment": "Convocation",
    "reminder_policy": "Règles de rappel",
    "message_template": "Modèle de SMS",
    "permission": "Droits",
    "audit_event": "Journal d'audit",
    "national": "Service national",
}
LINKS = {
    "person": "/personnes/{}",
    "appointment": "/convocations/{}",
    "place": "/administration/lieux/{}",
    "agent": "/administration/agents/{}",
}
# The columns of the audited records as the pages name them; a field not listed keeps its
# column's name (a new column shows up rather than disappears).
FIELDS = {
    "spip_id": "SPIP",
    "name": "Nom",
    "code": "Code",
    "email": "Adresse électronique",
    "role": "Rôle",
    "active": "Actif",
    "address": "Adresse",
    "phone": "Téléphone",
    "info_url": "Informations pratiques",
    "timezone": "Fuseau horaire",
    "phone_region": "Région téléphonique",
    "sender": "Nom d'expéditeur",
    "first_name": "Prénom",
    "last_name": "Nom",
    "birth_date": "Date de naissance",
    "referent_agent_id": "Agent référent",
    "phone_status": "Statut du téléphone",
    "phone_problem": "Problème de téléphone",
    "phone_problem_at": "Date du problème de téléphone",
    "archived": "Archivage",
    "archived_at": "Date d'archivage",
    "person_id": "Personne",
    "place_id": "Lieu",
    "appointment_type_id": "Type",
    "agent_id": "Agent",
    "starts_at": "Date et heure",
    "duration_minutes": "Durée",
    "status": "Statut",
    "summons_requested": "Convocation par SMS",
    "cancelled_at": "Date d'annulation",
    "cancel_reason": "Motif d'annulation",
    "outcome_recorded_at": "Date de l'issue",
    "outcome_recorded_by_id": "Issue renseignée par",
    "rescheduled_from_id": "Convocation déplacée",
    "created_by_id": "Créée par",
}
NO_AGENT = "Système"  # an event without an agent: the worker, a command
HISTORY_SHOWN = 20


def when(event: Any, tz_name: str) -> str:
    """« lundi 29 mars 2027 à 9h00 », in the SPIP's zone."""
    local = event.occurred_at.astimezone(zone(tz_name))
    return f"{french_date(local)} à {french_time(local)}"


def changed_fields(event: Any) -> str:
    """« Nom, Téléphone »: the names of the fields a creation or a change set, in French."""
    if event.action not in ("create", "update"):
        return ""
    return ", ".join(sorted({FIELDS.get(name, name) for name in event.changes or {}}))


@dataclass(frozen=True)
class HistoryLine:
    when: str
    agent: str
    action: str
    fields: str


@dataclass(frozen=True)
class History:
    """The latest events of a record (``lines``, newest first) out of ``total``."""

    lines: list[HistoryLine]
    total: int
    journal_url: str | None = None  # every event of the record, for who reads the journal


async def history(
    session: AsyncSession, viewer: Agent, entity: str, entity_id: int, *, tz_name: str
) -> History | None:
    """The « Historique » of a record for ``viewer`` (``None`` without ``history:read``),
    through the API's service: two queries, whatever the number of events and agents."""
    if not access.can(viewer, Permission.history_read):
        return None
    entries, total = await audit_service.record_history(
        session, entity, entity_id, limit=HISTORY_SHOWN
    )
    lines = [
        HistoryLine(
            when=when(e.event, tz_name),
            agent=e.agent_name or NO_AGENT,
            action=ACTIONS.get(e.event.action, e.event.action),
            fields=changed_fields(e.event),
        )
        for e in entries
    ]
    journal = None
    if access.can(viewer, Permission.audit_read):
        journal = "/administration/journal?" + urlencode({"entite": entity, "numero": entity_id})
    return History(lines, total, journal)
