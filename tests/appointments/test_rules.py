"""The lifecycle rules of a convocation, as pure functions of ``now``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.appointments.errors import InvalidTransition
from app.appointments.rules import add_months, check_can_cancel, check_can_record
from app.models import AppointmentStatus as S

START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(datetime(2027, 8, 31, tzinfo=UTC), 6) == datetime(2028, 2, 29, tzinfo=UTC)
    assert add_months(datetime(2027, 12, 15, tzinfo=UTC), 1) == datetime(2028, 1, 15, tzinfo=UTC)


def test_cancel_only_before_start() -> None:
    check_can_cancel(S.booked, START, START - timedelta(minutes=1))
    with pytest.raises(InvalidTransition):
        check_can_cancel(S.booked, START, START)


@pytest.mark.parametrize("status", [S.cancelled, S.honored, S.missed, S.excused])
def test_cancel_only_booked(status: S) -> None:
    with pytest.raises(InvalidTransition):
        check_can_cancel(status, START, START - timedelta(days=1))


@pytest.mark.parametrize("outcome", [S.honored, S.missed])
def test_attendance_only_once_started_and_within_six_months(outcome: S) -> None:
    with pytest.raises(InvalidTransition):
        check_can_record(S.booked, outcome, START, START - timedelta(seconds=1))
    check_can_record(S.booked, outcome, START, START)
    check_can_record(S.booked, outcome, START, datetime(2027, 9, 1, 9, 0, tzinfo=UTC))
    with pytest.raises(InvalidTransition):
        check_can_record(S.booked, outcome, START, datetime(2027, 9, 1, 9, 1, tzinfo=UTC))


def test_excused_before_or_after() -> None:
    check_can_record(S.booked, S.excused, START, START - timedelta(days=10))
    check_can_record(S.booked, S.excused, START, START + timedelta(days=10))


def test_outcome_can_be_corrected_or_withdrawn_but_not_on_cancelled() -> None:
    check_can_record(S.missed, S.honored, START, START + timedelta(days=1))
    check_can_record(S.honored, S.booked, START, START + timedelta(days=1))
    with pytest.raises(InvalidTransition):
        check_can_record(S.booked, S.booked, START, START + timedelta(days=1))
    with pytest.raises(InvalidTransition):
        check_can_record(S.cancelled, S.honored, START, START + timedelta(days=1))
