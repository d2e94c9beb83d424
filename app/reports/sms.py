"""SMS and data-quality reports."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import utcnow
from app.models import SENT_STATUSES, Agent, Appointment, AppointmentStatus, Person, has_status
from app.reports import sms_aggregates
from app.reports.schemas import (
    ProviderStats,
    SmsReport,
    SmsRow,
    UnrecordedReport,
    UnrecordedRow,
)

CENT = Decimal("0.01")


async def sms_report(
    session: AsyncSession, *, spip_id: int | None, start: date, end: date, price: float
) -> SmsReport:
    found = await sms_aggregates.figures(
        session, spip_id=spip_id, start=start, end=end, now=utcnow()
    )
    rows = [
        SmsRow(provider=p, kind=k, status=s, messages=n, segments=g)
        for (p, k, s), (n, g) in sorted(found.counts.items(), key=lambda kv: _order(kv[0]))
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
                median_seconds_to_delivery=sms_aggregates.median(found.delays.get(provider, {})),
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


def _order(key: sms_aggregates.CountKey) -> tuple[str, str, str]:
    provider, kind, status = key
    return provider or "", kind, status


async def unrecorded(
    session: AsyncSession, *, spip_id: int | None, older_than_days: int = 7
) -> UnrecordedReport:
    """Past convocations still without an outcome after a week, per agent (oldest first)."""
    limit = utcnow() - timedelta(days=older_than_days)
    stmt = (
        select(Appointment.agent_id, Agent.name, func.count(), func.min(Appointment.starts_at))
        .outerjoin(Agent, Agent.id == Appointment.agent_id)
        .where(has_status(AppointmentStatus.booked), Appointment.starts_at < limit)
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
