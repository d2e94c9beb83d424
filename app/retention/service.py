"""The retention rules, one transaction (batch) at a time; ``jobs.py`` runs them in turn.

Every rule reads ``now`` and the settings' months; nothing here commits. Deleting a person
relies on the database's cascades (convocations → messages → parts, attempts, and whatever other
tables reference a convocation or a person with ON DELETE CASCADE): no table is listed here but
the two that hold the person.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, exists, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.models import (
    Appointment,
    AttendancePurged,
    AuditEvent,
    InboundMessage,
    Notification,
    NotificationPart,
    PendingReceipt,
    Person,
    SmsDelayPurged,
    SmsPurged,
)
from app.reports import attendance as attendance_reports
from app.reports import queries, sms_aggregates

ARCHIVED_ACTION = "person_archived_by_retention"
DELETED_ACTION = "person_deleted_by_retention"
AUDIT_PRUNED_ACTION = "audit_retention_applied"
# SQLite's append-only trigger on DELETE, as the migration of the audit trail wrote it.
SQLITE_AUDIT_DELETE_TRIGGER = (
    "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
)


def months_before(now: datetime, months: int) -> datetime:
    """The same instant ``months`` calendar months earlier (the 31st falls back to the month's
    last day)."""
    index = now.year * 12 + now.month - 1 - months
    year, month = index // 12, index % 12 + 1
    return now.replace(
        year=year, month=month, day=min(now.day, calendar.monthrange(year, month)[1])
    )


# ------------------------------------------------------------------ archive


def _archivable(now: datetime, months: int) -> Any:
    """Persons still active, created before the cutoff, with no convocation since (none to come
    either: a convocation after the cutoff, past or future, keeps the person)."""
    cutoff = months_before(now, months)
    recent = exists().where(Appointment.person_id == Person.id, Appointment.starts_at >= cutoff)
    return and_(Person.archived.is_(False), Person.created_at < cutoff, ~recent)


async def count_archivable(session: AsyncSession, *, now: datetime, months: int) -> int:
    return await session.scalar(select(func.count()).where(_archivable(now, months))) or 0


async def archive_batch(session: AsyncSession, *, now: datetime, months: int, limit: int) -> int:
    """Archive up to ``limit`` persons, each audited as the system's act (no agent)."""
    found = (
        await session.execute(
            select(Person.id, Person.spip_id)
            .where(_archivable(now, months))
            .order_by(Person.id)
            .limit(limit)
        )
    ).all()
    if not found:
        return 0
    ids = [person_id for person_id, _ in found]
    await session.execute(
        update(Person)
        .where(Person.id.in_(ids))
        .values(archived=True, archived_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    for person_id, spip_id in found:
        audit.record(session, ARCHIVED_ACTION, "person", person_id, spip_id=spip_id)
    await session.flush()
    return len(found)


# ------------------------------------------------------------------ delete, after the fold


def _deletable(now: datetime, months: int) -> Any:
    """Archived more than ``months`` ago, and no convocation since then or to come: a person an
    agent archived with a convocation still ahead keeps it (and its counts stay in closed
    months only) until it too is ``months`` old."""
    cutoff = months_before(now, months)
    recent = exists().where(Appointment.person_id == Person.id, Appointment.starts_at >= cutoff)
    return and_(
        Person.archived.is_(True),
        Person.archived_at.is_not(None),
        Person.archived_at < cutoff,
        ~recent,
    )


async def count_deletable(session: AsyncSession, *, now: datetime, months: int) -> int:
    return await session.scalar(select(func.count()).where(_deletable(now, months))) or 0


async def count_deletable_appointments(session: AsyncSession, *, now: datetime, months: int) -> int:
    persons = select(Person.id).where(_deletable(now, months))
    stmt = select(func.count()).select_from(Appointment).where(Appointment.person_id.in_(persons))
    return await session.scalar(stmt) or 0


async def delete_batch(
    session: AsyncSession, *, now: datetime, months: int, limit: int
) -> tuple[int, int, set[str]]:
    """Fold up to ``limit`` persons' counts into the purged tables and delete them with their
    convocations. Returns (persons, convocations, months touched).

    The reports are right from this commit on, before any rebuild: a month whose aggregates
    exist still holds the deleted counts (built from live data before), and a whole month
    without aggregates reads live data plus the purged counts. The job rebuilds the touched
    months once at the end, so they read from the aggregates like their neighbours.
    """
    found = (
        await session.execute(
            select(Person.id, Person.spip_id)
            .where(_deletable(now, months))
            .order_by(Person.id)
            .limit(limit)
        )
    ).all()
    if not found:
        return 0, 0, set()
    ids = [person_id for person_id, _ in found]
    touched = await fold(session, person_ids=ids, now=now)
    appointments = await session.execute(
        delete(Appointment)
        .where(Appointment.person_id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        delete(Person).where(Person.id.in_(ids)).execution_options(synchronize_session=False)
    )
    for person_id, spip_id in found:
        audit.record(session, DELETED_ACTION, "person", person_id, spip_id=spip_id)
    await session.flush()
    return len(found), int(getattr(appointments, "rowcount", 0) or 0), touched


async def rebuild_touched(session: AsyncSession, months: set[str]) -> list[str]:
    """Rebuild the months a purge touched (closed ones: the convocations are at least
    archive + delete months old); ``rebuild`` adds the purged counts to the live ones."""
    return await attendance_reports.rebuild(session, months=sorted(months))


async def fold(session: AsyncSession, *, person_ids: list[int], now: datetime) -> set[str]:
    """Add these persons' convocations and messages to the purged counts, computed by the
    reports' own live queries narrowed to them; returns the months touched."""
    persons = select(Person.id).where(Person.id.in_(person_ids))
    touched: set[str] = set()
    first, last = (
        await session.execute(
            select(func.min(Appointment.starts_at), func.max(Appointment.starts_at)).where(
                Appointment.person_id.in_(persons)
            )
        )
    ).one()
    if first is not None:
        # Local dates lie within a day of UTC's: a day's margin either side takes them all.
        start, end = (first - timedelta(days=1)).date(), (last + timedelta(days=1)).date()
        stmt = (
            queries.live_cells_stmt(
                spip_id=None, start=start, end=end, group_by="month", now=now, person_ids=persons
            )
            .add_columns(
                Appointment.appointment_type_id, Appointment.agent_id, Appointment.place_id
            )
            .group_by(Appointment.appointment_type_id, Appointment.agent_id, Appointment.place_id)
        )
        rows = [
            {"spip_id": spip_id, "month": month, "outcome": outcome, "reminder_outcome": reminder,
             "count": count, "appointment_type_id": type_id, "agent_id": agent_id,
             "place_id": place_id, "purged_at": now}
            for spip_id, month, outcome, reminder, count, type_id, agent_id, place_id
            in await session.execute(stmt)
        ]  # fmt: skip
        if rows:
            await session.execute(insert(AttendancePurged), rows)
            touched |= {r["month"] for r in rows}
    touched |= await _fold_messages(session, persons=persons, now=now)
    return touched


async def _fold_messages(session: AsyncSession, *, persons: Any, now: datetime) -> set[str]:
    appointment_ids = select(Appointment.id).where(Appointment.person_id.in_(persons))
    first, last = (
        await session.execute(
            select(func.min(Notification.send_at), func.max(Notification.send_at)).where(
                Notification.appointment_id.in_(appointment_ids)
            )
        )
    ).one()
    if first is None:
        return set()
    start, end = (first - timedelta(days=1)).date(), (last + timedelta(days=1)).date()
    counts = sms_aggregates.live_counts_stmt(
        spip_id=None, start=start, end=end, appointment_ids=appointment_ids
    )
    rows = [
        {"spip_id": spip_id, "month": month, "provider": provider, "kind": kind,
         "status": status, "messages": n, "segments": g, "purged_at": now}
        for spip_id, month, provider, kind, status, n, g in await session.execute(counts)
    ]  # fmt: skip
    delays = sms_aggregates.live_delays_stmt(
        spip_id=None, start=start, end=end, appointment_ids=appointment_ids
    )
    delay_rows = [
        {"spip_id": spip_id, "month": month, "provider": provider, "seconds": seconds,
         "messages": n, "purged_at": now}
        for spip_id, month, provider, seconds, n in await session.execute(delays)
    ]  # fmt: skip
    if rows:
        await session.execute(insert(SmsPurged), rows)
    if delay_rows:
        await session.execute(insert(SmsDelayPurged), delay_rows)
    return {r["month"] for r in rows}


# ------------------------------------------------------------------ message contents


def _old_messages(now: datetime, months: int) -> Any:
    cutoff = months_before(now, months)
    old = select(Appointment.id).where(Appointment.starts_at < cutoff)
    return Notification.appointment_id.in_(old)


def _kept_error() -> Any:
    """A code (``permanent_error``, ``brevo:invalid_number``) stays; free text goes: a provider's
    sentence may quote the number or the text."""
    error = Notification.last_error
    return case(
        (and_(error.not_like("% %"), func.length(error) <= 60), error),
        else_=None,
    )


def _still_holding() -> Any:
    return (
        Notification.body.is_not(None)
        | Notification.provider_message_id.is_not(None)
        | (Notification.last_error.is_not(None) & (_kept_error().is_(None)))
        | exists().where(NotificationPart.notification_id == Notification.id)
    )


async def count_messages_to_erase(session: AsyncSession, *, now: datetime, months: int) -> int:
    stmt = select(func.count()).where(_old_messages(now, months), _still_holding())
    return await session.scalar(stmt) or 0


async def erase_messages_batch(
    session: AsyncSession, *, now: datetime, months: int, limit: int
) -> int:
    """Erase the texts and provider ids of up to ``limit`` old messages; statuses, segments and
    times stay (the SMS statistics and their delays are computed from them)."""
    ids = list(
        await session.scalars(
            select(Notification.id)
            .where(_old_messages(now, months), _still_holding())
            .order_by(Notification.id)
            .limit(limit)
        )
    )
    if not ids:
        return 0
    await session.execute(
        delete(NotificationPart)
        .where(NotificationPart.notification_id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Notification)
        .where(Notification.id.in_(ids))
        .values(body=None, provider_message_id=None, last_error=_kept_error())
        .execution_options(synchronize_session=False)
    )
    return len(ids)


async def drop_old_pending_receipts(session: AsyncSession, *, now: datetime, months: int) -> int:
    """Receipts that never found their message (already swept after a week by the dispatcher:
    this is the backstop, provider ids included)."""
    result = await session.execute(
        delete(PendingReceipt).where(PendingReceipt.received_at < months_before(now, months))
    )
    return int(getattr(result, "rowcount", 0) or 0)


UNMATCHED_REPLY_DAYS = 31


async def drop_old_replies(session: AsyncSession, *, now: datetime, months: int) -> int:
    """SMS received (``inbound_sms``: the sender's number, the text): those older than the
    messages' retention go with the texts of the SMS sent; those no person matched — nobody
    can read them, they are only kept to be counted — after a month."""
    result = await session.execute(
        delete(InboundMessage).where(
            (InboundMessage.received_at < months_before(now, months))
            | (
                InboundMessage.person_id.is_(None)
                & (InboundMessage.received_at < now - timedelta(days=UNMATCHED_REPLY_DAYS))
            )
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


# ------------------------------------------------------------------ the audit trail's own


async def count_audit_to_prune(session: AsyncSession, *, now: datetime, months: int) -> int:
    cutoff = months_before(now, months)
    stmt = select(func.count()).select_from(AuditEvent).where(AuditEvent.occurred_at < cutoff)
    return await session.scalar(stmt) or 0


async def prune_audit(session: AsyncSession, *, now: datetime, months: int) -> int:
    """Delete the trail's rows older than ``months``: the one sanctioned DELETE on it.

    PostgreSQL: the trigger lets a DELETE through in a transaction that set
    ``convoc.audit_retention`` (``SET LOCAL``: it ends with the transaction). SQLite: the DELETE
    trigger is dropped and recreated around the statement, inside this transaction (DDL is
    transactional there: a failure rolls the drop back too).
    """
    cutoff = months_before(now, months)
    postgres = (await session.connection()).dialect.name == "postgresql"
    # No try/finally: a failed DELETE rolls the whole transaction back, the setting (PostgreSQL,
    # SET LOCAL) and the dropped trigger (SQLite) with it.
    if postgres:
        await session.execute(text("SET LOCAL convoc.audit_retention = 'on'"))
    else:
        await session.execute(text("DROP TRIGGER audit_event_no_delete"))
    result = await session.execute(
        delete(AuditEvent)
        .where(AuditEvent.occurred_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    if postgres:
        await session.execute(text("SET LOCAL convoc.audit_retention = 'off'"))
    else:
        await session.execute(text(SQLITE_AUDIT_DELETE_TRIGGER))
    deleted = int(getattr(result, "rowcount", 0) or 0)
    if deleted:
        audit.record(
            session,
            AUDIT_PRUNED_ACTION,
            "audit_event",
            None,
            changes={"deleted": deleted, "before": cutoff.isoformat()},
        )
        await session.flush()
    return deleted
