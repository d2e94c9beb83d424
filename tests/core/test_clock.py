"""The injectable clock, and the setting that starts a server's clock at another instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from app.config import Settings
from app.core.clock import starting_at


def test_a_clock_started_elsewhere_reads_that_instant_then_runs_on() -> None:
    wall = [datetime(2026, 12, 2, 17, 0, tzinfo=UTC)]
    clock = starting_at(datetime.fromisoformat("2027-03-29T09:05:00-03:00"), now=lambda: wall[0])
    assert clock() == datetime(2027, 3, 29, 12, 5, tzinfo=UTC)
    wall[0] += timedelta(minutes=3)
    assert clock() == datetime(2027, 3, 29, 12, 8, tzinfo=UTC)


def test_the_setting_needs_an_offset_and_is_refused_in_production() -> None:
    assert Settings(clock_starts_at="2027-03-29T12:05:00Z").clock_starts_at == datetime(
        2027, 3, 29, 12, 5, tzinfo=UTC
    )
    with pytest.raises(ValidationError, match="décalage"):
        Settings(clock_starts_at="2027-03-29T12:05:00")
    with pytest.raises(ValidationError, match="refusé en production"):
        Settings(env="production", secret_key="s" * 40, clock_starts_at="2027-03-29T12:05:00Z")
