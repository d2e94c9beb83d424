"""When each SMS of a convocation goes out. Pure functions: they take ``now`` and return instants.

Times are computed in the *place's* local time (a 09:00 convocation in Cayenne gets its J-2 10:00
reminder at 10:00 in Cayenne, i.e. 13:00Z), then kept inside the SPIP's send window: a time outside
it moves to the end of the previous window. Nothing is ever planned in the past, nor later than
``send_not_after`` (the start minus a minimum lead) minus ``SEND_MARGIN``.

A message that should go as soon as possible (a summons, change or cancellation notice, a late
reminder's catch-up) goes at the first moment of the send window that leaves that margin; when
the send window leaves none, at the first such moment of the SPIP's wider *tolerated* window
(at once, when "now" is inside it); when neither does, it is skipped with a reason
(``window_closed`` or ``too_late``). The dispatcher applies the same rule at send time
(``dispatch_moment``), so planner and dispatcher never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.models import AppointmentStatus, NotificationKind

# Two messages of one convocation closer than this would read as a duplicate: keep one.
MIN_GAP = timedelta(hours=1)
# The dispatcher ticks every few seconds and may retry: a message planned right at its deadline
# would expire before it goes. Every planned moment leaves at least this much before it.
SEND_MARGIN = timedelta(minutes=2)

WINDOW_CLOSED = "window_closed"  # there is time left, but no window hour falls within it
TOO_LATE = "too_late"  # no time left before the deadline

# The convocation status each kind of message makes sense for. The planner cancels what no
# longer does, a resend of it is refused, and the dispatcher re-checks it at send time.
RELEVANT_STATUS: dict[NotificationKind, AppointmentStatus] = {
    NotificationKind.summons: AppointmentStatus.booked,
    NotificationKind.reminder: AppointmentStatus.booked,
    NotificationKind.reschedule: AppointmentStatus.booked,
    NotificationKind.cancellation: AppointmentStatus.cancelled,
    NotificationKind.missed: AppointmentStatus.missed,
}
# The same, by stored value: the dispatcher asks for every message it sends.
_RELEVANT_VALUE = {kind.value: status.value for kind, status in RELEVANT_STATUS.items()}


@dataclass(frozen=True)
class DaysBefore:
    """On the local date ``days`` before the convocation's local date, at local time ``at``."""

    days: int
    at: time

    @property
    def label(self) -> str:
        return f"J-{self.days} {self.at:%H:%M}"


@dataclass(frozen=True)
class HoursBefore:
    """``hours`` real hours before the start."""

    hours: float

    @property
    def label(self) -> str:
        return f"H-{self.hours:g}"


Rule = DaysBefore | HoursBefore


@dataclass(frozen=True)
class Window:
    start: time
    end: time


# Wider than the send window: for a message that cannot wait for it.
DEFAULT_TOLERATED = Window(time(7, 0), time(22, 0))


# A day reminders avoid when the SPIP asks (Sundays, the territory's public holidays).
ClosedDay = Callable[[date], bool]


@dataclass(frozen=True)
class Policy:
    rules: tuple[Rule, ...]
    window: Window
    min_lead: timedelta
    tolerated: Window = DEFAULT_TOLERATED
    closed: ClosedDay | None = None  # None: reminders go on any day


DEFAULT_POLICY = Policy(
    rules=(DaysBefore(2, time(10, 0)),),
    window=Window(time(8, 0), time(20, 0)),
    min_lead=timedelta(hours=1),
)


@dataclass(frozen=True)
class Notice:
    """When a message due as soon as possible goes; for a skipped one, ``now`` and why not."""

    send_at: datetime
    skipped_reason: str | None = None

    @property
    def planned(self) -> bool:
        return self.skipped_reason is None


@dataclass(frozen=True)
class PlannedReminder:
    rule_index: int
    rule: str
    send_at: datetime  # when planned; for a skipped one, when it would have gone
    send_not_after: datetime
    skipped_reason: str | None = None

    @property
    def planned(self) -> bool:
        return self.skipped_reason is None


def still_relevant(kind: str, appointment_status: str) -> bool:
    """Whether a message of this kind still makes sense for a convocation in this status."""
    return _RELEVANT_VALUE[kind] == appointment_status


def kinds_for(status: AppointmentStatus) -> tuple[NotificationKind, ...]:
    """The kinds of message that make sense only while a convocation is in ``status``."""
    return tuple(kind for kind, relevant in RELEVANT_STATUS.items() if relevant is status)


# --- local-time helpers -------------------------------------------------------------------


def _at(day: date, at: time, tz: ZoneInfo, *, earliest: bool) -> datetime:
    """The instant of a local wall time; in a DST gap or fold, the earliest or latest reading."""
    readings = [
        datetime.combine(day, at, tzinfo=tz).replace(fold=f).astimezone(UTC) for f in (0, 1)
    ]
    return min(readings) if earliest else max(readings)


def in_window(instant: datetime, window: Window, tz: ZoneInfo) -> bool:
    local = instant.astimezone(tz)
    day = local.date()
    return (
        _at(day, window.start, tz, earliest=False)
        <= instant
        <= _at(day, window.end, tz, earliest=True)
    )


def latest_in_window(instant: datetime, window: Window, tz: ZoneInfo) -> datetime:
    """``instant`` if inside the window, else the end of the previous window."""
    if in_window(instant, window, tz):
        return instant
    day = instant.astimezone(tz).date()
    end_today = _at(day, window.end, tz, earliest=True)
    if instant > end_today:
        return end_today
    return _at(day - timedelta(days=1), window.end, tz, earliest=True)


def next_in_window(instant: datetime, window: Window, tz: ZoneInfo) -> datetime:
    """``instant`` if inside the window, else the next window opening."""
    if in_window(instant, window, tz):
        return instant
    day = instant.astimezone(tz).date()
    start_today = _at(day, window.start, tz, earliest=False)
    if instant < start_today:
        return start_today
    return _at(day + timedelta(days=1), window.start, tz, earliest=False)


def open_day_before(instant: datetime, tz: ZoneInfo, closed: ClosedDay) -> datetime:
    """``instant``, or the same local time on the nearest earlier day that is not closed.

    The local time is kept, so a reminder placed in the send window stays in it. A week back at
    most: no territory closes longer, and a reminder is better late than lost.
    """
    local = instant.astimezone(tz)
    for _ in range(7):
        if not closed(local.date()):
            break
        local = datetime.combine(local.date() - timedelta(days=1), local.time(), tzinfo=tz)
    return local.astimezone(UTC)


def rule_time(rule: Rule, starts_at: datetime, tz: ZoneInfo) -> datetime:
    if isinstance(rule, HoursBefore):
        return starts_at - timedelta(hours=rule.hours)
    local_day = starts_at.astimezone(tz).date() - timedelta(days=rule.days)
    # In a DST gap the reminder moves forward with the clocks (fold=0 reading).
    return datetime.combine(local_day, rule.at, tzinfo=tz).astimezone(UTC)


# --- planning -----------------------------------------------------------------------------


def send_not_after(starts_at: datetime, policy: Policy) -> datetime:
    return starts_at - policy.min_lead


def first_moment(
    *, now: datetime, not_after: datetime, window: Window, tolerated: Window, tz: ZoneInfo
) -> datetime | None:
    """The first moment from ``now`` that leaves ``SEND_MARGIN`` before ``not_after``: in the
    send window if it leaves one, else in the tolerated window; ``None`` if neither does."""
    last = not_after - SEND_MARGIN
    for hours in (window, tolerated):
        at = next_in_window(now, hours, tz)
        if at <= last:
            return at
    return None


def plan_notice(
    *,
    now: datetime,
    not_after: datetime,
    window: Window,
    tz: ZoneInfo,
    tolerated: Window = DEFAULT_TOLERATED,
) -> Notice:
    """A notice (summons, cancellation, change) goes at once, or at the first useful moment."""
    at = first_moment(now=now, not_after=not_after, window=window, tolerated=tolerated, tz=tz)
    if at is not None:
        return Notice(at)
    return Notice(now, TOO_LATE if now + SEND_MARGIN > not_after else WINDOW_CLOSED)


def dispatch_moment(
    *, now: datetime, not_after: datetime, window: Window, tolerated: Window, tz: ZoneInfo
) -> datetime | None:
    """At send time: ``now`` if the message may go now, a later instant to defer it to, or
    ``None`` if it can no longer go (expired).

    The planner's rule, read at ``now``: a moment of the send window, else of the tolerated
    window. Only the margin differs: a message already due may use it (the tick came a few
    seconds late), never a deferral.
    """
    if now > not_after:
        return None
    if in_window(now, window, tz):
        return now
    at = first_moment(now=now, not_after=not_after, window=window, tolerated=tolerated, tz=tz)
    if at is not None:
        return at
    return now if in_window(now, tolerated, tz) else None


def plan_reminders(
    *,
    starts_at: datetime,
    tz: ZoneInfo,
    policy: Policy,
    now: datetime,
    announced_at: datetime | None = None,
    announced_reason: str = "covered_by_summons",
) -> list[PlannedReminder]:
    """The reminders of one convocation.

    ``announced_at`` is when a summons or change notice goes out for it (if one does): reminders
    already past due, or due within ``MIN_GAP`` of that notice, are skipped as covered by it.
    Without a notice, past-due reminders collapse into one catch-up reminder, planned like a
    notice (``plan_notice``), or skipped with its reason. A reminder is never planned later
    than ``SEND_MARGIN`` before the deadline.
    """
    deadline = send_not_after(starts_at, policy)
    last = deadline - SEND_MARGIN
    timed = [
        (
            index,
            rule,
            latest_in_window(min(rule_time(rule, starts_at, tz), last), policy.window, tz),
        )
        for index, rule in enumerate(policy.rules)
    ]
    if policy.closed is not None:
        closed = policy.closed
        timed = [(index, rule, open_day_before(at, tz, closed)) for index, rule, at in timed]
    future = [t for t in timed if t[2] > now]
    past = [t for t in timed if t[2] <= now]
    result: list[PlannedReminder] = []

    def add(index: int, rule: Rule, at: datetime, reason: str | None = None) -> None:
        result.append(PlannedReminder(index, rule.label, at, deadline, reason))

    if past:
        if announced_at is not None:
            for index, rule, at in past:
                add(index, rule, at, announced_reason)
        elif future:
            for index, rule, at in past:
                add(index, rule, at, "superseded")
        else:
            catch_up = plan_notice(
                now=now, not_after=deadline, window=policy.window, tolerated=policy.tolerated, tz=tz
            )
            *collapsed, (last_index, last_rule, last_at) = sorted(past, key=lambda t: t[2])
            for index, rule, at in collapsed:
                add(index, rule, at, "collapsed")
            if catch_up.planned:
                add(last_index, last_rule, catch_up.send_at)
            else:
                add(last_index, last_rule, last_at, catch_up.skipped_reason)
    for index, rule, at in future:
        add(index, rule, at)
    return _drop_close_pairs(result, announced_at, announced_reason)


def _drop_close_pairs(
    reminders: list[PlannedReminder], announced_at: datetime | None, announced_reason: str
) -> list[PlannedReminder]:
    """Never two messages within MIN_GAP: the later reminder (closer to the start) wins."""
    kept: list[PlannedReminder] = []
    planned = sorted((r for r in reminders if r.planned), key=lambda r: r.send_at, reverse=True)
    last_kept: datetime | None = None
    by_index: dict[int, PlannedReminder] = {}
    for reminder in planned:
        if last_kept is not None and last_kept - reminder.send_at < MIN_GAP:
            by_index[reminder.rule_index] = _skip(reminder, "too_close")
            continue
        if announced_at is not None and abs(reminder.send_at - announced_at) < MIN_GAP:
            by_index[reminder.rule_index] = _skip(reminder, announced_reason)
            continue
        by_index[reminder.rule_index] = reminder
        last_kept = reminder.send_at
    for reminder in reminders:
        kept.append(by_index.get(reminder.rule_index, reminder))
    return sorted(kept, key=lambda r: r.rule_index)


def _skip(reminder: PlannedReminder, reason: str) -> PlannedReminder:
    return PlannedReminder(
        reminder.rule_index, reminder.rule, reminder.send_at, reminder.send_not_after, reason
    )
