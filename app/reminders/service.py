"""Planning the SMS of convocations as their lifecycle unfolds, and reading their timeline.

The appointments service calls these hooks inside its own unit of work, so a booking and its
planned messages are committed together or not at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import utcnow
from app.core.localtime import zone
from app.models import (
    PLANNED,
    RESENDABLE,
    SENT_STATUSES,
    UNSENT,
    Appointment,
    AppointmentStatus,
    AppointmentType,
    Notification,
    NotificationAttempt,
    NotificationKind,
    NotificationPart,
    NotificationStatus,
    Person,
    Place,
)
from app.reminders import planning
from app.reminders.errors import (
    NotificationNotFound,
    NotResendable,
    OutsideSendingHours,
    ResendPointless,
    TooLateToSend,
)
from app.reminders.keys import idempotency_key
from app.reminders.policies import SpipPolicy, get_policy
from app.reminders.schemas import (
    MessagePartRead,
    NotificationRead,
    ProviderAttemptRead,
    SmsWarning,
)
from app.reminders.unsent import BLOCKER_PHRASE, recipient_blocker, warnings_for
from app.spips import service as spip_service

MISSED_NOTICE_DAYS = 30


@dataclass(frozen=True)
class Planned:
    """What a lifecycle step planned: when its first message still to send is due, and the
    warnings for the agent about what will not go out."""

    first_at: datetime | None = None
    warnings: list[SmsWarning] = field(default_factory=list)


class _Plan:
    """Sequence numbers per (appointment, kind), so each idempotency key is new."""

    def __init__(self, session: AsyncSession, appointment: Appointment, agent_id: int | None):
        self.session = session
        self.appointment = appointment
        self.agent_id = agent_id
        self.next_seq: dict[str, int] = {}
        self.rows: list[Notification] = []

    async def load(self) -> _Plan:
        rows = await self.session.execute(
            select(Notification.kind, func.max(Notification.sequence))
            .where(Notification.appointment_id == self.appointment.id)
            .group_by(Notification.kind)
        )
        self.next_seq = {kind: seq + 1 for kind, seq in rows}
        return self

    def add(
        self,
        kind: NotificationKind,
        *,
        send_at: datetime,
        not_after: datetime,
        reason: str | None = None,
        rule: str | None = None,
    ) -> Notification:
        seq = self.next_seq.get(kind.value, 1)
        self.next_seq[kind.value] = seq + 1
        status = NotificationStatus.skipped if reason else NotificationStatus.planned
        row = Notification(
            appointment_id=self.appointment.id,
            spip_id=self.appointment.spip_id,
            kind=kind.value,
            sequence=seq,
            idempotency_key=idempotency_key(self.appointment.id, kind, seq),
            status=status.value,
            reason=reason,
            rule=rule,
            planned_at=send_at,
            send_at=send_at,
            send_not_after=not_after,
            attempts=0,
            created_by_id=self.agent_id,
        )
        self.session.add(row)
        self.rows.append(row)
        return row

    def first_unsent_at(self) -> datetime | None:
        """When the first message this plan added is due (what ``next_notification_at`` reads
        from the database)."""
        return min((r.send_at for r in self.rows if r.status in UNSENT), default=None)

    def add_notice(
        self,
        kind: NotificationKind,
        *,
        now: datetime,
        not_after: datetime,
        policy: SpipPolicy,
        tz_name: str,
    ) -> datetime | None:
        """A notice at the first useful moment (``planning.plan_notice``), or skipped with its
        reason; when it goes, or ``None``."""
        notice = planning.plan_notice(
            now=now,
            not_after=not_after,
            window=policy.window,
            tolerated=policy.tolerated,
            tz=zone(tz_name),
        )
        self.add(kind, send_at=notice.send_at, not_after=not_after, reason=notice.skipped_reason)
        return notice.send_at if notice.planned else None

    async def outcome(
        self, kind: AppointmentType, policy: SpipPolicy, *, announces: bool = True
    ) -> Planned:
        """The first message due and the warnings about the rows this plan added."""
        person = await self.session.get_one(Person, self.appointment.person_id)
        blocker = recipient_blocker(
            sms_enabled=kind.sms_enabled,
            archived=person.archived,
            phone=person.phone,
            phone_status=person.phone_status,
        )
        warnings = warnings_for(
            self.rows, blocker=blocker, tolerated=policy.tolerated, announces=announces
        )
        return Planned(self.first_unsent_at(), warnings)

    def add_reminders(self, reminders: Iterable[planning.PlannedReminder]) -> None:
        for r in reminders:
            self.add(
                NotificationKind.reminder,
                send_at=r.send_at,
                not_after=r.send_not_after,
                reason=r.skipped_reason,
                rule=r.rule,
            )


async def _context(
    session: AsyncSession, appointment: Appointment, policy: SpipPolicy | None = None
) -> tuple[Place, AppointmentType, SpipPolicy]:
    # Place and type are usually in the session already (no query); the policy is read unless
    # the caller loaded it with its own data.
    place = await session.get_one(Place, appointment.place_id)
    kind = await session.get_one(AppointmentType, appointment.appointment_type_id)
    if policy is None:
        policy = await get_policy(session, appointment.spip_id)
    return place, kind, policy


async def _planner_policy(
    session: AsyncSession, policy: SpipPolicy, kind: AppointmentType, place: Place
) -> planning.Policy:
    """The planner's rules for this type at this place. The place's holidays are looked up
    only for a SPIP whose reminders avoid closed days: booking need not read the SPIP else."""
    territory = None
    if policy.body.avoid_closed_days:
        territory = await spip_service.place_holiday_territory(session, place)
    return policy.for_type(kind.code, territory=territory)


async def cancel_unsent(
    session: AsyncSession,
    appointment_id: int,
    *,
    reason: str,
    kinds: Iterable[NotificationKind] | None = None,
) -> int:
    """Cancel what has not gone yet. A row being sent right now is left to the dispatcher, which
    re-reads the convocation before sending."""
    stmt = (
        update(Notification)
        .where(
            Notification.appointment_id == appointment_id,
            Notification.status == PLANNED,
        )
        .values(status=NotificationStatus.cancelled.value, reason=reason, updated_at=utcnow())
    )
    if kinds is not None:
        stmt = stmt.where(Notification.kind.in_([k.value for k in kinds]))
    result = await session.execute(stmt)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def on_booked(
    session: AsyncSession,
    *,
    appointment: Appointment,
    send_summons: bool,
    agent_id: int | None = None,
    policy: SpipPolicy | None = None,
) -> Planned:
    """Plan the messages of a convocation just booked; return when the first one still to send
    is due and what will not go out.

    ``policy``: the SPIP's policy, if the caller has already read it.
    """
    place, kind, policy = await _context(session, appointment, policy)
    # A convocation flushed in this very transaction has no message yet: numbering starts at 1
    # without asking the database.
    plan = _Plan(session, appointment, agent_id)
    if not kind.sms_enabled:
        return await plan.outcome(kind, policy)
    now = utcnow()
    rules = await _planner_policy(session, policy, kind, place)
    announced = None
    if send_summons:
        announced = plan.add_notice(
            NotificationKind.summons,
            now=now,
            not_after=planning.send_not_after(appointment.starts_at, rules),
            policy=policy,
            tz_name=place.timezone,
        )
    plan.add_reminders(
        planning.plan_reminders(
            starts_at=appointment.starts_at,
            tz=zone(place.timezone),
            policy=rules,
            now=now,
            announced_at=announced,
        )
    )
    await session.flush()
    return await plan.outcome(kind, policy)


async def on_cancelled(
    session: AsyncSession, *, appointment: Appointment, notify: bool, agent_id: int | None = None
) -> Planned:
    """Cancel what has not gone; a cancellation notice if asked (warned of if it cannot go)."""
    await cancel_unsent(session, appointment.id, reason="appointment_cancelled")
    place, kind, policy = await _context(session, appointment)
    if not notify:
        await session.flush()
        return Planned()
    plan = await _Plan(session, appointment, agent_id).load()
    if kind.sms_enabled:
        plan.add_notice(
            NotificationKind.cancellation,
            now=utcnow(),
            not_after=appointment.starts_at,
            policy=policy,
            tz_name=place.timezone,
        )
    await session.flush()
    return await plan.outcome(kind, policy, announces=False)


async def on_rescheduled(
    session: AsyncSession,
    *,
    old: Appointment,
    new: Appointment,
    notify: bool,
    agent_id: int | None = None,
) -> Planned:
    """Old reminders cancelled; one change notice; reminders for the new date, none due at once."""
    await cancel_unsent(session, old.id, reason="appointment_rescheduled")
    place, kind, policy = await _context(session, new)
    plan = await _Plan(session, new, agent_id).load()
    if not kind.sms_enabled:
        return await plan.outcome(kind, policy)
    now = utcnow()
    rules = await _planner_policy(session, policy, kind, place)
    announced = planning.next_in_window(now, policy.window, zone(place.timezone))
    if notify:
        announced = (
            plan.add_notice(
                NotificationKind.reschedule,
                now=now,
                not_after=planning.send_not_after(new.starts_at, rules),
                policy=policy,
                tz_name=place.timezone,
            )
            or announced
        )
    plan.add_reminders(
        planning.plan_reminders(
            starts_at=new.starts_at,
            tz=zone(place.timezone),
            policy=rules,
            now=now,
            announced_at=announced,
            announced_reason="covered_by_reschedule",
        )
    )
    await session.flush()
    return await plan.outcome(kind, policy)


async def on_outcome(
    session: AsyncSession,
    *,
    appointment: Appointment,
    previous: AppointmentStatus,
    notify_missed: bool = False,
    agent_id: int | None = None,
) -> None:
    status = AppointmentStatus(appointment.status)
    now = utcnow()
    if status is AppointmentStatus.booked:
        if appointment.starts_at > now:
            await replan(session, appointment)
        return
    await cancel_unsent(
        session,
        appointment.id,
        reason=f"appointment_{status.value}",
        kinds=planning.kinds_for(AppointmentStatus.booked),
    )
    if previous is AppointmentStatus.missed:
        await cancel_unsent(
            session,
            appointment.id,
            reason="outcome_corrected",
            kinds=planning.kinds_for(AppointmentStatus.missed),
        )
    if status is AppointmentStatus.missed and notify_missed:
        place, kind, policy = await _context(session, appointment)
        not_after = appointment.starts_at + timedelta(days=MISSED_NOTICE_DAYS)
        if kind.sms_enabled and now <= not_after:
            plan = await _Plan(session, appointment, agent_id).load()
            plan.add_notice(
                NotificationKind.missed,
                now=now,
                not_after=not_after,
                policy=policy,
                tz_name=place.timezone,
            )
    await session.flush()


async def replan(session: AsyncSession, appointment: Appointment) -> int:
    """Plan the reminders again (policy changed, outcome withdrawn), never repeating one sent.

    Only what moves changes: a planned reminder the new plan also sends at the same moment keeps
    its row (its rule label and deadline brought up to date); the others are cancelled
    (``replanned``) and the new moments planned. Return how many rows were cancelled or added.
    """
    place, kind, policy = await _context(session, appointment)
    if not kind.sms_enabled or not planning.still_relevant(
        NotificationKind.reminder, appointment.status
    ):
        return await cancel_unsent(
            session, appointment.id, reason="replanned", kinds=(NotificationKind.reminder,)
        )
    existing = list(
        await session.scalars(
            select(Notification)
            .where(
                Notification.appointment_id == appointment.id,
                Notification.kind == NotificationKind.reminder.value,
            )
            .order_by(Notification.id)
        )
    )
    last_sent = await session.scalar(
        select(func.max(Notification.sent_at)).where(
            Notification.appointment_id == appointment.id, Notification.status.in_(SENT_STATUSES)
        )
    )
    wanted = planning.plan_reminders(
        starts_at=appointment.starts_at,
        tz=zone(place.timezone),
        policy=await _planner_policy(session, policy, kind, place),
        now=utcnow(),
        announced_at=last_sent,
        announced_reason="already_reminded",
    )
    return await _apply_plan(session, appointment, existing, wanted)


async def _apply_plan(
    session: AsyncSession,
    appointment: Appointment,
    existing: list[Notification],
    wanted: list[planning.PlannedReminder],
) -> int:
    """Bring the reminder rows to ``wanted``: keep a planned row whose first planned moment is
    still wanted (a row deferred or retrying since keeps its ``send_at``), cancel the others,
    add the new moments, and record a skip only once."""
    now = utcnow()
    unsent = [r for r in existing if r.status == PLANNED]
    planned = {r.planned_at: r for r in unsent}
    skipped = {(r.rule, r.reason) for r in existing if r.status == NotificationStatus.skipped.value}
    keep: set[int] = set()
    to_add: list[planning.PlannedReminder] = []
    for reminder in wanted:
        row = planned.get(reminder.send_at) if reminder.planned else None
        if row is not None and row.id not in keep:
            keep.add(row.id)
            row.rule, row.send_not_after = reminder.rule, reminder.send_not_after
        elif reminder.planned or (reminder.rule, reminder.skipped_reason) not in skipped:
            to_add.append(reminder)
    changed = 0
    for row in unsent:
        if row.id not in keep:
            row.status, row.reason, row.updated_at = (
                NotificationStatus.cancelled.value,
                "replanned",
                now,
            )
            changed += 1
    if to_add:
        plan = await _Plan(session, appointment, None).load()
        plan.add_reminders(to_add)
    await session.flush()
    return changed + len(to_add)


async def replan_spip(session: AsyncSession, spip_id: int) -> int:
    """After a change of the policy's timing: re-plan the unsent reminders of the SPIP's future
    convocations; return how many rows were cancelled or added."""
    stmt = (
        select(Appointment)
        .where(
            Appointment.spip_id == spip_id,
            Appointment.status == AppointmentStatus.booked.value,
            Appointment.starts_at > utcnow(),
        )
        .order_by(Appointment.id)
    )
    changed = 0
    for appointment in list(await session.scalars(stmt)):
        changed += await replan(session, appointment)
    return changed


async def timeline(session: AsyncSession, appointment: Appointment) -> list[NotificationRead]:
    """The convocation's messages, each with its provider attempts and delivery parts."""
    place = await session.get_one(Place, appointment.place_id)
    rows = list(
        await session.scalars(
            select(Notification)
            .where(Notification.appointment_id == appointment.id)
            .order_by(Notification.planned_at, Notification.id)
        )
    )
    return await _reads(session, rows, zone(place.timezone))


async def _reads(
    session: AsyncSession, rows: list[Notification], tz: ZoneInfo
) -> list[NotificationRead]:
    """These messages as the timeline shows them: local send time, attempts, delivery parts."""
    ids = [n.id for n in rows]
    attempts: dict[int, list[ProviderAttemptRead]] = defaultdict(list)
    for a in await session.scalars(
        select(NotificationAttempt)
        .where(NotificationAttempt.notification_id.in_(ids))
        .order_by(NotificationAttempt.id)
    ):
        attempts[a.notification_id].append(ProviderAttemptRead.model_validate(a))
    parts: dict[int, list[MessagePartRead]] = defaultdict(list)
    for p in await session.scalars(
        select(NotificationPart)
        .where(NotificationPart.notification_id.in_(ids))
        .order_by(NotificationPart.id)
    ):
        parts[p.notification_id].append(MessagePartRead.model_validate(p))
    columns = [c for c in NotificationRead.model_fields if c not in ("provider_attempts", "parts")]
    return [
        NotificationRead.model_validate(
            {
                **{c: getattr(n, c) for c in columns if hasattr(n, c)},
                "send_at_local": n.send_at.astimezone(tz).isoformat(),
                "provider_attempts": attempts[n.id],
                "parts": parts[n.id],
            }
        )
        for n in rows
    ]


async def next_notification_at(
    session: AsyncSession, appointment_ids: list[int]
) -> dict[int, datetime]:
    rows = await session.execute(
        select(Notification.appointment_id, func.min(Notification.send_at))
        .where(Notification.appointment_id.in_(appointment_ids), Notification.status.in_(UNSENT))
        .group_by(Notification.appointment_id)
    )
    return {appointment_id: at for appointment_id, at in rows}


def _check_recipient(kind: AppointmentType, person: Person) -> None:
    """A resend the dispatcher would skip at once for the same reason is refused now (409
    ``resend_pointless``, with that ``reason``): the agent must fix the cause first."""
    blocker = recipient_blocker(
        sms_enabled=kind.sms_enabled,
        archived=person.archived,
        phone=person.phone,
        phone_status=person.phone_status,
    )
    if blocker is None:
        return
    hint = " Corrigez d'abord son numéro." if blocker == "no_phone" else ""
    raise ResendPointless(
        f"Ce message ne peut pas être renvoyé : {BLOCKER_PHRASE[blocker]}.{hint}", reason=blocker
    )


async def resend(
    session: AsyncSession, *, notification_id: int, agent_id: int | None = None
) -> NotificationRead:
    """Send a failed, skipped or undelivered message again now (within its useful window);
    the new message, as the convocation's timeline shows it."""
    original = await session.get(Notification, notification_id)
    if original is None:
        raise NotificationNotFound()
    if original.status not in RESENDABLE:
        raise NotResendable()
    appointment = await session.get_one(Appointment, original.appointment_id)
    if not planning.still_relevant(original.kind, appointment.status):
        raise NotResendable("La convocation a changé depuis : ce message n'a plus lieu d'être.")
    place, kind, policy = await _context(session, appointment)
    _check_recipient(kind, await session.get_one(Person, appointment.person_id))
    now = utcnow()
    notice = planning.plan_notice(
        now=now,
        not_after=original.send_not_after,
        window=policy.window,
        tolerated=policy.tolerated,
        tz=zone(place.timezone),
    )
    if notice.skipped_reason == planning.WINDOW_CLOSED:
        raise OutsideSendingHours()
    if not notice.planned:
        raise TooLateToSend()
    plan = await _Plan(session, appointment, agent_id).load()
    row = plan.add(
        NotificationKind(original.kind),
        send_at=notice.send_at,
        not_after=original.send_not_after,
        rule="renvoi",
    )
    await session.flush()
    (read,) = await _reads(session, [row], zone(place.timezone))
    return read
