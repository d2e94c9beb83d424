"""Pure rules for opening slots: which days, which instants. No database, no clock.

A slot type says « every Tuesday at 9:00 » in the place's local time; each occurrence is read in
the place's zone on its own day, so 9:00 stays 9:00 across DST while its UTC instant moves.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.core.holidays import public_holiday
from app.core.localtime import AmbiguousLocalTime, NonexistentLocalTime, to_utc

log = logging.getLogger("convoc.agendas")


def is_open_day(day: date, territory: str | None) -> bool:
    """Whether generated slots open on ``day`` at a place of holiday ``territory``: not on its
    public holidays (``app.core.holidays``). One-off and batch slots may still be opened on one:
    an agent chose that day."""
    return public_holiday(day, territory) is None


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months (31 August + 6 months: the last day of February)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Recurrence:
    weekday: int  # ISO: 1 Monday … 7 Sunday
    start_time: time
    from_date: date
    to_date: date | None


def days_of(recurrence: Recurrence, first: date, last: date) -> Iterator[date]:
    """The days of ``recurrence`` within [first, last] and its own validity."""
    start = max(first, recurrence.from_date)
    end = last if recurrence.to_date is None else min(last, recurrence.to_date)
    day = start + timedelta(days=(recurrence.weekday - start.isoweekday()) % 7)
    while day <= end:
        yield day
        day += timedelta(days=7)


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime | None:
    """The UTC instant of ``at`` on ``day`` in ``tz``; None when that wall time does not exist
    (spring gap) or happens twice (autumn fold). Booking refuses such a time rather than guess
    (``app.core.localtime.to_utc``); generation does the same and skips that one occurrence."""
    try:
        return to_utc(datetime.combine(day, at), tz)
    except (NonexistentLocalTime, AmbiguousLocalTime):
        return None


def occurrences(
    recurrence: Recurrence, *, first: date, last: date, territory: str | None, tz: ZoneInfo
) -> list[datetime]:
    """The UTC instants of ``recurrence`` between two local days, open days only."""
    instants = []
    for day in days_of(recurrence, first, last):
        if not is_open_day(day, territory):
            continue
        instant = local_instant(day, recurrence.start_time, tz)
        if instant is None:
            log.warning("agendas.occurrence_skipped_dst day=%s zone=%s", day, tz.key)
            continue
        instants.append(instant)
    return instants
