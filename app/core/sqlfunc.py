"""Portable SQL for local calendars: the local date of a UTC instant in an IANA zone.

PostgreSQL converts natively (``timezone(zone, instant)``). SQLite knows no time zones, so Convoc
registers a small deterministic Python function on each SQLite connection (``app.db``).
Grouping keys (month, ISO week) are computed in SQL on that local date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class local_date(FunctionElement[date]):
    """``local_date(instant_column, zone_column)`` → the calendar date there."""

    type = Date()
    inherit_cache = True
    name = "local_date"


class month_key(FunctionElement[str]):
    """'YYYY-MM' of a date."""

    type = String()
    inherit_cache = True
    name = "month_key"


class week_key(FunctionElement[str]):
    """The Monday ('YYYY-MM-DD') of the ISO week of a date."""

    type = String()
    inherit_cache = True
    name = "week_key"


def _args(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> list[str]:
    return [compiler.process(c, **kw) for c in element.clauses]


@compiles(local_date, "postgresql")
def _local_date_pg(element: local_date, compiler: SQLCompiler, **kw: Any) -> str:
    instant, zone = _args(element, compiler, **kw)
    return f"CAST(timezone({zone}, {instant}) AS DATE)"


@compiles(local_date, "sqlite")
def _local_date_sqlite(element: local_date, compiler: SQLCompiler, **kw: Any) -> str:
    instant, zone = _args(element, compiler, **kw)
    return f"convoc_local_date({instant}, {zone})"


@compiles(month_key, "postgresql")
def _month_pg(element: month_key, compiler: SQLCompiler, **kw: Any) -> str:
    (day,) = _args(element, compiler, **kw)
    return f"to_char({day}, 'YYYY-MM')"


@compiles(month_key, "sqlite")
def _month_sqlite(element: month_key, compiler: SQLCompiler, **kw: Any) -> str:
    (day,) = _args(element, compiler, **kw)
    return f"strftime('%Y-%m', {day})"


@compiles(week_key, "postgresql")
def _week_pg(element: week_key, compiler: SQLCompiler, **kw: Any) -> str:
    (day,) = _args(element, compiler, **kw)
    return f"to_char(date_trunc('week', {day}), 'YYYY-MM-DD')"


@compiles(week_key, "sqlite")
def _week_sqlite(element: week_key, compiler: SQLCompiler, **kw: Any) -> str:
    (day,) = _args(element, compiler, **kw)
    return f"date({day}, '-' || ((CAST(strftime('%w', {day}) AS INTEGER) + 6) % 7) || ' days')"


class whole_seconds_between(FunctionElement[int]):
    """``whole_seconds_between(earlier, later)`` → the seconds between two instants, rounded."""

    type = Integer()
    inherit_cache = True
    name = "whole_seconds_between"


@compiles(whole_seconds_between, "postgresql")
def _seconds_pg(element: whole_seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    earlier, later = _args(element, compiler, **kw)
    return f"CAST(round(extract(epoch FROM {later} - {earlier})) AS INTEGER)"


@compiles(whole_seconds_between, "sqlite")
def _seconds_sqlite(element: whole_seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    earlier, later = _args(element, compiler, **kw)
    return f"CAST(round((julianday({later}) - julianday({earlier})) * 86400.0) AS INTEGER)"


def sqlite_local_date(instant: str | None, zone: str | None) -> str | None:
    """The SQLite side of ``local_date``: instants are stored as naive UTC text there."""
    if instant is None or zone is None:
        return None
    moment = datetime.fromisoformat(instant).replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(zone)).date().isoformat()
