"""The one place that reads the wall clock, so tests can pin "now"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

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
