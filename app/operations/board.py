"""What the operations page reads: the queue now, the providers' health, the last ticks, the
messages expired or failed lately. Each query is bounded by an index (see each function)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from statistics import median

from sqlalchemy import ColumnElement, and_, case, false, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.localtime import zone
from app.models import (
    PLANNED,
    SENDING,
    DispatchTick,
    Notification,
    NotificationAttempt,
    NotificationStatus,
    Spip,
)
from app.reminders.dispatcher import ALL_SPIPS, paused_spips

# A planned message this far past its moment is late (the ticks run every few seconds).
LATE_AFTER = timedelta(minutes=5)
# The national team's day, for « later today ».
TEAM_ZONE = "Europe/Paris"
FAILED_OR_EXPIRED = (NotificationStatus.failed.value, NotificationStatus.expired.value)
# A failed or expired message of the last 24 h was due at most this long before: the failures
# are read through (spip_id, send_at), one index range per SPIP, not the whole table.
FAILURE_LOOKBACK = timedelta(days=3)


@dataclass
class SpipQueue:
    spip_id: int
    name: str
    due: int
    late: int


@dataclass
class Queue:
    due: int = 0  # planned, send_at passed
    later_today: int = 0  # planned for the rest of the team's day
    in_flight: int = 0  # sending, lease held
    late: int = 0  # planned for over LATE_AFTER, or sending with a lease run out (not held)
    held: int = 0  # due, but held by a pause (not late: they expire rather than go late)
    oldest_due_at: datetime | None = None
    spips: list[SpipQueue] = field(default_factory=list)


async def queue(session: AsyncSession, now: datetime, *, top: int = 10) -> Queue:
    """Counts over the claim's partial indexes (planned by send_at, sending by lease)."""
    end_of_day = datetime.combine(
        now.astimezone(zone(TEAM_ZONE)).date() + timedelta(days=1), time(), zone(TEAM_ZONE)
    )
    planned = Notification.status == PLANNED
    paused = await paused_spips(session)
    held: ColumnElement[bool] = (
        true()
        if paused is ALL_SPIPS
        else Notification.spip_id.in_(sorted(paused))
        if paused
        else false()
    )
    overdue = Notification.send_at < now - LATE_AFTER
    due, late, kept, oldest = (
        await session.execute(
            select(
                func.count(),
                func.count(case((and_(overdue, ~held), 1))),
                func.count(case((held, 1))),
                func.min(Notification.send_at),
            ).where(planned, Notification.send_at <= now)
        )
    ).one()
    later = await session.scalar(
        select(func.count()).where(
            planned, Notification.send_at > now, Notification.send_at < end_of_day
        )
    )
    lapsed = Notification.lease_expires_at < now
    in_flight, lapsed_late, lapsed_kept = (
        await session.execute(
            select(
                func.count(case((~lapsed, 1))),
                func.count(case((and_(lapsed, ~held), 1))),
                func.count(case((and_(lapsed, held), 1))),
            ).where(Notification.status == SENDING)
        )
    ).one()
    result = Queue(
        due=due,
        later_today=later or 0,
        in_flight=in_flight,
        late=late + lapsed_late,
        held=kept + lapsed_kept,
        oldest_due_at=oldest,
    )
    per_spip = await session.execute(
        select(
            Notification.spip_id,
            Spip.name,
            func.count(),
            func.count(case((Notification.send_at < now - LATE_AFTER, 1))),
        )
        .join(Spip, Spip.id == Notification.spip_id)
        .where(planned, Notification.send_at <= now)
        .group_by(Notification.spip_id, Spip.name)
        .order_by(func.count().desc(), Notification.spip_id)
        .limit(top)
    )
    result.spips = [SpipQueue(i, name, n, lt) for i, name, n, lt in per_spip]
    return result


@dataclass
class ProviderHealth:
    name: str
    order: int | None  # place in the failover order (1 = first); None: no longer configured
    rate_limit: float | None  # messages a second, as configured
    last_15_min: dict[str, int] = field(default_factory=dict)  # outcome → attempts
    last_24_h: dict[str, int] = field(default_factory=dict)
    median_latency_ms: int | None = None  # over the last 15 min
    accepted_24_h: int = 0  # messages accepted in 24 h…
    delivered_24_h: int = 0  # …that a receipt says were delivered

    @property
    def delivered_ratio(self) -> float | None:
        return self.delivered_24_h / self.accepted_24_h if self.accepted_24_h else None


async def providers_health(
    session: AsyncSession,
    now: datetime,
    configured: list[tuple[str, float | None]],
) -> list[ProviderHealth]:
    """Per provider, from the attempts of the last 24 h (index on ``created_at``).

    The circuit breakers live in each worker's memory: what is shown is what the attempts
    say, the same for every worker. ``configured``: (name, rate limit) in failover order.
    """
    health = {
        name: ProviderHealth(name, order, limit)
        for order, (name, limit) in enumerate(configured, start=1)
    }
    since_day, since_recent = now - timedelta(hours=24), now - timedelta(minutes=15)
    counts = await session.execute(
        select(
            NotificationAttempt.provider,
            NotificationAttempt.outcome,
            func.count(),
            func.count(case((NotificationAttempt.created_at >= since_recent, 1))),
        )
        .where(NotificationAttempt.created_at >= since_day)
        .group_by(NotificationAttempt.provider, NotificationAttempt.outcome)
    )
    for provider, outcome, day, recent in counts:
        row = health.setdefault(provider, ProviderHealth(provider, None, None))
        row.last_24_h[outcome] = day
        if recent:
            row.last_15_min[outcome] = recent
    latencies: dict[str, list[int]] = {}
    for provider, latency in await session.execute(
        select(NotificationAttempt.provider, NotificationAttempt.latency_ms).where(
            NotificationAttempt.created_at >= since_recent,
            NotificationAttempt.latency_ms.is_not(None),
        )
    ):
        if latency is not None:
            latencies.setdefault(provider, []).append(latency)
    for provider, values in latencies.items():
        health[provider].median_latency_ms = int(median(values))
    receipts = await session.execute(
        select(
            NotificationAttempt.provider,
            func.count(func.distinct(Notification.id)),
            func.count(
                func.distinct(
                    case(
                        (Notification.status == NotificationStatus.delivered.value, Notification.id)
                    )
                )
            ),
        )
        .join(Notification, Notification.id == NotificationAttempt.notification_id)
        .where(
            NotificationAttempt.created_at >= since_day, NotificationAttempt.outcome == "accepted"
        )
        .group_by(NotificationAttempt.provider)
    )
    for provider, accepted, delivered in receipts:
        health[provider].accepted_24_h, health[provider].delivered_24_h = accepted, delivered
    return sorted(health.values(), key=lambda h: (h.order is None, h.order or 0, h.name))


async def last_ticks(session: AsyncSession, *, limit: int = 20) -> list[DispatchTick]:
    rows = await session.scalars(
        select(DispatchTick)
        .order_by(DispatchTick.started_at.desc(), DispatchTick.id.desc())
        .limit(limit)
    )
    return list(rows)


@dataclass
class Failure:
    notification_id: int
    appointment_id: int
    spip_id: int
    spip_name: str
    kind: str
    status: str
    reason: str | None
    last_error: str | None
    provider: str | None
    at: datetime  # when it failed or expired (the row's last change)


async def failures_filter(
    session: AsyncSession, now: datetime, statuses: tuple[str, ...] = FAILED_OR_EXPIRED
) -> list[ColumnElement[bool]]:
    """The messages failed or expired in the last 24 h. The SPIPs' ids are given as values
    (about a hundred): ``spip_id IN (…)`` walks ``ix_notification_spip_id_send_at`` once per
    SPIP, where ``IN (SELECT …)`` made PostgreSQL scan the whole table."""
    since = now - timedelta(hours=24)
    spip_ids = list(await session.scalars(select(Spip.id).order_by(Spip.id)))
    return [
        Notification.spip_id.in_(spip_ids),
        Notification.send_at >= since - FAILURE_LOOKBACK,
        Notification.status.in_(statuses),
        Notification.updated_at >= since,
    ]


async def failures(
    session: AsyncSession, now: datetime, *, limit: int = 200
) -> tuple[list[Failure], dict[str, int]]:
    """The messages failed or expired in the last 24 h (latest first, at most ``limit``), and
    their count per reason."""
    where = await failures_filter(session, now)
    rows = await session.execute(
        select(Notification, Spip.name)
        .join(Spip, Spip.id == Notification.spip_id)
        .where(and_(*where))
        .order_by(Notification.updated_at.desc(), Notification.id.desc())
        .limit(limit)
    )
    listed = [
        Failure(
            n.id,
            n.appointment_id,
            n.spip_id,
            name,
            n.kind,
            n.status,
            n.reason,
            n.last_error,
            n.provider,
            n.updated_at,
        )
        for n, name in rows
    ]
    by_reason = await session.execute(
        select(Notification.reason, func.count())
        .where(and_(*where))
        .group_by(Notification.reason)
        .order_by(func.count().desc())
    )
    return listed, {reason or "unknown": n for reason, n in by_reason}
