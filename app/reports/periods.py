"""Report periods: local calendar months, and which of them the monthly aggregates cover."""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AttendanceMonthRefresh


def month_bounds(month: str) -> tuple[date, date]:
    year, number = (int(part) for part in month.split("-"))
    return date(year, number, 1), date(year, number, calendar.monthrange(year, number)[1])


def months_between(start: date, end: date) -> list[str]:
    months, cursor = [], date(start.year, start.month, 1)
    while cursor <= end:
        months.append(f"{cursor:%Y-%m}")
        cursor = (cursor + timedelta(days=32)).replace(day=1)
    return months


def whole_months(start: date, end: date) -> list[str]:
    """The months lying wholly inside ``start``..``end``."""
    return [
        m
        for m in months_between(start, end)
        if month_bounds(m)[0] >= start and month_bounds(m)[1] <= end
    ]


def closed_before(now: datetime) -> str:
    """The first month still open somewhere: a day later than UTC's, for the zones behind it."""
    return f"{(now - timedelta(days=1)).date():%Y-%m}"


async def covered_months(
    session: AsyncSession, start: date, end: date, now: datetime, *, marker: Any
) -> list[str]:
    """Whole months of the period, closed everywhere, whose aggregates were built.

    ``marker`` is the refresh column of the aggregates asked about (attendance or SMS).
    """
    first_open = closed_before(now)
    candidates = [
        m
        for m in months_between(start, end)
        if month_bounds(m)[0] >= start and month_bounds(m)[1] <= end and m < first_open
    ]
    if not candidates:
        return []
    covered = await session.scalars(
        select(AttendanceMonthRefresh.month).where(
            AttendanceMonthRefresh.month.in_(candidates), marker.is_not(None)
        )
    )
    return sorted(covered)


def gaps(start: date, end: date, covered: list[str]) -> list[tuple[date, date]]:
    """The stretches of the period that the covered months leave to live data."""
    found, cursor = [], start
    for month in covered:
        first, last = month_bounds(month)
        if cursor < first:
            found.append((cursor, first - timedelta(days=1)))
        cursor = last + timedelta(days=1)
    if cursor <= end:
        found.append((cursor, end))
    return found
