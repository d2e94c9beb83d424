"""Recording the audit trail.

Changes to audited models are captured automatically at flush time, for the agent acting in the
session (``session.info["actor"]``, set by the authentication dependency). Background jobs have no
actor: what the dispatcher does is recorded in the notification rows themselves. For personal
data only the fact of a change is kept, never the values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import Select, case, event, func, insert, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

from app.core.clock import utcnow
from app.core.repository import paginate
from app.models import (
    Agenda,
    Agent,
    Appointment,
    AuditEvent,
    MessageTemplate,
    Person,
    Place,
    ReminderPolicy,
    Slot,
    SlotType,
    Spip,
)

AUDITED: dict[type, str] = {
    Spip: "spip",
    Place: "place",
    Agent: "agent",
    Person: "person",
    Appointment: "appointment",
    Agenda: "agenda",
    SlotType: "slot_type",
    Slot: "slot",
    ReminderPolicy: "reminder_policy",
    MessageTemplate: "message_template",
}
PERSONAL_FIELDS = {"person": frozenset({"first_name", "last_name", "birth_date", "phone"})}
# Never in the trail, not even as "changed": secrets and bookkeeping. ``search_name`` is the
# person's names folded (personal data, derived): a change of name is already recorded, as is
# the change of ``phone_status`` that ``sms_refused_at``/``_via`` merely date and attribute.
HIDDEN_FIELDS = frozenset(
    {
        "password_hash",
        "failed_logins",
        "locked_until",
        "last_login_at",
        "created_at",
        "updated_at",
        "search_name",
        "sms_refused_at",
        "sms_refused_via",
    }
)


@dataclass(frozen=True)
class Actor:
    agent_id: int
    spip_id: int | None
    client: str | None = None


def set_actor(session: AsyncSession, actor: Actor) -> None:
    session.info["actor"] = actor


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    return value


def _spip_of(obj: Any) -> int | None:
    if isinstance(obj, Spip):
        return obj.id
    return getattr(obj, "spip_id", None)


def _changes(obj: Any, entity: str, *, created: bool) -> dict[str, Any]:
    personal = PERSONAL_FIELDS.get(entity, frozenset())
    changes: dict[str, Any] = {}
    state = inspect(obj)
    for attr in state.mapper.column_attrs:
        name = attr.key
        if name in HIDDEN_FIELDS or name == "id":
            continue
        history = state.attrs[name].history
        if created:
            new = getattr(obj, name)
            if new is None:
                continue
            changes[name] = {"changed": True} if name in personal else {"new": _jsonable(new)}
        elif history.has_changes():
            if name in personal:
                changes[name] = {"changed": True}
            else:
                old = history.deleted[0] if history.deleted else None
                new = history.added[0] if history.added else None
                changes[name] = {"old": _jsonable(old), "new": _jsonable(new)}
    return changes


@event.listens_for(Session, "after_flush")
def _capture(session: Session, flush_context: UOWTransaction) -> None:
    actor: Actor | None = session.info.get("actor")
    if actor is None:
        return
    rows: list[dict[str, Any]] = []
    now = utcnow()
    for objects, action in (
        (session.new, "create"),
        (session.dirty, "update"),
        (session.deleted, "delete"),
    ):
        for obj in objects:
            entity = AUDITED.get(type(obj))
            if entity is None:
                continue
            changes = (
                _changes(obj, entity, created=action == "create") if action != "delete" else {}
            )
            if action == "update" and not changes:
                continue
            rows.append(
                {
                    "occurred_at": now,
                    "agent_id": actor.agent_id,
                    "spip_id": _spip_of(obj) if _spip_of(obj) is not None else actor.spip_id,
                    "action": action,
                    "entity": entity,
                    "entity_id": obj.id,
                    "changes": changes or None,
                    "client": actor.client,
                }
            )
    if rows:
        session.connection().execute(insert(AuditEvent), rows)


def record(
    session: AsyncSession,
    action: str,
    entity: str,
    entity_id: int | None,
    *,
    agent: Agent | None = None,
    client: str | None = None,
    changes: dict[str, Any] | None = None,
    spip_id: int | None = None,
) -> None:
    """An explicit event (logins, lock-outs…) that is not a change of an audited row.

    ``spip_id`` names whose trail shows an event no agent made (a person's own refusal of SMS).
    """
    actor: Actor | None = session.info.get("actor")
    if spip_id is None:
        spip_id = agent.spip_id if agent else (actor.spip_id if actor else None)
    session.add(
        AuditEvent(
            occurred_at=utcnow(),
            agent_id=agent.id if agent else (actor.agent_id if actor else None),
            spip_id=spip_id,
            action=action,
            entity=entity,
            entity_id=entity_id,
            changes=changes,
            client=(client or (actor.client if actor else None) or "")[:64] or None,
        )
    )


# ------------------------------------------------------------------ denied attempts

ACCESS_DENIED = "access_denied"  # a resource of another SPIP (answered 404)
PERMISSION_DENIED = "permission_denied"  # an action the role does not allow (answered 403)
DENIALS = (ACCESS_DENIED, PERMISSION_DENIED)
# At most one row per agent and target per window, and so many per agent per hour: enough to
# see who probes what, too few to flood the trail (a script trying 10,000 ids leaves 20 rows).
SAME_TARGET_WINDOW = timedelta(minutes=10)
PER_AGENT_WINDOW = timedelta(hours=1)
PER_AGENT_LIMIT = 20
_DENIAL_LOCK_CLASS = 7202  # pg_advisory_xact_lock(class, agent id): one agent's denials in turn


@dataclass(frozen=True)
class Denial:
    """A refused attempt, ids only. ``spip_id``: whose trail shows it (the target's SPIP for
    another SPIP's resource, so the agent's own administrators cannot learn it exists)."""

    action: str
    actor: Actor
    spip_id: int | None
    entity: str
    entity_id: int | None
    changes: dict[str, Any] | None = None


async def record_denial(session: AsyncSession, denial: Denial) -> bool:
    """Write ``denial`` unless the agent's recent denials already say it; True if written.

    Counted in the database, not in memory: several API processes share the trail. On
    PostgreSQL an advisory lock per agent makes count-and-insert atomic; SQLite has one writer.
    """
    now = utcnow()
    agent_id = denial.actor.agent_id
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:kind, :agent)"),
            {"kind": _DENIAL_LOCK_CLASS, "agent": agent_id},
        )
    same_target = (
        (AuditEvent.action == denial.action)
        & (AuditEvent.entity == denial.entity)
        & AuditEvent.entity_id.is_not_distinct_from(denial.entity_id)
        & (AuditEvent.occurred_at > now - SAME_TARGET_WINDOW)
    )
    total, repeated = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(case((same_target, 1), else_=0)), 0))
            .select_from(AuditEvent)
            .where(
                AuditEvent.agent_id == agent_id,
                AuditEvent.action.in_(DENIALS),
                AuditEvent.occurred_at > now - PER_AGENT_WINDOW,
            )
        )
    ).one()
    if repeated or total >= PER_AGENT_LIMIT:
        return False
    session.add(
        AuditEvent(
            occurred_at=now,
            agent_id=agent_id,
            spip_id=denial.spip_id,
            action=denial.action,
            entity=denial.entity,
            entity_id=denial.entity_id,
            changes=denial.changes,
            client=(denial.actor.client or "")[:64] or None,
        )
    )
    await session.flush()
    return True


# ------------------------------------------------------------------ reading the trail


@dataclass(frozen=True)
class TrailFilters:
    """``GET /audit``'s filters (the web page's too). ``spip_id`` None: every SPIP (national
    administrators only: the caller scopes it with ``access.list_scope``)."""

    spip_id: int | None = None
    entity: str | None = None
    entity_id: int | None = None
    agent_id: int | None = None
    action: str | None = None
    since: datetime | None = None  # included
    until: datetime | None = None  # excluded


def trail_query(filters: TrailFilters) -> Select[AuditEvent]:
    """The trail's rows under ``filters``, newest first."""
    stmt = select(AuditEvent)
    for column, value in (
        (AuditEvent.spip_id, filters.spip_id),
        (AuditEvent.entity, filters.entity),
        (AuditEvent.entity_id, filters.entity_id),
        (AuditEvent.agent_id, filters.agent_id),
        (AuditEvent.action, filters.action),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if filters.since is not None:
        stmt = stmt.where(AuditEvent.occurred_at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(AuditEvent.occurred_at < filters.until)
    return stmt.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())


async def list_events(
    session: AsyncSession, filters: TrailFilters, *, limit: int, offset: int
) -> tuple[list[AuditEvent], int]:
    """One page of the trail and its total (``GET /audit`` and the page « Journal d'audit »)."""
    return await paginate(session, trail_query(filters), limit=limit, offset=offset)


# ------------------------------------------------------------------ a record's history


@dataclass(frozen=True)
class HistoryEntry:
    """One event of a record's history and the name of its agent (``None``: no agent)."""

    event: AuditEvent
    agent_name: str | None


def history_query(entity: str, entity_id: int) -> Select[AuditEvent]:
    """Who changed the record, newest first. Refused attempts from other SPIPs are for
    administrators (``GET /audit``), not for everyone who may read the record."""
    return (
        select(AuditEvent)
        .where(
            AuditEvent.entity == entity,
            AuditEvent.entity_id == entity_id,
            AuditEvent.action.not_in(DENIALS),
        )
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    )


async def record_history(
    session: AsyncSession, entity: str, entity_id: int, *, limit: int, offset: int = 0
) -> tuple[list[HistoryEntry], int]:
    """One page of a record's history with its agents' names, and its total: two queries
    (the count, then the events joined to their agents), whatever the page's length. For the
    API's ``GET /persons/{id}/history`` and ``/appointments/{id}/history`` and the pages'
    « Historique »."""
    stmt = history_query(entity, entity_id)
    total = await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = await session.execute(
        stmt.add_columns(Agent.name)
        .outerjoin(Agent, Agent.id == AuditEvent.agent_id)
        .limit(limit)
        .offset(offset)
    )
    return [HistoryEntry(event, name) for event, name in rows], int(total or 0)
