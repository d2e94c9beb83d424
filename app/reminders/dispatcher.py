"""The dispatcher: claim due messages, re-check, render, send, record. Crash-safe by design.

- Claiming is one atomic UPDATE … RETURNING over a ``FOR UPDATE SKIP LOCKED`` sub-select on
  PostgreSQL, so any number of workers can run side by side without sending a row twice.
- A claimed row carries a lease. A worker that dies leaves its rows ``sending``; when the lease
  runs out, another worker claims them again. Nothing is lost.
- Network I/O happens outside any database transaction; the result is written back only if this
  worker still holds the lease.
- Each message is processed in isolation: one failure never stops the batch.
- What happened is recorded by ``app.reminders.outcomes`` (every provider attempt, the provider
  message ids, a flag on the person's number after a permanent refusal); receipts that beat
  that write are applied by ``app.reminders.delivery``, at once and by a sweep in each tick.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import utcnow
from app.core.localtime import zone
from app.db import session_scope
from app.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    Notification,
    NotificationKind,
    NotificationStatus,
    Person,
    PhoneStatus,
    Place,
    Spip,
)
from app.reminders import delivery, planning
from app.reminders.outcomes import Target, attempts_of, error_text, record
from app.reminders.policies import effective_template, get_policy, placeholder_values
from app.reminders.templates import render_info
from app.sms.base import DeadlinePassed, OutgoingSms, PermanentError, SubmitResult

log = logging.getLogger("convoc.dispatcher")

SENDING = NotificationStatus.sending.value
PLANNED = NotificationStatus.planned.value


class Sender(Protocol):
    async def send(self, message: OutgoingSms) -> SubmitResult: ...


@dataclass(frozen=True)
class DispatchConfig:
    batch_size: int = 200
    concurrency: int = 20
    lease: timedelta = timedelta(seconds=60)
    max_batches_per_tick: int = 50
    retry_base_seconds: float = 30.0
    retry_cap_seconds: float = 900.0
    default_sender: str = "SPIP"
    worker_id: str = field(
        default_factory=lambda: f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    )


@dataclass
class TickStats:
    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    cancelled: int = 0
    deferred: int = 0
    retried: int = 0
    failed: int = 0
    expired: int = 0
    receipts: int = 0  # pending receipts applied by the sweep

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


async def expire_overdue(session: AsyncSession, now: datetime) -> int:
    """Rows whose last useful moment passed unsent (e.g. after downtime) become ``expired``."""
    result = await session.execute(
        update(Notification)
        .where(
            Notification.send_not_after < now,
            or_(
                Notification.status == PLANNED,
                and_(Notification.status == SENDING, Notification.lease_expires_at < now),
            ),
        )
        .values(
            status=NotificationStatus.expired.value,
            reason="expired",
            lease_owner=None,
            updated_at=now,
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def claim(session: AsyncSession, now: datetime, config: DispatchConfig) -> list[int]:
    """Atomically take up to ``batch_size`` due rows (and rows whose lease ran out)."""
    due = or_(
        and_(Notification.status == PLANNED, Notification.send_at <= now),
        and_(Notification.status == SENDING, Notification.lease_expires_at < now),
    )
    picked = (
        select(Notification.id)
        .where(due, Notification.send_not_after >= now)
        .order_by(Notification.send_at)
        .limit(config.batch_size)
        .with_for_update(skip_locked=True)
    )
    result = await session.execute(
        update(Notification)
        .where(Notification.id.in_(picked.scalar_subquery()))
        .values(
            status=SENDING,
            lease_owner=config.worker_id,
            lease_expires_at=now + config.lease,
            attempts=Notification.attempts + 1,
            updated_at=now,
        )
        .returning(Notification.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(result.scalars().all())


@dataclass(frozen=True)
class Prepared:
    message: OutgoingSms
    not_after: datetime
    attempts: int
    target: Target


async def _prepare(
    session: AsyncSession, notification_id: int, config: DispatchConfig
) -> Prepared | str:
    """Re-check everything at send time and render the text from current data.

    Returns what to send, or the outcome when the row was settled without sending (skipped,
    cancelled, deferred to the next window, expired).
    """
    # Renew the lease, atomically and only if this worker still holds it: a slow batch must not
    # let another worker take the row over between this check and the send.
    renewed = await session.scalar(
        update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.status == SENDING,
            Notification.lease_owner == config.worker_id,
        )
        .values(lease_expires_at=utcnow() + config.lease)
        .returning(Notification.id)
        .execution_options(synchronize_session=False)
    )
    if renewed is None:
        return "skipped"  # another worker took it over after our lease ran out
    n = await session.get_one(Notification, notification_id, populate_existing=True)
    appointment = await session.get_one(Appointment, n.appointment_id)
    person = await session.get_one(Person, appointment.person_id)
    place = await session.get_one(Place, appointment.place_id)
    spip = await session.get_one(Spip, appointment.spip_id)
    kind = await session.get_one(AppointmentType, appointment.appointment_type_id)
    policy = await get_policy(session, spip.id)
    now = utcnow()

    def settle(status: NotificationStatus, reason: str, outcome: str) -> str:
        n.status, n.reason, n.lease_owner = status.value, reason, None
        return outcome

    expected = {
        NotificationKind.cancellation.value: AppointmentStatus.cancelled.value,
        NotificationKind.missed.value: AppointmentStatus.missed.value,
    }.get(n.kind, AppointmentStatus.booked.value)
    if appointment.status != expected:
        return settle(
            NotificationStatus.cancelled, f"appointment_{appointment.status}", "cancelled"
        )
    if not kind.sms_enabled:
        return settle(NotificationStatus.skipped, "type_without_sms", "skipped")
    if person.archived:
        return settle(NotificationStatus.skipped, "person_archived", "skipped")
    if person.phone_status == PhoneStatus.refused.value:
        return settle(NotificationStatus.skipped, "refused", "skipped")
    if person.phone is None or person.phone_status != PhoneStatus.valid.value:
        return settle(NotificationStatus.skipped, "no_phone", "skipped")
    if now > n.send_not_after:
        return settle(NotificationStatus.expired, "expired", "expired")
    tz = zone(place.timezone)
    if not planning.in_window(now, policy.window, tz):
        next_at = planning.next_in_window(now, policy.window, tz)
        if next_at > n.send_not_after:
            return settle(NotificationStatus.expired, "expired", "expired")
        n.status, n.send_at, n.lease_owner = PLANNED, next_at, None
        return "deferred"
    body, _ = await effective_template(
        session, spip_id=spip.id, kind=NotificationKind(n.kind), type_code=kind.code
    )
    starts_at = appointment.starts_at
    rendered = render_info(
        body,
        placeholder_values(spip=spip, place=place, starts_at=starts_at),
        gsm7_friendly=policy.body.gsm7_friendly,
    )
    n.body, n.encoding, n.segments = rendered.text, rendered.info.encoding, rendered.info.segments
    return Prepared(
        OutgoingSms(
            to=person.phone,
            body=rendered.text,
            sender=policy.body.sender or config.default_sender,
            reference=str(n.id),
            not_after=n.send_not_after,
        ),
        n.send_not_after,
        n.attempts,
        Target(n.id, config.worker_id, person.id, person.phone),
    )


def backoff(attempt: int, config: DispatchConfig, rng: random.Random) -> timedelta:
    """Exponential back-off with full jitter."""
    ceiling = min(config.retry_cap_seconds, config.retry_base_seconds * 2 ** max(attempt - 1, 0))
    return timedelta(seconds=rng.uniform(ceiling / 2, ceiling))


async def process(
    sessionmaker: async_sessionmaker[AsyncSession],
    sender: Sender,
    notification_id: int,
    config: DispatchConfig,
    rng: random.Random,
) -> str:
    async with session_scope(sessionmaker) as session:
        prepared = await _prepare(session, notification_id, config)
    if isinstance(prepared, str):
        return prepared
    target = prepared.target
    try:
        result = await sender.send(prepared.message)
    except DeadlinePassed as exc:  # rate limit or failover took it past its useful moment
        await record(
            sessionmaker,
            target,
            attempts=attempts_of(exc),
            values=_settled(NotificationStatus.expired, "expired", exc),
        )
        return "expired"
    except PermanentError as exc:
        await record(
            sessionmaker,
            target,
            attempts=attempts_of(exc),
            permanent=exc,
            values=_settled(NotificationStatus.failed, "permanent_error", exc),
        )
        log.warning("sms.permanent_failure notification=%s code=%s", notification_id, exc.code)
        return "failed"
    except Exception as exc:  # temporary, throttled, or a bug: retry while there is time
        return await _retry_or_fail(sessionmaker, prepared, exc, config, rng)
    values: dict[str, object] = {
        "status": NotificationStatus.sent.value,
        "provider": result.provider,
        # The first id; every id (one per part with some providers) is a notification_part.
        "provider_message_id": result.message_ids[0][:100] if result.message_ids else None,
        "sent_at": utcnow(),
        "last_error": None,
    }
    if result.segments:  # the provider's count, when it gives one, over ours
        values["segments"] = result.segments
    await record(sessionmaker, target, attempts=attempts_of(result), sent=result, values=values)
    return "sent"


def _settled(status: NotificationStatus, reason: str, exc: Exception) -> dict[str, object]:
    return {"status": status.value, "reason": reason, "last_error": error_text(exc)}


async def _retry_or_fail(
    sessionmaker: async_sessionmaker[AsyncSession],
    prepared: Prepared,
    exc: Exception,
    config: DispatchConfig,
    rng: random.Random,
) -> str:
    delay = backoff(prepared.attempts, config, rng)
    retry_after = getattr(exc, "retry_after", None)  # throttled, or no provider available
    if isinstance(retry_after, int | float) and retry_after > 0:
        delay = max(delay, timedelta(seconds=retry_after))
    retry_at = utcnow() + delay
    attempts = attempts_of(exc)
    if retry_at > prepared.not_after:
        await record(
            sessionmaker,
            prepared.target,
            attempts=attempts,
            values=_settled(NotificationStatus.failed, "retries_exhausted", exc),
        )
        return "failed"
    await record(
        sessionmaker,
        prepared.target,
        attempts=attempts,
        values={"status": PLANNED, "send_at": retry_at, "last_error": error_text(exc)},
    )
    log.info(
        "sms.retry_planned notification=%s error=%s",
        prepared.target.notification_id,
        type(exc).__name__,
    )
    return "retried"


async def tick(
    sessionmaker: async_sessionmaker[AsyncSession],
    sender: Sender,
    config: DispatchConfig,
    rng: random.Random | None = None,
) -> TickStats:
    """One pass: expire what is overdue, then drain due rows batch by batch."""
    rng = rng or random.Random()
    stats = TickStats()
    async with session_scope(sessionmaker) as session:
        stats.expired += await expire_overdue(session, utcnow())
        stats.receipts += await delivery.sweep_pending(session, utcnow())
    semaphore = asyncio.Semaphore(config.concurrency)

    async def one(notification_id: int) -> None:
        async with semaphore:
            try:
                stats.add(await process(sessionmaker, sender, notification_id, config, rng))
            except Exception:  # isolate: the lease will bring the row back
                log.exception("dispatcher.item_failed notification=%s", notification_id)

    for _ in range(config.max_batches_per_tick):
        async with session_scope(sessionmaker) as session:
            ids = await claim(session, utcnow(), config)
        stats.claimed += len(ids)
        await asyncio.gather(*(one(i) for i in ids))
        if len(ids) < config.batch_size:
            break
    if stats.claimed:
        log.info("dispatcher.tick %s", stats)
    return stats
