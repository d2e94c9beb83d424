"""A SPIP's reminder policy: when its reminders go, in which hours, and its SMS settings
(the national defaults when it has none)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments.errors import UnknownAppointmentType
from app.core.holidays import public_holiday
from app.models import AppointmentType, ReminderPolicy, Spip
from app.reminders import planning
from app.reminders.schemas import (
    DaysBeforeRule,
    HoursBeforeRule,
    ReminderPolicyBody,
    parse_hhmm,
)


@dataclass(frozen=True)
class SpipPolicy:
    """The policy in force for a SPIP, as stored (or the defaults)."""

    body: ReminderPolicyBody
    is_default: bool

    @property
    def window(self) -> planning.Window:
        w = self.body.send_window
        return planning.Window(parse_hhmm(w.start), parse_hhmm(w.end))

    @property
    def tolerated(self) -> planning.Window:
        w = self.body.tolerated_window
        return planning.Window(parse_hhmm(w.start), parse_hhmm(w.end))

    def for_type(self, type_code: str, *, territory: str | None = None) -> planning.Policy:
        """The planner's policy for a type, at a place of ``territory`` (its public holidays,
        for a SPIP whose reminders avoid closed days)."""
        rules = self.body.type_rules.get(type_code, self.body.rules)
        return planning.Policy(
            rules=tuple(_rule(r) for r in rules),
            window=self.window,
            min_lead=timedelta(minutes=self.body.min_lead_minutes),
            tolerated=self.tolerated,
            closed=closed_days(territory) if self.body.avoid_closed_days else None,
        )


def closed_days(territory: str | None) -> planning.ClosedDay:
    """Sundays and the public holidays of ``territory``."""

    def closed(day: date) -> bool:
        return day.weekday() == 6 or public_holiday(day, territory) is not None

    return closed


def _rule(rule: DaysBeforeRule | HoursBeforeRule) -> planning.Rule:
    if isinstance(rule, DaysBeforeRule):
        return planning.DaysBefore(rule.days_before, parse_hhmm(rule.at))
    return planning.HoursBefore(rule.hours_before)


async def get_policy(session: AsyncSession, spip_id: int) -> SpipPolicy:
    row = await session.scalar(select(ReminderPolicy).where(ReminderPolicy.spip_id == spip_id))
    return policy_from_row(row)


def policy_from_row(row: ReminderPolicy | None) -> SpipPolicy:
    """The policy a stored row sets, or the defaults when the SPIP has none (for callers that
    load the row with other data, in one query)."""
    if row is None:
        return SpipPolicy(ReminderPolicyBody(), is_default=True)
    body = ReminderPolicyBody.model_validate(
        {
            "rules": row.rules,
            "type_rules": row.type_rules,
            "send_window": {"start": row.window_start, "end": row.window_end},
            "tolerated_window": {"start": row.tolerated_start, "end": row.tolerated_end},
            "min_lead_minutes": row.min_lead_minutes,
            "max_segments": row.max_segments,
            "gsm7_friendly": row.gsm7_friendly,
            "avoid_closed_days": row.avoid_closed_days,
            "sender": row.sender,
        }
    )
    return SpipPolicy(body, is_default=False)


async def save_policy(session: AsyncSession, *, spip: Spip, body: ReminderPolicyBody) -> SpipPolicy:
    await _check_type_codes(session, list(body.type_rules))
    row = await session.scalar(select(ReminderPolicy).where(ReminderPolicy.spip_id == spip.id))
    if row is None:
        row = ReminderPolicy(spip_id=spip.id)
        session.add(row)
    dumped = body.model_dump(mode="json")
    row.rules = dumped["rules"]
    row.type_rules = dumped["type_rules"]
    row.window_start = body.send_window.start
    row.window_end = body.send_window.end
    row.tolerated_start = body.tolerated_window.start
    row.tolerated_end = body.tolerated_window.end
    row.min_lead_minutes = body.min_lead_minutes
    row.max_segments = body.max_segments
    row.gsm7_friendly = body.gsm7_friendly
    row.avoid_closed_days = body.avoid_closed_days
    row.sender = body.sender
    await session.flush()
    return SpipPolicy(body, is_default=False)


async def _check_type_codes(session: AsyncSession, codes: list[str]) -> None:
    if not codes:
        return
    known = set(
        await session.scalars(select(AppointmentType.code).where(AppointmentType.code.in_(codes)))
    )
    unknown = sorted(set(codes) - known)
    if unknown:
        raise UnknownAppointmentType(
            f"Type(s) de convocation inconnu(s) : {', '.join(unknown)}.", field="type_rules"
        )
