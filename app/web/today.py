"""What the home page shows: the day's convocations of an agent or of their service.

The list itself is the API's (``appointment_service.list_appointments``, scoped to the agent's
SPIP); this module only adds what the page shows beside it — names, places, the SMS status in
words — and turns instants into the place's local reading.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents import service as agent_service
from app.appointments import rules
from app.appointments import service as appointment_service
from app.appointments.errors import InvalidTransition
from app.appointments.schemas import AppointmentFilters, AppointmentView
from app.auth import access
from app.core.clock import utcnow
from app.core.localtime import zone
from app.core.pagination import PageParams
from app.models import (
    Agent,
    AppointmentStatus,
    CancelReason,
    Notification,
    NotificationKind,
    NotificationStatus,
    Person,
    Place,
    Role,
    Spip,
)
from app.spips import service as spip_service
from app.web.templating import heure_de

DAY_LIMIT = 500  # a CPIP's own day is a few dozen at most: one page
# A whole service's day (a hundred convocations and more) is paged: each row carries its
# outcome form, and a page of them stays light to load and to read.
SERVICE_PAGE_SIZE = 50

KIND_LABELS = {
    NotificationKind.summons.value: "Convocation",
    NotificationKind.reminder.value: "Rappel",
    NotificationKind.cancellation.value: "Annulation",
    NotificationKind.reschedule.value: "Changement de date",
    NotificationKind.missed.value: "Absence constatée",
}
# (label, DSFR badge modifier) of each SMS status.
SMS_STATUS = {
    NotificationStatus.planned.value: ("Planifié", "info"),
    NotificationStatus.sending.value: ("En cours d'envoi", "info"),
    NotificationStatus.sent.value: ("Envoyé", "warning"),
    NotificationStatus.delivered.value: ("Délivré", "success"),
    NotificationStatus.undelivered.value: ("Non délivré", "error"),
    NotificationStatus.failed.value: ("Échec", "error"),
    NotificationStatus.cancelled.value: ("Annulé", ""),
    NotificationStatus.skipped.value: ("Non envoyé", "warning"),
    NotificationStatus.expired.value: ("Expiré", "warning"),
}
SKIP_REASONS = {
    "no_phone": "pas de numéro",
    "refused": "refus des SMS",
    "too_late": "trop tard",
    "window_closed": "hors plage horaire",
    "type_without_sms": "type sans SMS",
    "person_archived": "dossier archivé",
}


@dataclass(frozen=True)
class SmsStatus:
    kind: str
    label: str
    badge: str
    when: datetime | None  # local time of the (planned) sending


@dataclass(frozen=True)
class Row:
    id: int
    local_start: datetime
    zone_label: str | None  # "heure de Cayenne" when it must be said
    person_id: int
    person: str
    place: str
    type_label: str
    agent: str | None
    status: str
    status_badge: str
    sms: SmsStatus | None
    actions: list[tuple[str, str]]  # outcomes one click records: (value, label)


@dataclass(frozen=True)
class Day:
    day: date
    rows: list[Row]
    total: int
    service_wide: bool  # a secretariat's or manager's view of the whole SPIP
    agents: list[Agent]
    places: list[Place]
    agent_id: int | None
    place_id: int | None
    page: int = 1
    pages: int = 1


def status_of(view: AppointmentView, now: datetime) -> tuple[str, str]:
    a = view.appointment
    if a.status == AppointmentStatus.booked.value:
        return ("À venir", "info") if a.starts_at > now else ("À renseigner", "warning")
    if a.status == AppointmentStatus.cancelled.value:
        if a.cancel_reason == CancelReason.rescheduled.value:
            return "Déplacée", ""
        return "Annulée", ""
    return {
        AppointmentStatus.honored.value: ("Honorée", "success"),
        AppointmentStatus.missed.value: ("Non honorée", "error"),
        AppointmentStatus.excused.value: ("Excusée", "info"),
    }[a.status]


# The one-click outcomes, in the agents' words; "booked" withdraws one recorded by mistake.
OUTCOME_CHOICES = (
    (AppointmentStatus.honored, "Honorée"),
    (AppointmentStatus.missed, "Non honorée"),
    (AppointmentStatus.excused, "Excusée"),
    (AppointmentStatus.booked, "Retirer l'issue"),
)


def actions_of(view: AppointmentView, now: datetime) -> list[tuple[str, str]]:
    """The outcomes the lifecycle rules allow now, once the convocation has started."""
    a = view.appointment
    if now < a.starts_at:
        return []
    current = AppointmentStatus(a.status)
    allowed = []
    for outcome, label in OUTCOME_CHOICES:
        if outcome is current:
            continue
        try:
            rules.check_can_record(current, outcome, a.starts_at, now)
        except InvalidTransition:
            continue
        allowed.append((outcome.value, label))
    return allowed


@dataclass(frozen=True)
class MessageState:
    kind: str
    status: str
    reason: str | None
    send_at: datetime
    sent_at: datetime | None


def sms_of(rows: list[MessageState], tz_name: str) -> SmsStatus | None:
    """The message that tells most about the person being warned: the last one that went out
    (or failed), else the next one planned."""
    announcing = [n for n in rows if n.kind != NotificationKind.missed.value] or rows
    if not announcing:
        return None
    done = [n for n in announcing if n.status not in ("planned", "sending")]
    pick = max(done, key=lambda n: n.send_at) if done else min(announcing, key=lambda n: n.send_at)
    label, badge = SMS_STATUS[pick.status]
    if pick.status == NotificationStatus.skipped.value and pick.reason in SKIP_REASONS:
        label = f"{label} ({SKIP_REASONS[pick.reason]})"
    when = pick.sent_at or pick.send_at
    return SmsStatus(KIND_LABELS[pick.kind], label, badge, when.astimezone(zone(tz_name)))


def zone_label(place_tz: str, spip_tz: str) -> str | None:
    """Said when the place is not on the agent's (the SPIP's) clock, or when overseas."""
    return heure_de(place_tz) if place_tz != spip_tz or spip_tz != "Europe/Paris" else None


def sees_service(agent: Agent) -> bool:
    return agent.role != Role.cpip.value


@dataclass(frozen=True)
class Scope:
    """Whose convocations a list shows: a CPIP's own, or the service's with its filters."""

    service_wide: bool
    agents: list[Agent]
    places: list[Place]
    agent_id: int | None
    place_id: int | None


async def scope_of(
    session: AsyncSession,
    *,
    agent: Agent,
    spip: Spip,
    agent_filter: int | None,
    place_filter: int | None,
) -> Scope:
    """Filters from the URL kept only when they name an agent or a place of the SPIP."""
    service_wide = sees_service(agent)
    agents = [a for a in await agent_service.list_agents(session, spip_id=spip.id) if a.active]
    places = await spip_service.list_places(session, spip_id=spip.id)
    if not service_wide:
        agent_filter = agent.id
    elif agent_filter not in {a.id for a in agents}:
        agent_filter = None
    if place_filter not in {p.id for p in places}:
        place_filter = None
    return Scope(service_wide, agents, places, agent_filter, place_filter)


async def list_rows(
    session: AsyncSession,
    *,
    agent: Agent,
    spip: Spip,
    filters: AppointmentFilters,
    page: PageParams,
    scope: Scope,
) -> tuple[list[Row], int]:
    """The API's list (scoped to the agent's SPIP), as rows."""
    views, total = await appointment_service.list_appointments(
        session, filters=filters.within_spip(access.list_scope(agent, spip.id)), page=page
    )
    return await _rows(session, views, spip, utcnow(), scope.agents, scope.places), total


async def load_day(
    session: AsyncSession,
    *,
    agent: Agent,
    spip: Spip,
    agent_filter: int | None,
    place_filter: int | None,
    page: int = 1,
) -> Day:
    today = utcnow().astimezone(zone(spip.timezone)).date()
    scope = await scope_of(
        session, agent=agent, spip=spip, agent_filter=agent_filter, place_filter=place_filter
    )
    filters = AppointmentFilters(
        agent_id=scope.agent_id, place_id=scope.place_id, starts_from=today, starts_to=today
    )
    size = SERVICE_PAGE_SIZE if scope.service_wide else DAY_LIMIT
    page = max(1, page)
    rows, total = await list_rows(
        session,
        agent=agent,
        spip=spip,
        filters=filters,
        page=PageParams(limit=size, offset=(page - 1) * size),
        scope=scope,
    )
    return Day(
        today,
        rows,
        total,
        scope.service_wide,
        scope.agents,
        scope.places,
        scope.agent_id,
        scope.place_id,
        page,
        max(1, -(-total // size)),
    )


async def load_row(session: AsyncSession, *, spip: Spip, appointment_id: int) -> Row:
    """One convocation's row, as the day's table shows it (the htmx answer to an action)."""
    view = await appointment_service.get_view(session, appointment_id)
    agents = await agent_service.list_agents(session, spip_id=spip.id)
    places = await spip_service.list_places(session, spip_id=spip.id)
    return (await _rows(session, [view], spip, utcnow(), agents, places))[0]


async def persons_and_messages(
    session: AsyncSession, views: list[AppointmentView]
) -> tuple[dict[int, Person], dict[int, list[MessageState]]]:
    """What a list shows beside its convocations: the persons (one query) and their messages'
    states (one query) — only what the SMS column tells, never the messages' texts."""
    ids = [v.appointment.id for v in views]
    persons = {
        p.id: p
        for p in await session.scalars(
            select(Person).where(Person.id.in_({v.appointment.person_id for v in views}))
        )
    }
    messages: dict[int, list[MessageState]] = defaultdict(list)
    for n in await session.execute(
        select(
            Notification.appointment_id,
            Notification.kind,
            Notification.status,
            Notification.reason,
            Notification.send_at,
            Notification.sent_at,
        ).where(Notification.appointment_id.in_(ids))
    ):
        messages[n.appointment_id].append(MessageState(*n[1:]))
    return persons, messages


async def _rows(
    session: AsyncSession,
    views: list[AppointmentView],
    spip: Spip,
    now: datetime,
    agents: list[Agent],
    places: list[Place],
) -> list[Row]:
    if not views:
        return []
    persons, messages = await persons_and_messages(session, views)
    place_names = {p.id: p.name for p in places}
    agent_names = {a.id: a.name for a in agents}
    rows = []
    for view in views:
        a = view.appointment
        person = persons[a.person_id]
        status, badge = status_of(view, now)
        rows.append(
            Row(
                id=a.id,
                local_start=a.starts_at.astimezone(zone(view.timezone)),
                zone_label=zone_label(view.timezone, spip.timezone),
                person_id=a.person_id,
                person=f"{person.last_name.upper()} {person.first_name}",
                place=place_names.get(a.place_id, ""),
                type_label=view.type_label,
                agent=agent_names.get(a.agent_id) if a.agent_id else None,
                status=status,
                status_badge=badge,
                sms=sms_of(messages[a.id], view.timezone),
                actions=actions_of(view, now),
            )
        )
    return rows
