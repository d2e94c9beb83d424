"""The dispatcher: claim due messages, re-check, render, send, record. Crash-safe by design.

- Claiming is one atomic UPDATE … RETURNING over a ``FOR UPDATE SKIP LOCKED`` sub-select on
  PostgreSQL, so any number of workers can run side by side without sending a row twice.
- A claimed row carries a lease. A worker that dies leaves its rows ``sending``; when the lease
  runs out, another worker claims them again. Nothing is lost.
- Network I/O happens outside any database transaction; the result is written back only if this
  worker still holds the lease.
- Each message is processed in isolation: one failure never stops the batch.
- Re-checking and rendering is ``app.reminders.preparation``. A tick prepares each batch in the
  transaction that claims it (a read of a few milliseconds for 200 rows); a message that then
  waits longer than ``fresh_for`` for a sending slot is prepared again just before it goes.
  That late preparation and the recording run as group commits (``app.reminders.grouping``)
  shared by the messages in flight.
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
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, assert_never

from sqlalchemy import ColumnElement, and_, or_, select, true, update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from app.core import metrics
from app.core.clock import utcnow
from app.db import session_scope
from app.models import PLANNED, SENDING, Notification, NotificationStatus, SendingPause
from app.reminders import delivery
from app.reminders.grouping import GroupCommit
from app.reminders.outcomes import Disposition, Outcome, attempts_of, error_text, record_many
from app.reminders.preparation import (
    Preparation,
    Prepared,
    PrepareFailed,
    Settled,
    TtlCache,
    prepare_many,
)
from app.sms.base import DeadlinePassed, OutgoingSms, PermanentError, SubmitResult
from app.sms.config import RETRY_BASE_SECONDS, RETRY_CAP_SECONDS

log = logging.getLogger("convoc.dispatcher")


class Sender(Protocol):
    async def send(self, message: OutgoingSms) -> SubmitResult: ...


@dataclass(frozen=True)
class DispatchConfig:
    batch_size: int = 200
    concurrency: int = 20
    lease: timedelta = timedelta(seconds=60)
    max_batches_per_tick: int = 50
    # Seconds a group of database work waits for more messages (see GroupCommit). Measured
    # with 20 ms provider answers and 40 slots (bench.dispatch): 5 ms made groups of 12 on
    # average and cut the statements per SMS by a quarter; 20 ms cut the worker's CPU per SMS
    # by another 5-8 %; 40 ms, nothing more (the slots wait for the group).
    group_linger: float = 0.02
    # Seconds during which what the claim read and checked stands for the check at send time:
    # an agent's change made meanwhile (a cancellation, a new number) may miss a message
    # already claimed, as one made during the provider's answer always could. Prepared in its
    # claim, a message cost the worker a third less CPU and PostgreSQL a third fewer statements
    # (bench.dispatch, 2 workers: 382 → 525 SMS/s).
    fresh_for: float = 2.0
    # The retry policy (see ``backoff``); defaults shared with CONVOC_SMS_RETRY_*_SECONDS.
    retry_base_seconds: float = RETRY_BASE_SECONDS
    retry_cap_seconds: float = RETRY_CAP_SECONDS
    default_sender: str = "SPIP"
    # The convocation link in the SMS (``app.links.tokens``): the server secret and the public
    # address; left empty, the SMS carry no link.
    link_secret: str = ""
    link_base_url: str | None = None
    worker_id: str = field(
        default_factory=lambda: f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    )


@dataclass
class TickStats:
    """What one tick did: rows claimed, then one count per ``Disposition``."""

    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    cancelled: int = 0
    deferred: int = 0
    retried: int = 0
    failed: int = 0
    expired: int = 0  # by the sweep of overdue rows as well as one by one
    receipts: int = 0  # pending receipts applied by the sweep

    def count(self, disposition: Disposition) -> None:
        metrics.DISPATCH_MESSAGES.labels(disposition.value).inc()
        match disposition:
            case Disposition.sent:
                self.sent += 1
            case Disposition.skipped:
                self.skipped += 1
            case Disposition.cancelled:
                self.cancelled += 1
            case Disposition.deferred:
                self.deferred += 1
            case Disposition.retried:
                self.retried += 1
            case Disposition.failed:
                self.failed += 1
            case Disposition.expired:
                self.expired += 1
            case _:
                assert_never(disposition)


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


# ``paused_spips`` under a national pause: every SPIP.
ALL_SPIPS: frozenset[int] = frozenset({-1})


async def paused_spips(session: AsyncSession) -> frozenset[int]:
    """The SPIPs whose sending an operator paused, or ``ALL_SPIPS`` (a national pause).

    Read at each claim: the active pauses are a handful of rows (``resumed_at IS NULL``), so
    the claim's statements keep walking their partial indexes with a short ``NOT IN``.
    """
    ids = set(
        await session.scalars(
            select(SendingPause.spip_id).where(SendingPause.resumed_at.is_(None)).distinct()
        )
    )
    if None in ids:
        return ALL_SPIPS
    return frozenset(i for i in ids if i is not None)


async def claim(session: AsyncSession, now: datetime, config: DispatchConfig) -> list[int]:
    """Atomically take up to ``batch_size`` rows: first those whose lease ran out (their worker
    died), then due planned rows, earliest first.

    Two statements rather than one ``OR``: each walks its own partial index in order and stops
    after the batch, so a claim costs the same with 20,000 rows due as with 500 (an ``OR``
    would fetch and sort every due row).

    Messages of a paused SPIP (all of them under a national pause) are not taken: they stay
    as they are, and ``expire_overdue`` expires those whose last useful moment passes.
    """
    held = await paused_spips(session)
    if held is ALL_SPIPS:
        return []
    unpaused: ColumnElement[bool] = Notification.spip_id.not_in(sorted(held)) if held else true()
    taken = await _take(
        session,
        and_(Notification.status == SENDING, Notification.lease_expires_at < now, unpaused),
        Notification.lease_expires_at,
        config.batch_size,
        now,
        config,
    )
    if len(taken) < config.batch_size:
        taken += await _take(
            session,
            and_(Notification.status == PLANNED, Notification.send_at <= now, unpaused),
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


def backoff(attempt: int, config: DispatchConfig, rng: random.Random) -> timedelta:
    """How long a message waits after its ``attempt``-th try failed: exponential back-off with
    *equal jitter*.

    The ceiling doubles with every attempt, from ``retry_base_seconds`` after the first up to
    ``retry_cap_seconds``; the delay is drawn uniformly from ``[ceiling / 2, ceiling]``. Half
    the ceiling is always waited (a recovering provider is not hit again at once), the other
    half is random (the retries of a failed batch spread out instead of coming back together).
    """
    exponent = min(max(attempt - 1, 0), 60)  # 2**60 × base is past any cap; no float overflow
    ceiling = min(config.retry_cap_seconds, config.retry_base_seconds * 2.0**exponent)
    return timedelta(seconds=rng.uniform(ceiling / 2, ceiling))


def retry_delay(
    attempt: int, error: Exception, config: DispatchConfig, rng: random.Random
) -> timedelta:
    """``backoff``, but never sooner than the ``retry_after`` the error carries (a provider's
    ``Retry-After``, or the gateway's wait until a provider is usable again)."""
    delay = backoff(attempt, config, rng)
    retry_after = getattr(error, "retry_after", None)  # throttled, or no provider available
    if isinstance(retry_after, int | float) and retry_after > 0:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay


@dataclass
class _Pipeline:
    """What one tick shares between its messages: the sender, and the grouped database work."""

    sender: Sender
    config: DispatchConfig
    rng: random.Random
    prepare: GroupCommit[int, Preparation]
    record: GroupCommit[Outcome, bool]


def _pipeline(
    sessionmaker: async_sessionmaker[AsyncSession],
    sender: Sender,
    config: DispatchConfig,
    rng: random.Random,
    cache: TtlCache,
) -> _Pipeline:
    async def prepare(ids: list[int]) -> list[Preparation]:
        async with session_scope(sessionmaker) as session:
            return await prepare_many(session, ids, config, cache)

    async def record(outcomes: list[Outcome]) -> list[bool | BaseException]:
        return await _record_until_reachable(sessionmaker, outcomes, config)

    return _Pipeline(
        sender,
        config,
        rng,
        GroupCommit(prepare, config.concurrency, config.group_linger),
        GroupCommit(record, config.concurrency, config.group_linger),
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
) -> Disposition:
    """Prepare, send and record one message (on its own; ``tick`` shares the work)."""
    run = _pipeline(sessionmaker, sender, config, rng, TtlCache())
    return await _send(run, await run.prepare.submit(notification_id))


async def _send(run: _Pipeline, preparation: Preparation) -> Disposition:
    """Send and record a prepared message; a settled one is only reported, a failed one
    raises its error."""
    if isinstance(preparation, Settled):
        return preparation.disposition
    if isinstance(preparation, PrepareFailed):
        raise preparation.error
    disposition, outcome = await _attempt(run, preparation)
    await run.record.submit(outcome)
    return disposition


async def _attempt(run: _Pipeline, prepared: Prepared) -> tuple[Disposition, Outcome]:
    """Send one prepared message: what happened, and what to record of it."""
    target = prepared.target
    try:
        result = await run.sender.send(prepared.message)
    except DeadlinePassed as exc:  # rate limit or failover took it past its useful moment
        return Disposition.expired, Outcome(
            target,
            prepared.rendered | _settled(NotificationStatus.expired, "expired", exc),
            attempts=attempts_of(exc),
        )
    except PermanentError as exc:
        log.warning(
            "sms.permanent_failure notification=%s code=%s", target.notification_id, exc.code
        )
        return Disposition.failed, Outcome(
            target,
            prepared.rendered | _settled(NotificationStatus.failed, "permanent_error", exc),
            attempts=attempts_of(exc),
            permanent=exc,
        )
    except Exception as exc:  # temporary, throttled, or a bug: retry while there is time
        return _retry_or_fail(run, prepared, exc)
    values: dict[str, object] = {
        **prepared.rendered,
        "status": NotificationStatus.sent.value,
        "provider": result.provider,
        # The first id; every id (one per part with some providers) is a notification_part.
        "provider_message_id": result.message_ids[0][:100] if result.message_ids else None,
        "sent_at": utcnow(),
        "last_error": None,
    }
    if result.segments:  # the provider's count, when it gives one, over ours
        values["segments"] = result.segments
    return Disposition.sent, Outcome(target, values, attempts=attempts_of(result), sent=result)


def _settled(status: NotificationStatus, reason: str, exc: Exception) -> dict[str, object]:
    return {"status": status.value, "reason": reason, "last_error": error_text(exc)}


def _retry_or_fail(
    run: _Pipeline, prepared: Prepared, exc: Exception
) -> tuple[Disposition, Outcome]:
    retry_at = utcnow() + retry_delay(prepared.attempts, exc, run.config, run.rng)
    attempts = attempts_of(exc)
    if retry_at > prepared.not_after:
        return Disposition.failed, Outcome(
            prepared.target,
            prepared.rendered | _settled(NotificationStatus.failed, "retries_exhausted", exc),
            attempts=attempts,
        )
    log.info(
        "sms.retry_planned notification=%s error=%s",
        prepared.target.notification_id,
        type(exc).__name__,
    )
    return Disposition.retried, Outcome(
        prepared.target,
        prepared.rendered | {"status": PLANNED, "send_at": retry_at, "last_error": error_text(exc)},
        attempts=attempts,
    )


async def _claim_and_prepare(
    sessionmaker: async_sessionmaker[AsyncSession], config: DispatchConfig, cache: TtlCache
) -> tuple[list[int], list[Preparation]]:
    async with session_scope(sessionmaker) as session:
        ids = await claim(session, utcnow(), config)
        prepared = await prepare_many(session, ids, config, cache, just_claimed=True) if ids else []
    return ids, prepared


async def tick(
    sessionmaker: async_sessionmaker[AsyncSession],
    sender: Sender,
    config: DispatchConfig,
    rng: random.Random | None = None,
    stopping: asyncio.Event | None = None,
) -> TickStats:
    """One pass: expire what is overdue, then drain due rows batch by batch.

    ``stopping`` set (the worker was asked to stop): no further batch is claimed; the messages
    already claimed are sent and recorded, so none is left for its lease to run out.
    """
    rng = rng or random.Random()
    stats = TickStats()
    async with session_scope(sessionmaker) as session:
        stats.expired += await expire_overdue(session, utcnow())
        stats.receipts += await delivery.sweep_pending(session, utcnow())
    metrics.DISPATCH_MESSAGES.labels(Disposition.expired.value).inc(stats.expired)
    semaphore = asyncio.Semaphore(config.concurrency)
    cache = TtlCache()
    run = _pipeline(sessionmaker, sender, config, rng, cache)

    async def one(notification_id: int, early: Preparation, at: float) -> None:
        if isinstance(early, Settled):  # in the claim (cancelled, skipped…): nothing to send
            stats.count(early.disposition)
            return
        try:
            # A slot covers the send and the write of its result: a killed worker can leave
            # at most ``concurrency`` messages accepted by the provider but not recorded.
            async with semaphore:
                if time.monotonic() - at > config.fresh_for:  # waited: check again
                    early = await run.prepare.submit(notification_id)
                stats.count(await _send(run, early))
        except Exception:  # isolate: the lease will bring the row back
            log.exception("dispatcher.item_failed notification=%s", notification_id)

    in_flight: set[asyncio.Task[None]] = set()
    failure: Exception | None = None
    try:
        for _ in range(config.max_batches_per_tick):
            if stopping is not None and stopping.is_set():
                break
            try:
                with metrics.timed(metrics.DISPATCH_CLAIM_DURATION):
                    ids, prepared = await _claim_and_prepare(sessionmaker, config, cache)
                claimed_at = time.monotonic()
            except Exception as exc:
                # Stop claiming, not the messages already out: their results must still be
                # written (they wait for the database), else their leases would bring them
                # back and they would go out twice.
                failure = exc
                break
            stats.claimed += len(ids)
            metrics.DISPATCH_CLAIMED.inc(len(ids))
            in_flight |= {
                asyncio.create_task(one(i, early, claimed_at))
                for i, early in zip(ids, prepared, strict=True)
            }
            if len(ids) < config.batch_size:
                break
            # The next batch is claimed while the last messages of this one are still out:
            # waiting for the whole batch would leave the sending slots idle at its tail.
            while len(in_flight) > config.concurrency:
                _, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
        await asyncio.gather(*in_flight)
    except asyncio.CancelledError:
        for task in in_flight:  # the event loop is going away: so are they (leases cover it)
            task.cancel()
        raise
    if failure is not None:
        raise failure
    if stats.claimed:
        log.info("dispatcher.tick %s", stats)
    return stats
