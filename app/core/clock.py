"""The one place that reads the wall clock, so tests can pin "now"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


_clock: Clock = system_clock


def utcnow() -> datetime:
    return _clock()


def set_clock(clock: Clock) -> None:
    """Replace the clock (tests and demo tooling only)."""
    global _clock
    _clock = clock


def reset_clock() -> None:
    set_clock(system_clock)


def starting_at(instant: datetime, *, now: Clock = system_clock) -> Clock:
    """A clock that reads ``instant`` now and then runs at the wall clock's pace (a server
    started "at" another moment, for browser tests and demonstrations: CONVOC_CLOCK_STARTS_AT)."""
    offset: timedelta = instant.astimezone(UTC) - now()
    return lambda: now() + offset
