"""« Convocations »: the list's filter form read into the API's ``AppointmentFilters`` (and its
order), its rows, its paging links, and the day's print view grouped per place or per agent.

The list is the API's (``appointment_service.list_appointments``, scoped to the agent's SPIP
by ``access.list_scope``); this module only reads the form, names what the page shows beside
it (persons, places, agents, the SMS status from the messages' states) and groups a day.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from app.agents import service as agent_service
from app.appointments import service as appointment_service
from app.appointments.schemas import AppointmentFilters, AppointmentSort, AppointmentView
from app.auth import access
from app.core.clock import utcnow
from app.core.localtime import zone
from app.core.pagination import PageParams
from app.models import (
    Agent,
    AppointmentStatus,
    AppointmentType,
    Place,
    Role,
    Spip,
)
from app.spips import service as spip_service
from app.web import today
from app.web.today import SmsStatus

PAGE_SIZES = (10, 20, 50, 100)
DEFAULT_PAGE_SIZE = 50
# A day's paper list: far more than a SPIP's busiest day; beyond it the page says so.
PRINT_LIMIT = 1000

# The status filter, in the agents' words: (label, stored status, started?).
STATUSES: dict[str, tuple[str, AppointmentStatus, bool | None]] = {
    "a-venir": ("À venir", AppointmentStatus.booked, False),
    "a-renseigner": ("Passée sans issue (à renseigner)", AppointmentStatus.booked, True),
    "honoree": ("Honorée", AppointmentStatus.honored, None),
    "non-honoree": ("Non honorée", AppointmentStatus.missed, None),
    "excusee": ("Excusée", AppointmentStatus.excused, None),
    "annulee": ("Annulée ou déplacée", AppointmentStatus.cancelled, None),
}
SORTS: dict[str, tuple[str, AppointmentSort]] = {
    "date": ("Date croissante", AppointmentSort.date),
    "-date": ("Date décroissante", AppointmentSort.date_desc),
    "personne": ("Personne (nom)", AppointmentSort.person),
    "lieu": ("Lieu", AppointmentSort.place),
}
LABELS = {
    "du": "Du",
    "au": "Au",
    "lieu": "Lieu",
    "type": "Type de convocation",
    "agent": "Agent",
    "statut": "Statut",
    "tri": "Trier par",
    "par_page": "Convocations par page",
}
PRINT_LABELS = {"jour": "Jour", "par": "Regrouper par", "lieu": "Lieu", "agent": "Agent"}
GROUPINGS = {"lieu": "Lieu", "agent": "Agent"}
DATE_MESSAGE = "Saisissez une date au format jj/mm/aaaa."


@dataclass
class Form:
    """The filters as the URL gave them (a failed form comes back as typed)."""

    du: str = ""
    au: str = ""
    lieu: str = ""
    type: str = ""
    agent: str = ""
    statut: str = ""
    tri: str = "date"
    par_page: str = str(DEFAULT_PAGE_SIZE)
    errors: dict[str, str] = field(default_factory=dict)

    def query(self) -> dict[str, str]:
        """Every field, empty ones too: an emptied « Du » must stay empty on the next page."""
        return {name: getattr(self, name) for name in LABELS}


def read_form(params: Mapping[str, str], *, viewer: Agent, spip_today: date) -> Form:
    """A field absent from the URL takes its default (from today; a CPIP's own convocations);
    a field sent empty means « all »."""
    defaults = {
        "du": spip_today.isoformat(),
        "agent": str(viewer.id) if viewer.role == Role.cpip.value else "",
        "tri": "date",
        "par_page": str(DEFAULT_PAGE_SIZE),
    }
    form = Form()
    for name in LABELS:
        setattr(form, name, params.get(name, defaults.get(name, "")).strip()[:100])
    return form


@dataclass(frozen=True)
class Choices:
    """What the SPIP's selects offer."""

    places: list[Place]
    agents: list[Agent]
    types: list[AppointmentType]


async def choices(session: AsyncSession, spip: Spip) -> Choices:
    return Choices(
        await spip_service.list_places(session, spip_id=spip.id),
        await agent_service.list_agents(session, spip_id=spip.id),
        await appointment_service.list_types(session),
    )


Options = list[tuple[str, str]]


def options(found: Choices, viewer: Agent) -> dict[str, Options]:
    """Each select's (value, label) pairs."""

    def agent_label(a: Agent) -> str:
        return (
            a.name
            + (" (vous)" if a.id == viewer.id else "")
            + ("" if a.active else " (compte désactivé)")
        )

    return {
        "lieu": [(str(p.id), p.name) for p in found.places],
        "type": [(t.code, t.label) for t in found.types],
        "agent": [(str(a.id), agent_label(a)) for a in found.agents],
        "statut": [(key, label) for key, (label, _, _) in STATUSES.items()],
        "tri": [(key, label) for key, (label, _) in SORTS.items()],
        "par_page": [(str(n), str(n)) for n in PAGE_SIZES],
        "par": list(GROUPINGS.items()),
    }


def _day(value: str) -> date | None:
    """ISO (what a date field sends) or « 29/03/2027 » (typed where a browser has no date
    field)."""
    try:
        if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", value):
            day, month, year = (int(part) for part in value.split("/"))
            return date(year, month, day)
        return date.fromisoformat(value)
    except ValueError:
        return None


def _id_in(value: str, ids: set[int]) -> int | None:
    return int(value) if value.isdigit() and len(value) < 10 and int(value) in ids else None


def to_filters(
    form: Form, found: Choices
) -> tuple[AppointmentFilters, AppointmentSort, int] | None:
    """The API's filters, order and page size; ``None`` with the form's errors filled. An id
    that is not the SPIP's (another SPIP's place or agent) is an error: nothing is listed."""
    start = _day(form.du) if form.du else None
    end = _day(form.au) if form.au else None
    if form.du and start is None:
        form.errors["du"] = DATE_MESSAGE
    if form.au and end is None:
        form.errors["au"] = DATE_MESSAGE
    # A typed « 29/03/2027 » comes back as the date field's value.
    form.du = start.isoformat() if start else form.du
    form.au = end.isoformat() if end else form.au
    if start and end and end < start:
        form.errors["au"] = "La date de fin doit être le jour de début ou après."
    place_id = _id_in(form.lieu, {p.id for p in found.places})
    if form.lieu and place_id is None:
        form.errors["lieu"] = "Ce lieu n'existe pas dans votre service."
    if form.type and form.type not in {t.code for t in found.types}:
        form.errors["type"] = "Ce type de convocation n'existe pas."
    agent_id = _id_in(form.agent, {a.id for a in found.agents})
    if form.agent and agent_id is None:
        form.errors["agent"] = "Cet agent n'existe pas dans votre service."
    if form.statut and form.statut not in STATUSES:
        form.errors["statut"] = "Choisissez un statut de la liste."
    if form.tri not in SORTS:
        form.errors["tri"] = "Choisissez un ordre de la liste."
    if form.par_page not in {str(n) for n in PAGE_SIZES}:
        form.errors["par_page"] = "Choisissez un nombre de la liste."
    if form.errors:
        return None
    _, status, started = STATUSES.get(form.statut, ("", None, None))
    filters = AppointmentFilters(
        agent_id=agent_id,
        place_id=place_id,
        status=status,
        started=started,
        appointment_type=form.type or None,
        starts_from=start,
        starts_to=end,
    )
    return filters, SORTS[form.tri][1], int(form.par_page)


def page_url(form: Form) -> str:
    """The list's address with its filters, ending in ``page=`` for the pagination's links."""
    return "/convocations?" + urlencode(form.query()) + "&page="


def print_url(form: Form, spip_today: date) -> str:
    """« Version imprimable du jour »: the day the list shows when it shows one day, else
    today; grouped per agent when the list is one agent's, else per place."""
    day = form.du if form.du and form.du == form.au and _day(form.du) else spip_today.isoformat()
    params = {"jour": day, "par": "agent" if form.agent.isdigit() else "lieu"}
    if form.lieu.isdigit():
        params["lieu"] = form.lieu
    if form.agent.isdigit():
        params["agent"] = form.agent
    return "/convocations/impression?" + urlencode(params)


@dataclass(frozen=True)
class Row:
    id: int
    local_start: datetime
    zone_label: str | None  # "heure de Cayenne" when it must be said
    person_id: int
    person: str
    birth_date: date | None
    type_label: str
    place_id: int
    place: str
    agent_id: int | None
    agent: str | None
    status: str
    status_badge: str
    cancelled: bool  # cancelled or moved: nobody is expected
    sms: SmsStatus | None


async def list_page(
    session: AsyncSession,
    *,
    agent: Agent,
    spip: Spip,
    found: Choices,
    filters: AppointmentFilters,
    sort: AppointmentSort,
    page: PageParams,
) -> tuple[list[Row], int]:
    """One page of the API's list, scoped to the agent's SPIP, as rows."""
    views, total = await appointment_service.list_appointments(
        session,
        filters=filters.within_spip(access.list_scope(agent, spip.id)),
        page=page,
        sort=sort,
    )
    return await rows_of(session, views, spip, found), total


async def rows_of(
    session: AsyncSession, views: list[AppointmentView], spip: Spip, found: Choices
) -> list[Row]:
    """Names beside the convocations: one query for the persons, one for the messages'
    states (never their texts)."""
    if not views:
        return []
    persons, messages = await today.persons_and_messages(session, views)
    places = {p.id: p.name for p in found.places}
    agents = {a.id: a.name for a in found.agents}
    now = utcnow()
    rows = []
    for view in views:
        a = view.appointment
        person = persons[a.person_id]
        status, badge = today.status_of(view, now)
        rows.append(
            Row(
                id=a.id,
                local_start=a.starts_at.astimezone(zone(view.timezone)),
                zone_label=today.zone_label(view.timezone, spip.timezone),
                person_id=person.id,
                person=f"{person.last_name.upper()} {person.first_name}",
                birth_date=person.birth_date,
                type_label=view.type_label,
                place_id=a.place_id,
                place=places.get(a.place_id, ""),
                agent_id=a.agent_id,
                agent=agents.get(a.agent_id) if a.agent_id else None,
                status=status,
                status_badge=badge,
                cancelled=a.status == AppointmentStatus.cancelled.value,
                # The home page's rule: the message that tells most about the person warned.
                sms=today.sms_of(messages[a.id], view.timezone),
            )
        )
    return rows


@dataclass
class PrintForm:
    jour: str = ""
    par: str = "lieu"
    lieu: str = ""
    agent: str = ""
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Group:
    title: str
    rows: list[Row]


@dataclass(frozen=True)
class PrintDay:
    day: date
    by: str  # "lieu" or "agent"
    groups: list[Group]
    total: int
    truncated: bool


def read_print_form(params: Mapping[str, str], spip_today: date) -> PrintForm:
    values = {name: params.get(name, "").strip()[:100] for name in PRINT_LABELS}
    return PrintForm(
        jour=values["jour"] or spip_today.isoformat(),
        par=values["par"] or "lieu",
        lieu=values["lieu"],
        agent=values["agent"],
    )


async def print_day(
    session: AsyncSession, *, agent: Agent, spip: Spip, found: Choices, form: PrintForm
) -> PrintDay | None:
    """The day's convocations (cancelled and moved ones aside: nobody is expected), grouped;
    ``None`` with the form's errors filled."""
    day = _day(form.jour)
    if day is None:
        form.errors["jour"] = DATE_MESSAGE
    else:
        form.jour = day.isoformat()
    if form.par not in GROUPINGS:
        form.errors["par"] = "Choisissez de regrouper par lieu ou par agent."
    place_id = _id_in(form.lieu, {p.id for p in found.places})
    if form.lieu and place_id is None:
        form.errors["lieu"] = "Ce lieu n'existe pas dans votre service."
    agent_id = _id_in(form.agent, {a.id for a in found.agents})
    if form.agent and agent_id is None:
        form.errors["agent"] = "Cet agent n'existe pas dans votre service."
    if form.errors or day is None:
        return None
    filters = AppointmentFilters(
        agent_id=agent_id, place_id=place_id, starts_from=day, starts_to=day
    )
    rows, total = await list_page(
        session,
        agent=agent,
        spip=spip,
        found=found,
        filters=filters,
        sort=AppointmentSort.date,
        page=PageParams(limit=PRINT_LIMIT, offset=0),
    )
    expected = [r for r in rows if not r.cancelled]
    return PrintDay(day, form.par, _groups(expected, form.par), len(expected), total > len(rows))


def _groups(rows: list[Row], by: str) -> list[Group]:
    grouped: dict[str, list[Row]] = defaultdict(list)
    for row in rows:  # in time order: each group keeps it
        key = row.place if by == "lieu" else (row.agent or "Sans agent désigné")
        grouped[key].append(row)
    return [Group(title, grouped[title]) for title in sorted(grouped, key=str.casefold)]
