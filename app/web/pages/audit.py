"""Journal d'audit: the SPIP's audit trail through the API's ``GET /audit`` service
(``audit_service.list_events``, scoped by ``access.list_scope``, ``audit:read``), with its
filters in the URL (ids, codes and dates only) and 50 rows a page, in the words of
``app.web.audit`` (shared with the records' « Historique »): only the names of the fields
changed, never their values (the trail holds none of a person's)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.agents import service as agent_service
from app.audit import service as audit_service
from app.audit.service import TrailFilters
from app.auth import access
from app.auth.access import Permission
from app.auth.dependencies import require
from app.core.localtime import zone
from app.db import SessionDep
from app.models import Spip
from app.web import admin as views
from app.web import audit as trail
from app.web.audit import ACTIONS, ENTITIES, LINKS
from app.web.pages.admin import spip_param
from app.web.sessions import PageAgent
from app.web.templating import render

router = APIRouter()
PAGE_SIZE = 50
LABELS = {
    "du": "Du",
    "au": "Au",
    "agent_id": "Agent",
    "action": "Action",
    "entite": "Type d'élément",
    "numero": "Numéro de l'élément",
}
_FRENCH_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


@dataclass
class TrailForm:
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    alert: str | None = None

    def get(self, name: str) -> str:
        return self.values.get(name, "")


def _day(form: TrailForm, name: str) -> date | None:
    text = form.get(name).strip()
    if not text:
        return None
    match = _FRENCH_DATE.fullmatch(text)
    try:
        if match:
            return date(int(match[3]), int(match[2]), int(match[1]))
        return date.fromisoformat(text)
    except ValueError:
        form.errors[name] = "Date invalide : écrivez-la 29/03/2027 ou 2027-03-29."
        return None


def _midnight(day: date, tz_name: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone(tz_name)).astimezone(UTC)


def read_filters(
    form: TrailForm, *, spip_id: int | None, tz_name: str, agent_ids: set[int]
) -> TrailFilters | None:
    """The API's filters from the form (the SPIP's local days, ``au`` included), or ``None``
    with the form's errors."""
    since, until = _day(form, "du"), _day(form, "au")
    if since and until and until < since:
        form.errors["au"] = "La date de fin précède la date de début."
    agent_id = None
    if form.get("agent_id"):
        if form.get("agent_id").isdigit() and int(form.get("agent_id")) in agent_ids:
            agent_id = int(form.get("agent_id"))
        else:
            form.errors["agent_id"] = "Choisissez un agent dans la liste."
    for name, known in (("action", ACTIONS), ("entite", ENTITIES)):
        if form.get(name) and form.get(name) not in known:
            form.errors[name] = "Choisissez une valeur dans la liste."
    entity_id = _record_number(form)
    if form.errors:
        return None
    return TrailFilters(
        spip_id=spip_id,
        entity=form.get("entite") or None,
        entity_id=entity_id,
        agent_id=agent_id,
        action=form.get("action") or None,
        since=_midnight(since, tz_name) if since else None,
        until=_midnight(until + timedelta(days=1), tz_name) if until else None,
    )


def _record_number(form: TrailForm) -> int | None:
    """One record's events (a person's, a convocation's…): a number, with its type."""
    text = form.get("numero").strip()
    if not text:
        return None
    if not (text.isdigit() and len(text) < 10):
        form.errors["numero"] = "Écrivez un numéro (des chiffres seulement)."
        return None
    if not form.get("entite"):
        form.errors["numero"] = "Choisissez aussi le type d'élément de ce numéro."
        return None
    return int(text)


@router.get("/administration/journal", response_class=HTMLResponse)
async def journal(
    request: Request,
    session: SessionDep,
    agent: PageAgent,
    spip: str | None = None,
    du: str = "",
    au: str = "",
    agent_id: str = "",
    action: str = "",
    entite: str = "",
    numero: str = "",
    page: str = "1",
) -> HTMLResponse:
    require(request, agent, Permission.audit_read)
    chosen = spip_param(spip)
    target: Spip | None = None
    if not (access.is_national(agent) and chosen is None):
        target = await views.target_spip(request, session, agent, chosen)
    tz_name = target.timezone if target else "Europe/Paris"
    people = await agent_service.list_agents(session, spip_id=target.id if target else None)
    names = {a.id: a.name for a in people}
    values = {
        "du": du, "au": au, "agent_id": agent_id, "action": action, "entite": entite,
        "numero": numero,
    }  # fmt: skip
    form = TrailForm({k: v[:40] for k, v in values.items()})
    filters = read_filters(
        form, spip_id=target.id if target else None, tz_name=tz_name, agent_ids=set(names)
    )
    number = int(page) if page.isdigit() and 0 < len(page) < 6 and int(page) > 0 else 1
    rows: list[dict[str, Any]] = []
    total = 0
    if filters is not None:
        events, total = await audit_service.list_events(
            session, filters, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
        )
        rows = [_row(e, names, tz_name) for e in events]
    query = {"spip": str(target.id)} if target and access.is_national(agent) else {}
    page_url = "/administration/journal?" + urlencode(
        query | {k: v for k, v in values.items() if v}
    )
    context = {
        "nav": "administration",
        "spip": target,
        "q": views.spip_query(agent, target) if target else "",
        "form": form,
        "labels": LABELS,
        "agents": sorted(names.items(), key=lambda item: item[1]),
        "actions": ACTIONS,
        "entities": ENTITIES,
        "rows": rows,
        "total": total,
        "current": number,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "page_url": page_url + "&page=",
        "hidden_spip": query.get("spip"),
    }
    status = 422 if form.errors else 200
    return render(request, "pages/audit.html", context, status_code=status)


def _row(event: Any, names: dict[int, str], tz_name: str) -> dict[str, Any]:
    link = LINKS.get(event.entity)
    return {
        "when": trail.when(event, tz_name),
        "agent": names.get(event.agent_id or 0, "—" if event.agent_id is None else "Autre agent"),
        "action": ACTIONS.get(event.action, event.action),
        "entity": ENTITIES.get(event.entity, event.entity),
        "entity_id": event.entity_id,
        "link": link.format(event.entity_id) if link and event.entity_id else None,
        "fields": trail.changed_fields(event),
    }
