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
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

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
from app.reminders.outcomes import Outcome, Target, attempts_of, error_text, record_many
from app.reminders.policies import SpipPolicy, effective_template, get_policy, placeholder_values
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
    """Atomically take up to ``batch_size`` rows: first those whose lease ran out (their worker
    died), then due planned rows, earliest first.

    Two statements rather than one ``OR``: each walks its own partial index in order and stops
    after the batch, so a claim costs the same with 20,000 rows due as with 500 (an ``OR``
    would fetch and sort every due row).
    """
    taken = await _take(
        session,
        and_(Notification.status == SENDING, Notification.lease_expires_at < now),
        Notification.lease_expires_at,
        config.batch_size,
        now,
        config,
    )
    if len(taken) < config.batch_size:
        taken += await _take(
            session,
            and_(Notification.status == PLANNED, Notification.send_at <= now),
            Notification.send_at,
            config.batch_size - len(taken),
            now,
            config,
        )
    return sorted(taken)


async def _take(
    session: AsyncSession,
    due: ColumnElement[bool],
    order: InstrumentedAttribute[Any],
    limit: int,
    now: datetime,
    config: DispatchConfig,
) -> list[int]:
    picked = (
        select(Notification.id)
        .where(due, Notification.send_not_after >= now)
        .order_by(order)
        .limit(limit)
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
    return list(result.scalars().all())


@dataclass(frozen=True)
class Prepared:
    message: OutgoingSms
    not_after: datetime
    attempts: int
    target: Target


class _TtlCache:
    """Values read from the database for a few seconds (a SPIP's policy, a template's wording):
    a busy tick reads each once instead of once per message, and an agent's edit is seen
    within ``ttl`` seconds."""

    def __init__(self, ttl: float = 5.0) -> None:
        self.ttl = ttl
        self._values: dict[object, tuple[float, object]] = {}

    def get(self, key: object) -> object | None:
        hit = self._values.get(key)
        if hit is None or time.monotonic() - hit[0] > self.ttl:
            return None
        return hit[1]

    def put(self, key: object, value: object) -> None:
        self._values[key] = (time.monotonic(), value)


@dataclass(frozen=True)
class _Loaded:
    n: Notification
    appointment: Appointment
    person: Person
    place: Place
    spip: Spip
    kind: AppointmentType


async def _prepare_many(
    session: AsyncSession,
    notification_ids: Sequence[int],
    config: DispatchConfig,
    cache: _TtlCache,
) -> list[Prepared | str | BaseException]:
    """Re-check everything at send time and render the text from current data, for a group of
    rows about to be sent (the messages waiting for a sending slot together): a handful of
    queries for the group instead of a dozen per message.

    Returns, for each id, what to send, or the outcome when the row was settled without sending
    (skipped, cancelled, deferred to the next window, expired), or the error that row raised
    (one bad row never fails the others).
    """
    # Renew the leases, atomically and only where this worker still holds them: a slow batch
    # must not let another worker take a row over between this check and the send.
    renewed = set(
        await session.scalars(
            update(Notification)
            .where(
                Notification.id.in_(notification_ids),
                Notification.status == SENDING,
                Notification.lease_owner == config.worker_id,
            )
            .values(lease_expires_at=utcnow() + config.lease)
            .returning(Notification.id)
            .execution_options(synchronize_session=False)
        )
    )
    loaded: dict[int, _Loaded] = {}
    if renewed:
        rows = await session.execute(
            select(Notification, Appointment, Person, Place, Spip, AppointmentType)
            .join(Appointment, Appointment.id == Notification.appointment_id)
            .join(Person, Person.id == Appointment.person_id)
            .join(Place, Place.id == Appointment.place_id)
            .join(Spip, Spip.id == Appointment.spip_id)
            .join(AppointmentType, AppointmentType.id == Appointment.appointment_type_id)
            .where(Notification.id.in_(renewed))
            .execution_options(populate_existing=True)
        )
        loaded = {row[0].id: _Loaded(*row) for row in rows}
    results: list[Prepared | str | BaseException] = []
    for notification_id in notification_ids:
        item = loaded.get(notification_id)
        if item is None:
            results.append("skipped")  # another worker took it over after our lease ran out
            continue
        try:
            results.append(await _prepare_one(session, item, config, cache))
        except Exception as exc:  # isolate: the lease will bring the row back
            results.append(exc)
    return results


async def _prepare_one(
    session: AsyncSession, item: _Loaded, config: DispatchConfig, cache: _TtlCache
) -> Prepared | str:
    n, appointment, person, place, spip, kind = (
        item.n,
        item.appointment,
        item.person,
        item.place,
        item.spip,
        item.kind,
    )
    policy = cache.get(("policy", spip.id))
    if not isinstance(policy, SpipPolicy):
        policy = await get_policy(session, spip.id)
        cache.put(("policy", spip.id), policy)
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
    template_key = ("template", spip.id, n.kind, kind.code)
    body = cache.get(template_key)
    if not isinstance(body, str):
        body, _ = await effective_template(
            session, spip_id=spip.id, kind=NotificationKind(n.kind), type_code=kind.code
        )
        cache.put(template_key, body)
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


T = TypeVar("T")
R = TypeVar("R")


class _Grouped(Generic[T, R]):
    """Group commit: each caller submits one item and waits for its result; the items submitted
    while a group is being handled form the next group. Alone, a message gets a group of its
    own (no added delay); under load, one transaction serves many messages."""

    def __init__(
        self, handle: Callable[[list[T]], Awaitable[Sequence[R | BaseException]]], max_size: int
    ) -> None:
        self._handle = handle
        self._max_size = max(1, max_size)
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            group = self._waiting[: self._max_size]
            del self._waiting[: len(group)]
            try:
                results: Sequence[R | BaseException] = await self._handle([i for i, _ in group])
            except Exception as exc:
                results = [exc] * len(group)
            except BaseException:
                for _, future in group:
                    future.cancel()
                raise
            for (_, future), result in zip(group, results, strict=True):
                if future.done():  # its caller was cancelled
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)


@dataclass
class _Pipeline:
    """What one tick shares between its messages: the sender, and the grouped database work."""

    sender: Sender
    config: DispatchConfig
    rng: random.Random
    prepare: _Grouped[int, Prepared | str]
    record: _Grouped[Outcome, bool]


def _pipeline(
    sessionmaker: async_sessionmaker[AsyncSession],
    sender: Sender,
    config: DispatchConfig,
    rng: random.Random,
) -> _Pipeline:
    cache = _TtlCache()

    async def prepare(ids: list[int]) -> list[Prepared | str | BaseException]:
        async with session_scope(sessionmaker) as session:
            return await _prepare_many(session, ids, config, cache)

    async def record(outcomes: list[Outcome]) -> list[bool | BaseException]:
        return await _record_until_reachable(sessionmaker, outcomes, config)

    return _Pipeline(
        sender,
        config,
        rng,
        _Grouped(prepare, config.concurrency),
        _Grouped(record, config.concurrency),
    )


# SQLSTATE classes of a database going away: 08 connection exception, 57P operator
# intervention (admin / crash shutdown, "cannot connect now" while starting or stopping).
_UNREACHABLE_SQLSTATES = ("08", "57P")


def _database_unreachable(error: bool | BaseException) -> bool:
    if isinstance(error, DBAPIError):
        if error.connection_invalidated or isinstance(error, OperationalError | InterfaceError):
            return True
        for cause in (error.orig, getattr(error.orig, "__cause__", None)):
            if str(getattr(cause, "sqlstate", "") or "").startswith(_UNREACHABLE_SQLSTATES):
                return True
        return False
    return isinstance(error, OSError | TimeoutError)


async def _record_until_reachable(
    sessionmaker: async_sessionmaker[AsyncSession],
    outcomes: list[Outcome],
    config: DispatchConfig,
) -> list[bool | BaseException]:
    """Record, retrying while the database is unreachable, for up to the lease.

    A message that went out must not be sent again because the database was restarting when
    its result came back: until its lease runs out no other worker takes the row, so writing
    the result as soon as the database answers again keeps it sent exactly once.
    """
    results = await record_many(sessionmaker, outcomes)
    deadline = time.monotonic() + config.lease.total_seconds()
    delay = 0.25
    while True:
        waiting = [i for i, r in enumerate(results) if _database_unreachable(r)]
        if not waiting or time.monotonic() + delay > deadline:
            return results
        log.warning("dispatcher.record_retry count=%s delay=%ss", len(waiting), delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 2.0)
        again = await record_many(sessionmaker, [outcomes[i] for i in waiting])
        for i, result in zip(waiting, again, strict=True):
            results[i] = result


async def process(
    sessionmaker: async_sessionmaker[AsyncSession],
    sender: Sender,
    notification_id: int,
    config: DispatchConfig,
    rng: random.Random,
) -> str:
    """Prepare, send and record one message (on its own; ``tick`` shares the work)."""
    return await _process(_pipeline(sessionmaker, sender, config, rng), notification_id)


async def _process(run: _Pipeline, notification_id: int) -> str:
    prepared = await run.prepare.submit(notification_id)
    if isinstance(prepared, str):
        return prepared
    target = prepared.target
    try:
        result = await run.sender.send(prepared.message)
    except DeadlinePassed as exc:  # rate limit or failover took it past its useful moment
        await run.record.submit(
            Outcome(
                target,
                _settled(NotificationStatus.expired, "expired", exc),
                attempts=attempts_of(exc),
            )
        )
        return "expired"
    except PermanentError as exc:
        await run.record.submit(
            Outcome(
                target,
                _settled(NotificationStatus.failed, "permanent_error", exc),
                attempts=attempts_of(exc),
                permanent=exc,
            )
        )
        log.warning("sms.permanent_failure notification=%s code=%s", notification_id, exc.code)
        return "failed"
    except Exception as exc:  # temporary, throttled, or a bug: retry while there is time
        return await _retry_or_fail(run, prepared, exc)
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
    await run.record.submit(Outcome(target, values, attempts=attempts_of(result), sent=result))
    return "sent"


def _settled(status: NotificationStatus, reason: str, exc: Exception) -> dict[str, object]:
    return {"status": status.value, "reason": reason, "last_error": error_text(exc)}


async def _retry_or_fail(run: _Pipeline, prepared: Prepared, exc: Exception) -> str:
    delay = backoff(prepared.attempts, run.config, run.rng)
    retry_after = getattr(exc, "retry_after", None)  # throttled, or no provider available
    if isinstance(retry_after, int | float) and retry_after > 0:
        delay = max(delay, timedelta(seconds=retry_after))
    retry_at = utcnow() + delay
    attempts = attempts_of(exc)
    if retry_at > prepared.not_after:
        await run.record.submit(
            Outcome(
                prepared.target,
                _settled(NotificationStatus.failed, "retries_exhausted", exc),
                attempts=attempts,
            )
        )
        return "failed"
    await run.record.submit(
        Outcome(
            prepared.target,
            {"status": PLANNED, "send_at": retry_at, "last_error": error_text(exc)},
            attempts=attempts,
        )
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
    run = _pipeline(sessionmaker, sender, config, rng)

    async def one(notification_id: int) -> None:
        async with semaphore:
            try:
                stats.add(await _process(run, notification_id))
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
