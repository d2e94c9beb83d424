"""SMS and data-quality reports."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Float, and_, cast, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import utcnow
from app.core.sqlfunc import local_date
from app.models import SENT_STATUSES, Agent, Appointment, Notification, Person, Spip
from app.reports.schemas import (
    ProviderStats,
    SmsReport,
    SmsRow,
    UnrecordedReport,
    UnrecordedRow,
)

CENT = Decimal("0.01")


def _in_period(spip_id: int | None, start: date, end: date) -> list[Any]:
    day = local_date(Notification.send_at, Spip.timezone)
    conditions: list[Any] = [day >= start, day <= end]
    if spip_id is not None:
        conditions.append(Appointment.spip_id == spip_id)
    return conditions


def _base(*columns: Any) -> Any:
    return (
        select(*columns)
        .select_from(Notification)
        .join(Appointment, Appointment.id == Notification.appointment_id)
        .join(Spip, Spip.id == Appointment.spip_id)
    )


async def sms_report(
    session: AsyncSession, *, spip_id: int | None, start: date, end: date, price: float
) -> SmsReport:
    where = _in_period(spip_id, start, end)
    grouped = (
        _base(
            Notification.provider,
            Notification.kind,
            Notification.status,
            func.count(),
            func.coalesce(func.sum(Notification.segments), 0),
        )
        .where(*where)
        .group_by(Notification.provider, Notification.kind, Notification.status)
    )
    rows = [
        SmsRow(provider=p, kind=k, status=s, messages=n, segments=g)
        for p, k, s, n, g in await session.execute(grouped)
    ]
    providers = []
    for provider in sorted({r.provider for r in rows if r.provider}):
        mine = [r for r in rows if r.provider == provider and r.status in SENT_STATUSES]
        sent = sum(r.messages for r in mine)
        delivered = sum(r.messages for r in mine if r.status == "delivered")
        segments = sum(r.segments for r in mine)
        providers.append(
            ProviderStats(
                provider=provider,
                sent=sent,
                delivered=delivered,
                delivery_rate=round(delivered / sent, 4) if sent else None,
                segments=segments,
                estimated_cost_eur=float(
                    (Decimal(segments) * Decimal(str(price))).quantize(CENT, ROUND_HALF_UP)
                ),
                median_seconds_to_delivery=await _median_delay(session, provider, where),
            )
        )
    return SmsReport(
        spip_id=spip_id,
        start=start,
        end=end,
        rows=rows,
        providers=providers,
        price_per_segment_eur=price,
    )


async def _median_delay(session: AsyncSession, provider: str, where: list[Any]) -> float | None:
    """Median seconds from acceptance to delivery, computed by the database."""
    filters = [
        *where,
        Notification.provider == provider,
        Notification.delivered_at.is_not(None),
        Notification.sent_at.is_not(None),
    ]
    if (await session.connection()).dialect.name == "postgresql":
        seconds = func.extract("epoch", Notification.delivered_at - Notification.sent_at)
        stmt = _base(func.percentile_cont(0.5).within_group(seconds)).where(*filters)
        value = await session.scalar(stmt)
        return round(float(value), 1) if value is not None else None
    # SQLite: the middle row(s) of the ordered delays.
    delay = (
        func.julianday(Notification.delivered_at) - func.julianday(Notification.sent_at)
    ) * 86400.0
    count = await session.scalar(_base(func.count()).where(*filters)) or 0
    if not count:
        return None
    middle = _base(cast(delay, Float).label("s")).where(*filters).order_by(text("s"))
    middle = middle.limit(2 - count % 2).offset((count - 1) // 2).subquery()
    value = await session.scalar(select(func.avg(middle.c.s)))
    return round(float(value), 1) if value is not None else None


async def unrecorded(
    session: AsyncSession, *, spip_id: int | None, older_than_days: int = 7
) -> UnrecordedReport:
    """Past convocations still without an outcome after a week, per agent (oldest first)."""
    limit = utcnow() - timedelta(days=older_than_days)
    stmt = (
        select(Appointment.agent_id, Agent.name, func.count(), func.min(Appointment.starts_at))
        .outerjoin(Agent, Agent.id == Appointment.agent_id)
        .where(and_(Appointment.status == "booked", Appointment.starts_at < limit))
        .group_by(Appointment.agent_id, Agent.name)
        .order_by(func.min(Appointment.starts_at))
    )
    if spip_id is not None:
        stmt = stmt.where(Appointment.spip_id == spip_id)
    rows = [
        UnrecordedRow(agent_id=a, agent_name=n, count=c, oldest_starts_at=_iso(oldest))
        for a, n, c, oldest in await session.execute(stmt)
    ]
    return UnrecordedReport(spip_id=spip_id, older_than_days=older_than_days, rows=rows)


def _iso(value: datetime | str) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


async def numbers_to_check(session: AsyncSession, *, spip_id: int | None) -> int:
    """Persons (not archived) whose number a provider refused: flagged « à vérifier »."""
    stmt = (
        select(func.count())
        .select_from(Person)
        .where(Person.phone_problem.is_not(None), Person.archived.is_(False))
    )
    if spip_id is not None:
        stmt = stmt.where(Person.spip_id == spip_id)
    return await session.scalar(stmt) or 0
