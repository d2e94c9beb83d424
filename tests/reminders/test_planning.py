"""The planner, pure: local-time rules, the send window, late bookings, DST and overseas zones."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.reminders.planning import (
    DEFAULT_POLICY,
    DaysBefore,
    HoursBefore,
    Policy,
    Window,
    in_window,
    next_in_window,
    plan_notice,
    plan_reminders,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def local(tz: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tz)).astimezone(UTC)  # type: ignore[misc]


def only_planned(tz: str, starts_at: datetime, now: datetime, policy: Policy = DEFAULT_POLICY):  # type: ignore[no-untyped-def]
    return [
        r.send_at
        for r in plan_reminders(starts_at=starts_at, tz=ZoneInfo(tz), policy=policy, now=now)
        if r.planned
    ]


EARLY = utc(2027, 1, 1, 0, 0)


def test_cayenne_reminder_is_at_ten_local_not_paris_time() -> None:
    # 09:00 in Cayenne on 29 March: J-2 10:00 is 27 March 10:00 -03:00 = 13:00Z.
    starts = local("America/Cayenne", 2027, 3, 29, 9, 0)
    assert only_planned("America/Cayenne", starts, EARLY) == [utc(2027, 3, 27, 13, 0)]


def test_reunion_reminder() -> None:
    starts = local("Indian/Reunion", 2027, 3, 29, 9, 0)
    assert only_planned("Indian/Reunion", starts, EARLY) == [utc(2027, 3, 27, 6, 0)]


def test_noumea_local_date_is_not_the_utc_date() -> None:
    # 08:00 on Monday 29 March in Nouméa is Sunday 28 March 21:00Z: J-2 is the 27th *local*.
    starts = local("Pacific/Noumea", 2027, 3, 29, 8, 0)
    assert starts == utc(2027, 3, 28, 21, 0)
    assert only_planned("Pacific/Noumea", starts, EARLY) == [utc(2027, 3, 26, 23, 0)]


def test_tahiti_reminder() -> None:
    starts = local("Pacific/Tahiti", 2027, 3, 29, 16, 0)  # 30 March 02:00Z
    assert only_planned("Pacific/Tahiti", starts, EARLY) == [utc(2027, 3, 27, 20, 0)]


def test_miquelon_reminder_across_its_dst_change() -> None:
    # DST starts 14 March 2027 in Miquelon: convocation at -02:00, reminder at -03:00.
    starts = local("America/Miquelon", 2027, 3, 15, 9, 0)
    assert starts == utc(2027, 3, 15, 11, 0)
    assert only_planned("America/Miquelon", starts, EARLY) == [utc(2027, 3, 13, 13, 0)]


def test_paris_spring_forward_day() -> None:
    # Convocation Tuesday 30 March 09:00 (+02:00); J-2 is Sunday 28 March (DST day), 10:00 +02:00.
    starts = local("Europe/Paris", 2027, 3, 30, 9, 0)
    assert only_planned("Europe/Paris", starts, EARLY) == [utc(2027, 3, 28, 8, 0)]
    # An hours-before rule counts real hours across the change.
    policy = Policy((HoursBefore(24),), DEFAULT_POLICY.window, timedelta(hours=1))
    starts = local("Europe/Paris", 2027, 3, 28, 12, 0)  # 10:00Z
    assert only_planned("Europe/Paris", starts, EARLY, policy) == [utc(2027, 3, 27, 10, 0)]


def test_paris_fall_back_day() -> None:
    starts = local("Europe/Paris", 2027, 11, 2, 9, 0)  # J-2 = Sunday 31 October, 10:00 +01:00
    assert only_planned("Europe/Paris", starts, EARLY) == [utc(2027, 10, 31, 9, 0)]
    # A rule at 02:30 (which happens twice that night) is clamped into the 08:00-20:00 window.
    policy = Policy((DaysBefore(2, time(2, 30)),), DEFAULT_POLICY.window, timedelta(hours=1))
    planned = only_planned("Europe/Paris", starts, EARLY, policy)
    assert planned == [local("Europe/Paris", 2027, 10, 30, 20, 0)]


def test_time_outside_window_moves_to_end_of_previous_window() -> None:
    policy = Policy((HoursBefore(3),), Window(time(8), time(20)), timedelta(hours=1))
    starts = local("Europe/Paris", 2027, 3, 10, 9, 0)  # H-3 = 06:00, before the window opens
    assert only_planned("Europe/Paris", starts, EARLY, policy) == [
        local("Europe/Paris", 2027, 3, 9, 20, 0)
    ]
    starts = local("Europe/Paris", 2027, 3, 10, 23, 30)  # H-3 = 20:30, after it closes
    assert only_planned("Europe/Paris", starts, EARLY, policy) == [
        local("Europe/Paris", 2027, 3, 10, 20, 0)
    ]


def test_never_after_the_minimum_lead() -> None:
    policy = Policy((HoursBefore(0.5),), Window(time(8), time(20)), timedelta(hours=1))
    starts = local("Europe/Paris", 2027, 3, 10, 15, 0)
    [reminder] = plan_reminders(
        starts_at=starts, tz=ZoneInfo("Europe/Paris"), policy=policy, now=EARLY
    )
    assert reminder.send_at == local("Europe/Paris", 2027, 3, 10, 14, 0)
    assert reminder.send_not_after == reminder.send_at


def test_late_booking_collapses_past_rules_into_one_catch_up() -> None:
    policy = Policy(
        (DaysBefore(3, time(10)), DaysBefore(2, time(10))),
        Window(time(8), time(20)),
        timedelta(hours=1),
    )
    starts = local("Europe/Paris", 2027, 3, 10, 9, 0)
    now = local("Europe/Paris", 2027, 3, 9, 7, 0)  # both rules passed; window opens at 08:00
    reminders = plan_reminders(
        starts_at=starts, tz=ZoneInfo("Europe/Paris"), policy=policy, now=now
    )
    assert [(r.rule, r.skipped_reason) for r in reminders] == [
        ("J-3 10:00", "collapsed"),
        ("J-2 10:00", None),
    ]
    assert reminders[1].send_at == local("Europe/Paris", 2027, 3, 9, 8, 0)


def test_late_booking_too_late() -> None:
    starts = local("Europe/Paris", 2027, 3, 10, 8, 30)
    now = local("Europe/Paris", 2027, 3, 9, 22, 0)  # next window opens 08:00, after 07:30 deadline
    [reminder] = plan_reminders(
        starts_at=starts, tz=ZoneInfo("Europe/Paris"), policy=DEFAULT_POLICY, now=now
    )
    assert reminder.skipped_reason == "too_late"


def test_summons_covers_past_due_and_nearby_reminders() -> None:
    starts = local("Europe/Paris", 2027, 3, 10, 15, 0)
    now = local("Europe/Paris", 2027, 3, 9, 11, 0)  # J-2 10:00 on the 8th has passed
    reminders = plan_reminders(
        starts_at=starts,
        tz=ZoneInfo("Europe/Paris"),
        policy=DEFAULT_POLICY,
        now=now,
        announced_at=now,
    )
    assert [r.skipped_reason for r in reminders] == ["covered_by_summons"]
    policy = Policy((HoursBefore(27.5),), DEFAULT_POLICY.window, timedelta(hours=1))
    near = plan_reminders(
        starts_at=starts, tz=ZoneInfo("Europe/Paris"), policy=policy, now=now, announced_at=now
    )  # due at 11:30, 30 minutes after the summons: one SMS is enough
    assert [r.skipped_reason for r in near] == ["covered_by_summons"]


def test_two_rules_landing_together_send_one_sms() -> None:
    policy = Policy(
        (HoursBefore(0.5), HoursBefore(0.25)), DEFAULT_POLICY.window, timedelta(hours=1)
    )
    starts = local("Europe/Paris", 2027, 3, 10, 15, 0)
    reminders = plan_reminders(
        starts_at=starts, tz=ZoneInfo("Europe/Paris"), policy=policy, now=EARLY
    )
    assert sorted(r.skipped_reason or "planned" for r in reminders) == ["planned", "too_close"]


def test_a_later_reminder_supersedes_past_due_ones() -> None:
    policy = Policy(
        (DaysBefore(7, time(10)), DaysBefore(1, time(10))),
        DEFAULT_POLICY.window,
        timedelta(hours=1),
    )
    starts = local("Europe/Paris", 2027, 3, 10, 15, 0)
    now = local("Europe/Paris", 2027, 3, 5, 12, 0)
    reminders = plan_reminders(
        starts_at=starts, tz=ZoneInfo("Europe/Paris"), policy=policy, now=now
    )
    assert [r.skipped_reason for r in reminders] == ["superseded", None]


def test_notice_waits_for_the_window_and_respects_its_deadline() -> None:
    tz = ZoneInfo("America/Cayenne")
    window = DEFAULT_POLICY.window
    night = local("America/Cayenne", 2027, 3, 9, 22, 0)
    assert plan_notice(
        now=night, not_after=night + timedelta(days=1), window=window, tz=tz
    ) == local("America/Cayenne", 2027, 3, 10, 8, 0)
    assert (
        plan_notice(now=night, not_after=night + timedelta(hours=2), window=window, tz=tz) is None
    )


ZONES = [
    "Europe/Paris",
    "America/Cayenne",
    "Indian/Reunion",
    "Indian/Mayotte",
    "America/Guadeloupe",
    "America/Martinique",
    "America/Miquelon",
    "Pacific/Tahiti",
    "Pacific/Marquesas",
    "Pacific/Noumea",
    "Pacific/Wallis",
]
rules = st.one_of(
    st.builds(
        DaysBefore, st.integers(0, 14), st.times().map(lambda t: t.replace(second=0, microsecond=0))
    ),
    st.builds(HoursBefore, st.floats(0.25, 96).map(lambda h: round(h * 4) / 4)),
)
windows = (
    st.tuples(st.integers(0, 22), st.integers(1, 23))
    .filter(lambda w: w[0] < w[1])
    .map(lambda w: Window(time(w[0]), time(w[1])))
)


@settings(max_examples=400, deadline=None)
@given(
    zone_name=st.sampled_from(ZONES),
    starts_offset=st.integers(0, 400 * 24 * 60),
    booked_before=st.integers(0, 30 * 24 * 60),
    policy_rules=st.lists(rules, min_size=1, max_size=3),
    window=windows,
    lead_minutes=st.integers(0, 240),
    announced=st.booleans(),
)
def test_no_planned_message_outside_window_or_after_deadline(
    zone_name: str,
    starts_offset: int,
    booked_before: int,
    policy_rules: list[DaysBefore | HoursBefore],
    window: Window,
    lead_minutes: int,
    announced: bool,
) -> None:
    tz = ZoneInfo(zone_name)
    starts = utc(2026, 11, 1) + timedelta(minutes=starts_offset)
    now = starts - timedelta(minutes=booked_before)
    policy = Policy(tuple(policy_rules), window, timedelta(minutes=lead_minutes))
    announced_at = next_in_window(now, window, tz) if announced else None
    reminders = plan_reminders(
        starts_at=starts, tz=tz, policy=policy, now=now, announced_at=announced_at
    )
    assert len(reminders) == len(policy_rules)
    planned = sorted(r.send_at for r in reminders if r.planned)
    for send_at in planned:
        assert in_window(send_at, window, tz)
        assert send_at <= starts - policy.min_lead
        assert send_at >= now
    assert all(b - a >= timedelta(hours=1) for a, b in itertools.pairwise(planned))


@pytest.mark.parametrize("zone_name", ZONES)
def test_window_bounds_hold_on_every_day_of_a_year(zone_name: str) -> None:
    tz = ZoneInfo(zone_name)
    window = Window(time(8), time(20))
    instant = utc(2027, 1, 1, 0, 17)
    while instant < utc(2028, 1, 1):
        assert in_window(next_in_window(instant, window, tz), window, tz)
        instant += timedelta(hours=7, minutes=13)
