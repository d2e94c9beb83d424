"""Retry a failed batch: the messages failed in the last 24 h whose convocation is still ahead,
sent again one by one through the agents' resend (``reminder_service.resend``), so each keeps
its useful window and is refused for the same reasons (too late, no valid number…)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.audit import service as audit
from app.core.errors import AppError
from app.models import Agent, Appointment, Notification, NotificationStatus
from app.operations.board import failures_filter
from app.reminders import errors as reminder_errors
from app.reminders import service as reminder_service
from app.spips import service as spip_service

# One POST resends at most this many (each is a few statements); the page says when more wait.
BATCH_LIMIT = 500


# Why a resend is refused, by code, in the errors' own words (a page rebuilds the result from
# the codes and counts its address carries, never from text it was given).
REFUSALS = {
    error.code: error.message
    for error in (
        reminder_errors.NotResendable,
        reminder_errors.ResendPointless,
        reminder_errors.TooLateToSend,
        reminder_errors.OutsideSendingHours,
        reminder_errors.NotificationNotFound,
    )
}


@dataclass(frozen=True)
class RetryFilter:
    provider: str | None = None
    reason: str | None = None
    spip_id: int | None = None


@dataclass
class RetryResult:
    replanned: int = 0
    refused: Counter[str] = field(default_factory=Counter)  # error code → messages
    messages: dict[str, str] = field(default_factory=dict)  # error code → its French message


async def candidates(
    session: AsyncSession, now: datetime, chosen: RetryFilter, *, limit: int = BATCH_LIMIT
) -> list[int]:
    """Ids of the failed messages a batch would resend: failed in the last 24 h, convocation
    ahead, and not already sent again (no later message of the same kind for the
    convocation: a second retry must not send it twice)."""
    later = aliased(Notification)
    superseded = exists().where(
        later.appointment_id == Notification.appointment_id,
        later.kind == Notification.kind,
        later.id > Notification.id,
    )
    where = [
        *await failures_filter(session, now, (NotificationStatus.failed.value,)),
        Appointment.starts_at > now,
        ~superseded,
    ]
    if chosen.provider:
        where.append(Notification.provider == chosen.provider)
    if chosen.reason:
        where.append(Notification.reason == chosen.reason)
    if chosen.spip_id is not None:
        where.append(Notification.spip_id == chosen.spip_id)
    rows = await session.scalars(
        select(Notification.id)
        .join(Appointment, Appointment.id == Notification.appointment_id)
        .where(and_(*where))
        .order_by(Notification.id)
        .limit(limit)
    )
    return list(rows)


async def retry_failed(
    session: AsyncSession, now: datetime, chosen: RetryFilter, *, agent: Agent
) -> RetryResult:
    """Resend each candidate in its own savepoint: one refused never undoes the others."""
    if chosen.spip_id is not None:
        # 404 spip_not_found, not a foreign-key failure of the audit row (a 409).
        await spip_service.get_spip(session, chosen.spip_id)
    result = RetryResult()
    for notification_id in await candidates(session, now, chosen):
        try:
            async with session.begin_nested():
                await reminder_service.resend(
                    session, notification_id=notification_id, agent_id=agent.id
                )
        except AppError as exc:
            result.refused[exc.code] += 1
            result.messages.setdefault(exc.code, exc.detail)
        else:
            result.replanned += 1
    audit.record(
        session,
        "sending_retried",
        "national" if chosen.spip_id is None else "spip",
        chosen.spip_id,
        agent=agent,
        changes={
            "replanned": result.replanned,
            "refused": dict(result.refused),
            "provider": chosen.provider,
            "reason": chosen.reason,
        },
        spip_id=chosen.spip_id,
    )
    return result


def summary(result: RetryResult) -> str:
    """« 3 messages replanifiés, 1 non renvoyable (trop tard …) »."""
    plural = "s" if result.replanned > 1 else ""  # French: « 0 message replanifié »
    replanned = f"{result.replanned} message{plural} replanifié{plural}"
    refused = sum(result.refused.values())
    if not refused:
        return f"{replanned}."
    why = " ; ".join(
        f"{n} : {result.messages.get(code) or REFUSALS.get(code, code)}".rstrip(".")
        for code, n in result.refused.most_common(3)
    )
    plural = "s" if refused > 1 else ""
    return f"{replanned}, {refused} non renvoyable{plural} ({why})."
