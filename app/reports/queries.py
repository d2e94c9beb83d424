"""The SQL of the reports: every count is grouped in the database.

Definitions (also in docs/reports.md and the API schema). For convocations whose start falls in the
period, in the SPIP's local calendar:

- outcome: ``honored``, ``missed``, ``excused``; ``unrecorded`` (started, no outcome yet);
  ``upcoming`` (not started); ``cancelled`` and ``rescheduled`` counted apart;
- reminder outcome, from the SMS announcing the convocation (summons, reminders, change notice):
  ``delivered`` (one was delivered), ``sent_no_receipt`` (sent, no delivery receipt),
  ``failed_or_skipped`` (failed, undelivered, expired, or skipped as too late/covered…),
  ``no_reminder`` (no SMS: no phone, refused, policy, or not sent yet).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, case, func, select, text
from sqlalchemy.orm import aliased

from app.core.sqlfunc import local_date, month_key, week_key
from app.models import (
    Appointment,
    AppointmentType,
    AttendanceMonthly,
    AttendancePurged,
    Notification,
    NotificationKind,
    Spip,
)

GroupBy = Literal["month", "week", "appointment_type", "agent", "place"]
# The grouping key of convocations without an agent (ids start at 1); the report labels it.
NO_AGENT_ID = "0"
OUTCOMES = ("honored", "missed", "excused", "unrecorded", "upcoming", "cancelled", "rescheduled")
REMINDER_OUTCOMES = ("delivered", "sent_no_receipt", "failed_or_skipped", "no_reminder")
ANNOUNCING = (
    NotificationKind.summons.value,
    NotificationKind.reminder.value,
    NotificationKind.reschedule.value,
)
# Skips that mean "no SMS could or should go", not a failure of the reminder.
NO_SMS_REASONS = ("no_phone", "refused", "person_archived", "type_without_sms")


@dataclass(frozen=True)
class Cell:
    spip_id: int
    key: str
    outcome: str
    reminder_outcome: str
    count: int


def _reminder_rank() -> ColumnElement[int]:
    n = Notification
    return case(
        (n.status == "delivered", 4),
        (n.status == "sent", 3),
        (n.status.in_(("failed", "undelivered", "expired")), 2),
        (and_(n.status == "skipped", n.reason.not_in(NO_SMS_REASONS)), 2),
        else_=1,
    )


def reminder_ranks(*, spip_id: int | None, utc_from: datetime, utc_to: datetime) -> Any:
    """Per convocation starting in ``[utc_from, utc_to)`` (of one SPIP, or all), the best thing
    that happened to its announcing SMS (4 = delivered).

    Restricted to those convocations: grouping every message of the database to keep a month's
    took 11–25 s on the 10-million benchmark database; restricted, the grouping reads only the
    period's messages, through ``ix_notification_appointment_id_kind``.
    """
    chosen = aliased(Appointment, name="ranked_appointment")
    appointment_ids = select(chosen.id).where(
        chosen.starts_at >= utc_from, chosen.starts_at < utc_to
    )
    if spip_id is not None:
        appointment_ids = appointment_ids.where(chosen.spip_id == spip_id)
    return (
        select(
            Notification.appointment_id.label("appointment_id"),
            func.max(_reminder_rank()).label("rank"),
        )
        .where(Notification.kind.in_(ANNOUNCING), Notification.appointment_id.in_(appointment_ids))
        .group_by(Notification.appointment_id)
        .subquery("reminder_ranks")
    )


def outcome_expr(now: datetime) -> ColumnElement[str]:
    a = Appointment
    return case(
        (and_(a.status == "cancelled", a.cancel_reason == "rescheduled"), "rescheduled"),
        (a.status == "cancelled", "cancelled"),
        (and_(a.status == "booked", a.starts_at <= now), "unrecorded"),
        (a.status == "booked", "upcoming"),
        else_=a.status,
    )


def reminder_expr(ranks: Any) -> ColumnElement[str]:
    return case(
        (ranks.c.rank == 4, "delivered"),
        (ranks.c.rank == 3, "sent_no_receipt"),
        (ranks.c.rank == 2, "failed_or_skipped"),
        else_="no_reminder",
    )


def _key(group_by: GroupBy, day: ColumnElement[date]) -> Any:
    if group_by == "month":
        return month_key(day)
    if group_by == "week":
        return week_key(day)
    if group_by == "appointment_type":
        return AppointmentType.code
    if group_by == "agent":
        return func.coalesce(Appointment.agent_id, int(NO_AGENT_ID))
    return Appointment.place_id


def live_cells_stmt(
    *,
    spip_id: int | None,
    start: date,
    end: date,
    group_by: GroupBy,
    now: datetime,
    person_ids: Any = None,
) -> Select[Any]:
    """Counts from the convocations themselves, for local dates ``start``..``end`` inclusive.

    ``person_ids`` (a SELECT of ids) narrows them to those persons' convocations: the retention
    job folds what it deletes with this very query, so the counts kept are the counts shown.
    """
    day = local_date(Appointment.starts_at, Spip.timezone)
    # A coarse UTC pre-filter (every zone is within ±14 h) lets the index do the work.
    utc_from = datetime.combine(start, datetime.min.time()) - timedelta(days=1)
    utc_to = datetime.combine(end, datetime.min.time()) + timedelta(days=2)
    utc_from, utc_to = utc_from.replace(tzinfo=now.tzinfo), utc_to.replace(tzinfo=now.tzinfo)
    coarse = [Appointment.starts_at >= utc_from, Appointment.starts_at < utc_to]
    if spip_id is not None:
        coarse.append(Appointment.spip_id == spip_id)
    if person_ids is not None:
        coarse.append(Appointment.person_id.in_(person_ids))
    ranks = reminder_ranks(spip_id=spip_id, utc_from=utc_from, utc_to=utc_to)
    key = _key(group_by, day)
    stmt = (
        select(
            Appointment.spip_id,
            key.label("key"),
            outcome_expr(now).label("outcome"),
            reminder_expr(ranks).label("reminder_outcome"),
            func.count().label("count"),
        )
        .select_from(Appointment)
        .join(Spip, Spip.id == Appointment.spip_id)
        .join(AppointmentType, AppointmentType.id == Appointment.appointment_type_id)
        .outerjoin(ranks, ranks.c.appointment_id == Appointment.id)
        .where(*coarse, day >= start, day <= end)
        # By position: repeating the CASE expressions would bind new parameters, which
        # PostgreSQL then refuses to recognise as the selected expressions.
        .group_by(text("1"), text("2"), text("3"), text("4"))
    )
    return stmt


def aggregate_cells_stmt(
    *, spip_id: int | None, months: list[str], group_by: GroupBy
) -> Select[Any]:
    """Counts from the monthly aggregates (closed months)."""
    m = AttendanceMonthly
    key: Any = m.month if group_by == "month" else AppointmentType.code
    stmt = (
        select(
            m.spip_id,
            key.label("key"),
            m.outcome,
            m.reminder_outcome,
            func.sum(m.count).label("count"),
        )
        .join(AppointmentType, AppointmentType.id == m.appointment_type_id)
        .where(m.month.in_(months))
        .group_by(m.spip_id, key, m.outcome, m.reminder_outcome)
    )
    if spip_id is not None:
        stmt = stmt.where(m.spip_id == spip_id)
    return stmt


def purged_cells_stmt(*, spip_id: int | None, months: list[str], group_by: GroupBy) -> Select[Any]:
    """Counts of the convocations the retention job deleted, for whole months.

    Keyed as ``live_cells_stmt`` keys them, so live and purged cells add up; by week there is no
    answer (a week straddles months): the caller does not ask.
    """
    p = AttendancePurged
    key: Any
    if group_by == "month":
        key = p.month
    elif group_by == "appointment_type":
        key = AppointmentType.code
    elif group_by == "agent":
        key = func.coalesce(p.agent_id, int(NO_AGENT_ID))
    else:
        key = func.coalesce(p.place_id, 0)
    stmt = (
        select(p.spip_id, key.label("key"), p.outcome, p.reminder_outcome, func.sum(p.count))
        .join(AppointmentType, AppointmentType.id == p.appointment_type_id)
        .where(p.month.in_(months))
        .group_by(p.spip_id, key, p.outcome, p.reminder_outcome)
    )
    if spip_id is not None:
        stmt = stmt.where(p.spip_id == spip_id)
    return stmt
