"""The planner, pure: local-time rules, the send window, late bookings, DST and overseas zones."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.models import AppointmentStatus, NotificationKind
from app.reminders.planning import (
    DEFAULT_POLICY,
    DEFAULT_TOLERATED,
    SEND_MARGIN,
    DaysBefore,
    HoursBefore,
    Notice,
    Policy,
    Window,
    dispatch_moment,
    in_window,
    kinds_for,
    next_in_window,
    plan_notice,
    plan_reminders,
    still_relevant,
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


def test_never_after_the_minimum_lead_and_a_dispatch_margin_before_it() -> None:
    policy = Policy((HoursBefore(0.5),), Window(time(8), time(20)), timedelta(hours=1))
    starts = local("Europe/Paris", 2027, 3, 10, 15, 0)
    [reminder] = plan_reminders(
        starts_at=starts, tz=ZoneInfo("Europe/Paris"), policy=policy, now=EARLY
    )
    assert reminder.send_not_after == local("Europe/Paris", 2027, 3, 10, 14, 0)
    assert reminder.send_at == reminder.send_not_after - SEND_MARGIN


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


def test_late_catch_up_goes_in_the_tolerated_hours_or_is_skipped_with_its_reason() -> None:
    tz = ZoneInfo("Europe/Paris")
    starts = local("Europe/Paris", 2027, 3, 10, 8, 30)  # deadline 07:30, window opens 08:00
    now = local("Europe/Paris", 2027, 3, 9, 22, 0)  # still in the tolerated 07:00-22:00
    [reminder] = plan_reminders(starts_at=starts, tz=tz, policy=DEFAULT_POLICY, now=now)
    assert (reminder.send_at, reminder.skipped_reason) == (now, None)
    later = local("Europe/Paris", 2027, 3, 9, 23, 0)  # waits for the tolerated 07:00
    [reminder] = plan_reminders(starts_at=starts, tz=tz, policy=DEFAULT_POLICY, now=later)
    assert (reminder.send_at, reminder.skipped_reason) == (
        local("Europe/Paris", 2027, 3, 10, 7, 0),
        None,
    )
    early = local("Europe/Paris", 2027, 3, 10, 7, 30)  # deadline 06:30: no tolerated hour left
    [reminder] = plan_reminders(starts_at=early, tz=tz, policy=DEFAULT_POLICY, now=later)
    assert reminder.skipped_reason == "window_closed"
    close = local("Europe/Paris", 2027, 3, 10, 7, 29)  # one minute before the deadline
    [reminder] = plan_reminders(starts_at=starts, tz=tz, policy=DEFAULT_POLICY, now=close)
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
    night = local("America/Cayenne", 2027, 3, 9, 23, 0)
    assert plan_notice(
        now=night, not_after=night + timedelta(days=1), window=window, tz=tz
    ) == Notice(local("America/Cayenne", 2027, 3, 10, 8, 0))
    # The send window opens too late, the tolerated one (07:00-22:00) in time: 07:00.
    assert plan_notice(
        now=night, not_after=local("America/Cayenne", 2027, 3, 10, 8, 0), window=window, tz=tz
    ) == Notice(local("America/Cayenne", 2027, 3, 10, 7, 0))
    assert plan_notice(
        now=night, not_after=night + timedelta(hours=2), window=window, tz=tz
    ) == Notice(night, "window_closed")
    assert plan_notice(
        now=night, not_after=night + timedelta(minutes=1), window=window, tz=tz
    ) == Notice(night, "too_late")


def test_notice_that_cannot_wait_for_the_window_goes_at_once_in_the_tolerated_hours() -> None:
    # 21:00 Paris, convocation tomorrow 09:00: the window opens at 08:00 = the deadline.
    tz = ZoneInfo("Europe/Paris")
    now = local("Europe/Paris", 2027, 1, 15, 21, 0)
    deadline = local("Europe/Paris", 2027, 1, 16, 8, 0)
    window = DEFAULT_POLICY.window
    assert plan_notice(now=now, not_after=deadline, window=window, tz=tz) == Notice(now)
    # The dispatcher agrees: it sends it now, neither defers nor expires it.
    assert (
        dispatch_moment(
            now=now, not_after=deadline, window=window, tolerated=DEFAULT_TOLERATED, tz=tz
        )
        == now
    )
    # Claimed a few seconds late, in the margin's last minutes: still sent, not expired.
    late = deadline - timedelta(seconds=30)
    assert (
        dispatch_moment(
            now=late, not_after=deadline, window=window, tolerated=DEFAULT_TOLERATED, tz=tz
        )
        == late
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


def _clock(low: int, high: int) -> st.SearchStrategy[int]:
    """Minutes of the day, from ``low`` to ``high`` included."""
    return st.integers(low, high)


def _hhmm(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


@st.composite
def hours(draw: st.DrawFn) -> tuple[Window, Window]:
    """A send window and a tolerated window that contains it."""
    start = draw(_clock(0, 22 * 60))
    end = draw(_clock(start + 1, 23 * 60 + 59))
    tolerated_start = draw(_clock(0, start))
    tolerated_end = draw(_clock(end, 23 * 60 + 59))
    return (
        Window(_hhmm(start), _hhmm(end)),
        Window(_hhmm(tolerated_start), _hhmm(tolerated_end)),
    )


# Convocations spread over a year, and around each DST change (Paris, Miquelon) of 2027.
ANCHORS = [
    utc(2026, 11, 1),
    utc(2027, 3, 14, 6),
    utc(2027, 3, 28, 1),
    utc(2027, 10, 31, 1),
    utc(2027, 11, 7, 5),
]
starts_times = st.one_of(
    st.integers(0, 400 * 24 * 60).map(lambda m: ANCHORS[0] + timedelta(minutes=m)),
    st.tuples(st.sampled_from(ANCHORS[1:]), st.integers(-3 * 24 * 60, 3 * 24 * 60)).map(
        lambda a: a[0] + timedelta(minutes=a[1])
    ),
)
# Booked from a few minutes to a month before, often the evening before.
lead_times = st.one_of(st.integers(0, 48 * 60), st.integers(0, 30 * 24 * 60))


def _assert_goes(
    send_at: datetime, now: datetime, not_after: datetime, policy: Policy, tz: ZoneInfo
) -> None:
    """A planned message: not in the past, a dispatch margin before its deadline, in the send
    window (or, when that leaves no moment, the tolerated one); sent by the dispatcher when due."""
    assert now <= send_at
    assert send_at + SEND_MARGIN <= not_after
    if not in_window(send_at, policy.window, tz):
        assert in_window(send_at, policy.tolerated, tz)
        assert next_in_window(now, policy.window, tz) + SEND_MARGIN > not_after
    moment = dispatch_moment(
        now=send_at, not_after=not_after, window=policy.window, tolerated=policy.tolerated, tz=tz
    )
    assert moment == send_at  # neither deferred nor expired at its own moment


def _assert_reason(
    reason: str | None, now: datetime, not_after: datetime, policy: Policy, tz: ZoneInfo
) -> None:
    if reason == "too_late":
        assert now + SEND_MARGIN > not_after
    elif reason == "window_closed":
        assert now + SEND_MARGIN <= not_after
        for window in (policy.window, policy.tolerated):
            assert next_in_window(now, window, tz) + SEND_MARGIN > not_after
    else:
        assert reason in {"covered_by_summons", "superseded", "collapsed", "too_close"}


@settings(max_examples=200, deadline=None)
@given(
    zone_name=st.sampled_from(ZONES),
    starts=starts_times,
    booked_before=lead_times,
    policy_rules=st.lists(rules, min_size=1, max_size=3),
    windows=hours(),
    lead_minutes=st.integers(0, 240),
    summons=st.booleans(),
)
def test_every_message_is_planned_in_time_or_skipped_with_its_reason(
    zone_name: str,
    starts: datetime,
    booked_before: int,
    policy_rules: list[DaysBefore | HoursBefore],
    windows: tuple[Window, Window],
    lead_minutes: int,
    summons: bool,
) -> None:
    tz = ZoneInfo(zone_name)
    now = starts - timedelta(minutes=booked_before)
    window, tolerated = windows
    policy = Policy(tuple(policy_rules), window, timedelta(minutes=lead_minutes), tolerated)
    deadline = starts - policy.min_lead
    announced_at = None
    if summons:
        notice = plan_notice(now=now, not_after=deadline, window=window, tolerated=tolerated, tz=tz)
        if notice.planned:
            _assert_goes(notice.send_at, now, deadline, policy, tz)
            announced_at = notice.send_at
        else:
            assert notice.skipped_reason in {"too_late", "window_closed"}
            _assert_reason(notice.skipped_reason, now, deadline, policy, tz)
    reminders = plan_reminders(
        starts_at=starts, tz=tz, policy=policy, now=now, announced_at=announced_at
    )
    assert len(reminders) == len(policy_rules)
    for reminder in reminders:
        assert reminder.send_not_after == deadline
        if reminder.planned:
            _assert_goes(reminder.send_at, now, deadline, policy, tz)
        elif announced_at is None or reminder.skipped_reason in {"too_late", "window_closed"}:
            _assert_reason(reminder.skipped_reason, now, deadline, policy, tz)
    planned = sorted(r.send_at for r in reminders if r.planned)
    assert all(b - a >= timedelta(hours=1) for a, b in itertools.pairwise(planned))


@pytest.mark.parametrize("zone_name", ZONES)
def test_window_bounds_hold_on_every_day_of_a_year(zone_name: str) -> None:
    tz = ZoneInfo(zone_name)
    window = Window(time(8), time(20))
    instant = utc(2027, 1, 1, 0, 17)
    while instant < utc(2028, 1, 1):
        assert in_window(next_in_window(instant, window, tz), window, tz)
        instant += timedelta(hours=7, minutes=13)


def test_each_message_kind_makes_sense_for_one_convocation_status() -> None:
    """A cancellation notice goes for a cancelled convocation, a missed notice for a missed
    one, every other message for a booked one only: planner, resend and dispatcher agree."""
    assert kinds_for(AppointmentStatus.booked) == (
        NotificationKind.summons,
        NotificationKind.reminder,
        NotificationKind.reschedule,
    )
    assert kinds_for(AppointmentStatus.honored) == ()
    assert still_relevant("cancellation", "cancelled")
    assert not still_relevant("cancellation", "booked")
    assert still_relevant("missed", "missed")
    assert not still_relevant("reminder", "missed")
    assert all(still_relevant(kind.value, "booked") for kind in kinds_for(AppointmentStatus.booked))
