"""SMS figures of a period: closed months from ``sms_monthly``, the rest from the messages.

A message belongs to the local day (in its SPIP's zone) of ``send_at``: when it went, or was
due to go. Live figures are one range of ``ix_notification_spip_id_send_at`` per SPIP.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, delete, func, insert, select, text, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.sqlfunc import local_date, month_key, whole_seconds_between
from app.models import (
    AttendanceMonthRefresh,
    Notification,
    SmsDelayMonthly,
    SmsDelayPurged,
    SmsMonthly,
    SmsPurged,
    Spip,
)
from app.reports.periods import covered_months, gaps, month_bounds, whole_months

CountKey = tuple[str | None, str, str]  # provider, kind, status


@dataclass
class SmsFigures:
    """Messages and parts per (provider, kind, status); delivery delays per provider."""

    counts: dict[CountKey, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    delays: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))

    def add_count(self, key: CountKey, messages: int, segments: int) -> None:
        cell = self.counts[key]
        cell[0] += int(messages)
        cell[1] += int(segments)

    def add_delay(self, provider: str, seconds: int, messages: int) -> None:
        self.delays[provider][int(seconds)] += int(messages)


def median(histogram: Mapping[int, int]) -> float | None:
    """The median of values given as value → how many, averaging the two middle ones."""
    total = sum(histogram.values())
    if not total:
        return None
    middle = sorted({(total - 1) // 2, total // 2})
    values: list[int] = []
    seen = 0
    for value in sorted(histogram):
        values += [value for position in middle if seen <= position < seen + histogram[value]]
        seen += histogram[value]
    return round(sum(values) / len(middle), 1)


def _live_where(
    spip_id: int | None, start: date, end: date, appointment_ids: Any = None
) -> list[Any]:
    day = local_date(Notification.send_at, Spip.timezone)
    # A coarse UTC range first (every zone is within ±14 h of UTC) for the index to serve.
    utc_from = datetime.combine(start, time(), tzinfo=UTC) - timedelta(days=1)
    utc_to = datetime.combine(end, time(), tzinfo=UTC) + timedelta(days=2)
    conditions: list[Any] = [
        Notification.send_at >= utc_from,
        Notification.send_at < utc_to,
        day >= start,
        day <= end,
    ]
    if spip_id is not None:
        conditions.append(Notification.spip_id == spip_id)
    if appointment_ids is not None:
        conditions.append(Notification.appointment_id.in_(appointment_ids))
    return conditions


def live_counts_stmt(
    *, spip_id: int | None, start: date, end: date, appointment_ids: Any = None
) -> Select[*tuple[Any, ...]]:
    """Messages and parts per SPIP, month, provider, kind and status (``appointment_ids``: a
    SELECT narrowing them to those convocations' messages, for the retention job's fold)."""
    month = month_key(local_date(Notification.send_at, Spip.timezone))
    return (
        select(
            Notification.spip_id,
            month.label("month"),
            Notification.provider,
            Notification.kind,
            Notification.status,
            func.count(),
            func.coalesce(func.sum(Notification.segments), 0),
        )
        .join(Spip, Spip.id == Notification.spip_id)
        .where(*_live_where(spip_id, start, end, appointment_ids))
        .group_by(text("1"), text("2"), text("3"), text("4"), text("5"))
    )


def live_delays_stmt(
    *, spip_id: int | None, start: date, end: date, appointment_ids: Any = None
) -> Select[*tuple[Any, ...]]:
    month = month_key(local_date(Notification.send_at, Spip.timezone))
    seconds = whole_seconds_between(Notification.sent_at, Notification.delivered_at)
    return (
        select(
            Notification.spip_id, month.label("month"), Notification.provider, seconds, func.count()
        )
        .join(Spip, Spip.id == Notification.spip_id)
        .where(
            *_live_where(spip_id, start, end, appointment_ids),
            Notification.provider.is_not(None),
            Notification.sent_at.is_not(None),
            Notification.delivered_at.is_not(None),
        )
        .group_by(text("1"), text("2"), text("3"), text("4"))
    )


async def figures(
    session: AsyncSession, *, spip_id: int | None, start: date, end: date, now: datetime
) -> SmsFigures:
    """The period's figures, whichever way each month is read."""
    found = SmsFigures()
    months = await covered_months(
        session, start, end, now, marker=AttendanceMonthRefresh.sms_refreshed_at
    )
    if months:
        await _add_aggregated(session, found, spip_id=spip_id, months=months)
    purged_months: list[str] = []
    for live_start, live_end in gaps(start, end, months):
        counts = live_counts_stmt(spip_id=spip_id, start=live_start, end=live_end)
        for _, _, provider, kind, status, messages, segments in await session.execute(counts):
            found.add_count((provider, kind, status), messages, segments)
        delays = live_delays_stmt(spip_id=spip_id, start=live_start, end=live_end)
        for _, _, provider, seconds, messages in await session.execute(delays):
            found.add_delay(provider, seconds, messages)
        purged_months += whole_months(live_start, live_end)
    if purged_months:
        # What the retention job deleted, for whole months the aggregates do not cover (the
        # aggregates already hold it): a month cut in two reads live data only.
        await _add_aggregated(
            session,
            found,
            spip_id=spip_id,
            months=purged_months,
            tables=(SmsPurged, SmsDelayPurged),
        )
    return found


async def _add_aggregated(
    session: AsyncSession,
    found: SmsFigures,
    *,
    spip_id: int | None,
    months: list[str],
    tables: tuple[Any, Any] = (SmsMonthly, SmsDelayMonthly),
) -> None:
    """Add the counts of ``tables`` (the aggregates, or the purged counts: same columns)."""
    m, d = tables
    counts = (
        select(m.provider, m.kind, m.status, func.sum(m.messages), func.sum(m.segments))
        .where(m.month.in_(months))
        .group_by(m.provider, m.kind, m.status)
    )
    delays = (
        select(d.provider, d.seconds, func.sum(d.messages))
        .where(d.month.in_(months))
        .group_by(d.provider, d.seconds)
    )
    if spip_id is not None:
        counts = counts.where(m.spip_id == spip_id)
        delays = delays.where(d.spip_id == spip_id)
    for provider, kind, status, messages, segments in await session.execute(counts):
        found.add_count((provider, kind, status), messages, segments)
    for provider, seconds, messages in await session.execute(delays):
        found.add_delay(provider, seconds, messages)


async def rebuild(session: AsyncSession, *, months: list[str]) -> None:
    """Recompute the SMS aggregates of these (closed) months, every SPIP, in one pass: the
    live messages plus the counts the retention job kept of those it deleted."""
    if not months:
        return
    await session.execute(delete(SmsMonthly).where(SmsMonthly.month.in_(months)))
    await session.execute(delete(SmsDelayMonthly).where(SmsDelayMonthly.month.in_(months)))
    wanted = set(months)
    start, end = month_bounds(min(months))[0], month_bounds(max(months))[1]
    counts: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
    p, pd = SmsPurged, SmsDelayPurged
    purged_counts = (
        select(p.spip_id, p.month, p.provider, p.kind, p.status, func.sum(p.messages),
               func.sum(p.segments))
        .where(p.month.in_(months))
        .group_by(p.spip_id, p.month, p.provider, p.kind, p.status)
    )  # fmt: skip
    # Live and purged in one statement each time, so one snapshot (see attendance's rebuild).
    live_and_purged = union_all(live_counts_stmt(spip_id=None, start=start, end=end), purged_counts)
    for spip_id, month, provider, kind, status, n, g in await session.execute(live_and_purged):
        if month in wanted:
            cell = counts[(spip_id, month, provider, kind, status)]
            cell[0] += int(n)
            cell[1] += int(g)
    delays: dict[tuple[Any, ...], int] = defaultdict(int)
    purged_delays = (
        select(pd.spip_id, pd.month, pd.provider, pd.seconds, func.sum(pd.messages))
        .where(pd.month.in_(months))
        .group_by(pd.spip_id, pd.month, pd.provider, pd.seconds)
    )
    both = union_all(live_delays_stmt(spip_id=None, start=start, end=end), purged_delays)
    for spip_id, month, provider, seconds, n in await session.execute(both):
        if month in wanted:
            delays[(spip_id, month, provider, int(seconds))] += int(n)
    if counts:
        await session.execute(
            insert(SmsMonthly),
            [
                {"spip_id": spip_id, "month": month, "provider": provider, "kind": kind,
                 "status": status, "messages": n, "segments": g}
                for (spip_id, month, provider, kind, status), (n, g) in counts.items()
            ],
        )  # fmt: skip
    if delays:
        await session.execute(
            insert(SmsDelayMonthly),
            [
                {"spip_id": spip_id, "month": month, "provider": provider, "seconds": seconds,
                 "messages": n}
                for (spip_id, month, provider, seconds), n in delays.items()
            ],
        )  # fmt: skip
