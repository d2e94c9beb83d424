"""Writing back what happened to a message the dispatcher tried to send.

One transaction per group of messages recorded together (``record_many``: the dispatcher
groups the results that arrive while the previous group is being written; a lone result is a
group of one), after the network call:

* the notification row is updated only if this worker still holds its lease (otherwise another
  worker owns the row now, and its outcome will be written by that worker);
* every provider attempt (accepted, temporary, throttled, permanent, skipped) becomes a
  ``notification_attempt`` row — even when the lease was lost: the attempts happened;
* on success, every provider message id becomes a ``notification_part`` row and receipts that
  arrived first (pending) are applied at once;
* on a permanent error, the person's number is flagged for the agent (``phone_problem``), if it
  is still the number the message went to.

If writing a group fails (a deadlock, a dropped connection), each of its messages is recorded
again on its own (``record``), so one bad row never loses the others' results.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.clock import utcnow
from app.db import session_scope
from app.models import SENDING, Notification, NotificationAttempt, Person
from app.reminders import delivery
from app.reminders.bulk import update_notifications
from app.sms.base import (
    Attempt,
    AttemptOutcome,
    PermanentError,
    SmsError,
    SubmitResult,
    ThrottledError,
)

log = logging.getLogger("convoc.dispatcher")

# A permanent error raised by the gateway itself, not by a provider about this number.
NOT_ABOUT_THE_NUMBER = frozenset({"message_unsupported"})
_ATTEMPTS = cast(Table, NotificationAttempt.__table__)


class Disposition(StrEnum):
    """What became of one claimed message (a tick counts each in ``TickStats``)."""

    sent = "sent"  # accepted by a provider
    retried = "retried"  # a temporary failure: planned again after a back-off
    failed = "failed"  # refused for good, or no retry left before its deadline
    expired = "expired"  # its last useful moment passed before it could go
    cancelled = "cancelled"  # its convocation no longer calls for it
    skipped = "skipped"  # nothing to send to (no number, SMS refused…), or no longer ours
    deferred = "deferred"  # outside the send window: planned again for the next opening


@dataclass(frozen=True)
class Target:
    """The row being recorded, and whom the message went to."""

    notification_id: int
    worker_id: str
    person_id: int
    phone: str


@dataclass(frozen=True)
class Outcome:
    """What to record for one message: see :func:`record`."""

    target: Target
    values: Mapping[str, Any]
    attempts: Sequence[Attempt] = ()
    sent: SubmitResult | None = None
    permanent: PermanentError | None = None


def attempts_of(outcome: SubmitResult | BaseException) -> tuple[Attempt, ...]:
    """The provider attempts behind a result or an error.

    The gateway fills them; a bare provider (tests, tools) does not, so one attempt is inferred
    from the result or the error's class.
    """
    if isinstance(outcome, SubmitResult):
        return outcome.attempts or (Attempt(outcome.provider, AttemptOutcome.accepted),)
    if not isinstance(outcome, SmsError):
        return ()
    if outcome.attempts:
        return outcome.attempts
    if outcome.provider is None:
        return ()
    if isinstance(outcome, PermanentError):
        kind = AttemptOutcome.permanent
    elif isinstance(outcome, ThrottledError):
        kind = AttemptOutcome.throttled
    else:
        kind = AttemptOutcome.temporary
    return (Attempt(outcome.provider, kind, outcome.code),)


def error_text(exc: BaseException) -> str:
    code = exc.code if isinstance(exc, SmsError) and exc.code else type(exc).__name__
    return code[:200]


async def record(
    sessionmaker: async_sessionmaker[AsyncSession],
    target: Target,
    *,
    attempts: Sequence[Attempt] = (),
    sent: SubmitResult | None = None,
    permanent: PermanentError | None = None,
    values: Mapping[str, Any],
) -> bool:
    """Write the outcome (``values``: notification columns) if this worker still holds the
    lease; see the module docstring."""
    async with session_scope(sessionmaker) as session:
        now = utcnow()
        result = await session.execute(
            update(Notification)
            .where(
                Notification.id == target.notification_id,
                Notification.status == SENDING,
                Notification.lease_owner == target.worker_id,
            )
            .values(lease_owner=None, updated_at=now, **values)
        )
        held = bool(result.rowcount)  # type: ignore[attr-defined]
        await _add_attempts(session, target.notification_id, attempts, held=held)
        if not held:
            log.warning("dispatcher.lease_lost notification=%s", target.notification_id)
            return False
        if sent is not None:
            await delivery.record_parts(
                session,
                notification_id=target.notification_id,
                provider=sent.provider,
                message_ids=sent.message_ids,
            )
        if permanent is not None:
            await _flag_phone(session, target, permanent)
    return True


async def record_many(
    sessionmaker: async_sessionmaker[AsyncSession], outcomes: Sequence[Outcome]
) -> list[bool | BaseException]:
    """``record`` for several messages in one transaction; for each, whether the lease was
    still held (or the error that recording it alone raised, after a failed group)."""
    if len(outcomes) == 1:
        return await _record_alone(sessionmaker, outcomes)
    try:
        async with session_scope(sessionmaker) as session:
            return list(await _record_group(session, outcomes))
    except Exception as exc:
        log.warning(
            "dispatcher.group_record_failed size=%s error=%s", len(outcomes), type(exc).__name__
        )
        return await _record_alone(sessionmaker, outcomes)


async def _record_alone(
    sessionmaker: async_sessionmaker[AsyncSession], outcomes: Sequence[Outcome]
) -> list[bool | BaseException]:
    results: list[bool | BaseException] = []
    for o in outcomes:
        try:
            results.append(
                await record(
                    sessionmaker,
                    o.target,
                    attempts=o.attempts,
                    sent=o.sent,
                    permanent=o.permanent,
                    values=o.values,
                )
            )
        except Exception as exc:  # the lease will bring the row back
            results.append(exc)
    return results


async def _record_group(session: AsyncSession, outcomes: Sequence[Outcome]) -> list[bool]:
    now = utcnow()
    ids = [o.target.notification_id for o in outcomes]
    # Lock the rows still ``sending`` (in id order: two workers never deadlock on each other),
    # then write only those whose lease this worker still holds.
    owners = dict(
        (
            await session.execute(
                select(Notification.id, Notification.lease_owner)
                .where(Notification.id.in_(ids), Notification.status == SENDING)
                .order_by(Notification.id)
                .with_for_update()
            )
        ).all()
    )
    held = [o for o in outcomes if owners.get(o.target.notification_id, "") == o.target.worker_id]
    await update_notifications(
        session,
        (
            (o.target.notification_id, {"lease_owner": None, "updated_at": now, **o.values})
            for o in held
        ),
    )
    held_ids = {o.target.notification_id for o in held}
    lost = [o for o in outcomes if o.target.notification_id not in held_ids]
    existing = set(held_ids)
    if lost:
        existing |= set(
            await session.scalars(
                select(Notification.id).where(
                    Notification.id.in_([o.target.notification_id for o in lost])
                )
            )
        )
    attempts = [
        _attempt_row(o.target.notification_id, a, now)
        for o in outcomes
        if o.target.notification_id in existing  # else its convocation was deleted
        for a in o.attempts
    ]
    if attempts:
        # Core, not the ORM's bulk insert: this runs for every message sent.
        await session.execute(insert(_ATTEMPTS), attempts)
    for o in lost:
        log.warning("dispatcher.lease_lost notification=%s", o.target.notification_id)
    sent = [
        (o.target.notification_id, o.sent.provider, o.sent.message_ids)
        for o in held
        if o.sent is not None
    ]
    if sent:
        await delivery.record_parts_many(session, sent)
    for o in held:
        if o.permanent is not None:
            await _flag_phone(session, o.target, o.permanent)
    return [o.target.notification_id in held_ids for o in outcomes]


def _attempt_row(notification_id: int, a: Attempt, now: Any) -> dict[str, Any]:
    return {
        "notification_id": notification_id,
        "provider": a.provider[:30],
        "outcome": a.outcome.value,
        "error_code": a.error_code[:60] if a.error_code else None,
        "latency_ms": a.latency_ms,
        "created_at": now,
    }


async def _add_attempts(
    session: AsyncSession, notification_id: int, attempts: Sequence[Attempt], *, held: bool
) -> None:
    if not attempts:
        return
    if not held and await session.get(Notification, notification_id) is None:
        return  # the row is gone (its convocation was deleted): nothing to attach them to
    now = utcnow()
    await session.execute(
        insert(_ATTEMPTS),
        [_attempt_row(notification_id, a, now) for a in attempts],
    )


def phone_problem_code(error: PermanentError) -> str | None:
    """``<provider>:<code>`` for the agent, or ``None`` when the number is not to blame."""
    if error.code in NOT_ABOUT_THE_NUMBER:
        return None
    provider = error.provider or "sms"
    return f"{provider}:{error.code or 'refused'}"[:60]


async def _flag_phone(session: AsyncSession, target: Target, error: PermanentError) -> None:
    problem = phone_problem_code(error)
    if problem is None:
        return
    # Only the number the message went to: if the agent changed it meanwhile, it is not flagged.
    await session.execute(
        update(Person)
        .where(Person.id == target.person_id, Person.phone == target.phone)
        .values(phone_problem=problem, phone_problem_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    log.warning(
        "sms.phone_flagged person=%s notification=%s problem=%s",
        target.person_id,
        target.notification_id,
        problem,
    )
