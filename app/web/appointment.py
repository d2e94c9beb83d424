"""The « Convocation » page: one convocation as an agent reads it — its details in the place's
time, and the timeline of its SMS (the API's ``reminders.service.timeline``) in words.

Nothing here decides: what may be done (cancel, reschedule, record an outcome, resend) is
asked of the domain's own rules (``appointments.rules``, ``reminders.planning``,
``models.RESENDABLE``, ``reminders.unsent.recipient_blocker``), which the services apply again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments import rules
from app.appointments.errors import InvalidTransition
from app.appointments.schemas import AppointmentView
from app.auth import access
from app.auth.access import Permission
from app.config import get_settings
from app.core.localtime import zone
from app.models import (
    RESENDABLE,
    Agent,
    AppointmentStatus,
    AppointmentType,
    NotificationKind,
    NotificationStatus,
    PartStatus,
    Person,
    Place,
    Spip,
)
from app.reminders import planning
from app.reminders import preview as reminder_preview
from app.reminders.schemas import NotificationRead
from app.reminders.unsent import BLOCKER_PHRASE, NO_SMS, recipient_blocker
from app.retention.service import months_before
from app.sms.base import AttemptOutcome
from app.web import today
from app.web.templating import french_date, french_time, sms_parts

# Each message kind as the timeline names it.
KIND_LABELS = {
    NotificationKind.summons.value: "Convocation",
    NotificationKind.reminder.value: "Rappel",
    NotificationKind.cancellation.value: "Avis d'annulation",
    NotificationKind.reschedule.value: "Avis de report (changement de date)",
    NotificationKind.missed.value: "Avis « non honorée » (absence constatée)",
}
# What the delivery receipts of each provider message said.
PART_LABELS = {
    PartStatus.sent.value: "accepté par l'opérateur",
    PartStatus.delivered.value: "distribué",
    PartStatus.undelivered.value: "non distribué",
    PartStatus.expired.value: "abandonné par le réseau",
    PartStatus.failed.value: "refusé",
}
ATTEMPT_LABELS = {
    AttemptOutcome.accepted.value: "accepté",
    AttemptOutcome.temporary.value: "échec temporaire (nouvel essai prévu)",
    AttemptOutcome.throttled.value: "ralenti par le fournisseur (nouvel essai prévu)",
    AttemptOutcome.permanent.value: "refusé",
    AttemptOutcome.skipped.value: "fournisseur non essayé",
}
# Why a message did not or will not go, as the end of « Pourquoi : … ».
REASONS = {
    "no_phone": "la personne n'a pas de numéro de portable valide (numéro à vérifier)",
    "refused": "la personne a refusé les SMS",
    "type_without_sms": "ce type de convocation n'envoie pas de SMS",
    "person_archived": "le dossier de la personne est archivé",
    "too_late": "trop tard pour l'envoyer avant la convocation",
    "window_closed": "hors des heures d'envoi du SPIP avant la convocation",
    "covered_by_summons": "la convocation par SMS annonce déjà la date",
    "covered_by_reschedule": "l'avis de report annonce déjà la nouvelle date",
    "already_reminded": "la personne a déjà reçu un rappel",
    "too_close": "trop proche d'un autre SMS",
    "appointment_cancelled": "la convocation a été annulée",
    "appointment_rescheduled": "la convocation a été déplacée",
    "appointment_honored": "la convocation a été honorée",
    "appointment_missed": "la convocation n'a pas été honorée",
    "appointment_excused": "la convocation a été excusée",
    "appointment_booked": "l'issue de la convocation a été retirée",
    "outcome_corrected": "l'issue a été corrigée",
    "replanned": "les rappels ont été replanifiés",
    "expired": "son dernier moment utile est passé",
    "network_expired": "le réseau a abandonné la distribution (téléphone éteint ?)",
    "permanent_error": "refusé par le fournisseur ou l'opérateur",
    "retries_exhausted": "échecs répétés chez le fournisseur",
}


@dataclass(frozen=True)
class Receipt:
    label: str
    when: datetime  # local to the place


@dataclass(frozen=True)
class SmsRow:
    id: int
    kind: str
    rule: str | None
    status: str
    badge: str
    planned_at: datetime  # local to the place, as for every instant below
    send_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    text: str | None
    text_final: bool  # the text as sent (else: as it will be, or would have been, sent)
    parts: str | None  # « 2 SMS (GSM-7) »
    reason: str | None  # why it did not, or will not, go out
    warns: bool  # the reason is a warning for the agent (an SMS that should go will not)
    receipts: list[Receipt] = field(default_factory=list)
    attempts: list[str] = field(default_factory=list)
    resendable: bool = False
    # Months after which the retention job erased the text (RGPD); None: not erased.
    erased_after_months: int | None = None


@dataclass(frozen=True)
class Detail:
    id: int
    person_id: int
    person: str
    type_label: str
    place: str
    place_address: str | None
    local_start: datetime
    zone_label: str | None
    duration_minutes: int
    agent: str | None
    status: str
    status_badge: str
    started: bool
    created_by: str | None
    created_at: datetime
    cancelled_at: datetime | None
    outcome_recorded_at: datetime | None
    outcome_recorded_by: str | None
    rescheduled_from_id: int | None
    rescheduled_to_id: int | None
    can_cancel: bool
    can_reschedule: bool
    outcomes: list[tuple[str, str]]  # (value, label) the home page's action accepts now
    blocker: str | None  # why no SMS can reach the person, in words
    phone_check: str | None  # a provider refused this number for good: check it with them
    place_id: int
    type_code: str
    timezone: str
    sms: list[SmsRow]


Check = Callable[[AppointmentStatus, datetime, datetime], None]


def _allowed(check: Check, view: AppointmentView, now: datetime) -> bool:
    a = view.appointment
    try:
        check(AppointmentStatus(a.status), a.starts_at, now)
    except InvalidTransition:
        return False
    return True


async def _name(session: AsyncSession, agent_id: int | None) -> str | None:
    if agent_id is None:
        return None
    agent = await session.get(Agent, agent_id)
    return agent.name if agent else None


async def load(
    session: AsyncSession,
    *,
    view: AppointmentView,
    messages: list[NotificationRead],
    viewer: Agent,
    now: datetime,
) -> Detail:
    a = view.appointment
    tz = zone(view.timezone)
    person = await session.get_one(Person, a.person_id)
    place = await session.get_one(Place, a.place_id)
    spip = await session.get_one(Spip, a.spip_id)
    kind = await session.get_one(AppointmentType, a.appointment_type_id)
    status, badge = today.status_of(view, now)
    writes = access.can(viewer, Permission.appointment_write)
    blocker = recipient_blocker(
        sms_enabled=kind.sms_enabled,
        archived=person.archived,
        phone=person.phone,
        phone_status=person.phone_status,
    )
    sms = await _timeline(
        session,
        view=view,
        messages=messages,
        spip=spip,
        place=place,
        blocker=blocker,
        resends=access.can(viewer, Permission.notification_resend),
        now=now,
    )
    return Detail(
        id=a.id,
        person_id=person.id,
        person=f"{person.last_name.upper()} {person.first_name}",
        type_label=view.type_label,
        place=place.name,
        place_address=place.address,
        local_start=a.starts_at.astimezone(tz),
        zone_label=today.zone_label(view.timezone, spip.timezone),
        duration_minutes=a.duration_minutes,
        agent=await _name(session, a.agent_id),
        status=status,
        status_badge=badge,
        started=now >= a.starts_at,
        created_by=await _name(session, a.created_by_id),
        created_at=a.created_at.astimezone(tz),
        cancelled_at=a.cancelled_at.astimezone(tz) if a.cancelled_at else None,
        outcome_recorded_at=a.outcome_recorded_at.astimezone(tz) if a.outcome_recorded_at else None,
        outcome_recorded_by=await _name(session, a.outcome_recorded_by_id),
        rescheduled_from_id=a.rescheduled_from_id,
        rescheduled_to_id=view.rescheduled_to_id,
        can_cancel=writes and _allowed(rules.check_can_cancel, view, now),
        can_reschedule=writes and _allowed(rules.check_can_reschedule, view, now),
        outcomes=today.actions_of(view, now) if writes else [],
        blocker=BLOCKER_PHRASE[blocker] if blocker else None,
        phone_check=_phone_check(person, tz),
        place_id=place.id,
        type_code=view.type_code,
        timezone=view.timezone,
        sms=sms,
    )


async def _timeline(
    session: AsyncSession,
    *,
    view: AppointmentView,
    messages: list[NotificationRead],
    spip: Spip,
    place: Place,
    blocker: str | None,
    resends: bool,
    now: datetime,
) -> list[SmsRow]:
    tz = zone(view.timezone)
    a = view.appointment
    texts: dict[str, tuple[str, str]] = {}  # kind → (text, parts) as the dispatcher renders it
    months = get_settings().retention_message_content_months
    erased_before = months_before(now, months)
    rows = []
    for m in messages:
        label, badge = today.SMS_STATUS[m.status.value]
        text, parts = m.body, sms_parts(m.segments, m.encoding)
        unsent = m.status.value in (NotificationStatus.planned, NotificationStatus.sending)
        # Texts of convocations older than the retention setting are erased by the retention
        # job (RGPD): say so, rather than show today's rendering as if it had been planned.
        erased = text is None and not unsent and a.starts_at < erased_before
        erased = erased and m.status is not NotificationStatus.cancelled
        if text is None and m.status is not NotificationStatus.cancelled and not erased:
            if m.kind.value not in texts:
                rendered = await reminder_preview.render_planned(
                    session,
                    spip=spip,
                    place=place,
                    type_code=view.type_code,
                    kind=m.kind,
                    starts_at=a.starts_at,
                )
                texts[m.kind.value] = (
                    rendered.text,
                    sms_parts(rendered.info.segments, rendered.info.encoding) or "",
                )
            text, parts = texts[m.kind.value]
        reason, warns = _reason(m, unsent=unsent, blocker=blocker)
        rows.append(
            SmsRow(
                id=m.id,
                kind=KIND_LABELS[m.kind.value],
                rule=m.rule,
                status=label,
                badge=badge,
                planned_at=m.planned_at.astimezone(tz),
                send_at=m.send_at.astimezone(tz),
                sent_at=m.sent_at.astimezone(tz) if m.sent_at else None,
                delivered_at=m.delivered_at.astimezone(tz) if m.delivered_at else None,
                text=text,
                text_final=m.body is not None,
                erased_after_months=months if erased else None,
                parts=parts,
                reason=reason,
                warns=warns,
                receipts=[
                    Receipt(PART_LABELS[p.status.value], p.status_at.astimezone(tz))
                    for p in m.parts
                ],
                attempts=[
                    f"{at.created_at.astimezone(tz):%d/%m %H:%M} : "
                    f"{ATTEMPT_LABELS[at.outcome.value]}"
                    for at in m.provider_attempts
                ],
                # What ``reminders.service.resend`` accepts: a failed, skipped or undelivered
                # message still relevant, before its deadline, to a person SMS can reach.
                resendable=resends
                and m.status.value in RESENDABLE
                and planning.still_relevant(m.kind.value, a.status)
                and blocker is None
                and now < m.send_not_after,
            )
        )
    return rows


def _phone_check(person: Person, tz: ZoneInfo) -> str | None:
    """``phone_problem``: set by the dispatcher when a provider refused the number for good."""
    if not person.phone_problem or person.phone is None:
        return None
    when = (
        f" le {french_date(person.phone_problem_at.astimezone(tz))}"
        if person.phone_problem_at
        else ""
    )
    return (
        f"Numéro à vérifier : un SMS vers ce numéro a été refusé définitivement{when}. "
        "Vérifiez le numéro avec la personne et corrigez-le sur sa fiche."
    )


def _reason(m: NotificationRead, *, unsent: bool, blocker: str | None) -> tuple[str | None, bool]:
    """Why it did not go; for one still to go, why it will not (the dispatcher asks
    ``recipient_blocker`` again at send time)."""
    if unsent:
        if blocker is not None:
            return f"Ne partira pas : {BLOCKER_PHRASE[blocker]}.", True
        return None, False
    if m.reason is None:
        return None, False
    words = REASONS.get(m.reason, m.reason)
    warns = m.status.value in (
        NotificationStatus.skipped,
        NotificationStatus.failed,
        NotificationStatus.undelivered,
        NotificationStatus.expired,
    ) and m.reason not in ("covered_by_summons", "covered_by_reschedule", "already_reminded")
    return f"Pourquoi : {words}.", warns


# What a success alert may report (``?fait=`` after an action, ``?nouvelle=1`` after booking).
DONE = ("annulee", "deplacee", "issue", "renvoye", "lien-desactive", "lien-nouveau")


@dataclass(frozen=True)
class Alert:
    title: str
    lines: list[str]
    warnings: list[str] = field(default_factory=list)


def _at(value: datetime) -> str:
    return f"le {french_date(value)} à {french_time(value)}"


def _notice(sms: list[SmsRow], kind: str, unsent_words: str) -> tuple[list[str], list[str]]:
    """What the last message of ``kind`` will do, in the agent's words."""
    rows = [r for r in sms if r.kind == KIND_LABELS[kind]]
    if not rows:
        return [unsent_words], []
    last = max(rows, key=lambda r: (r.planned_at, r.id))
    if last.reason and last.warns:
        return [], [f"{last.kind} : {last.reason}"]
    if last.status in ("Planifié", "En cours d'envoi"):
        return [f"{last.kind} par SMS prévu {_at(last.send_at)}."], []
    return [f"{last.kind} : {last.status.lower()}."], []


def success(detail: Detail, done: str | None, new: bool) -> Alert | None:
    """The success alert after booking or an action, read from what is stored now."""
    if new:
        planned = [
            f"{r.kind} par SMS prévu {_at(r.send_at)}."
            for r in detail.sms
            if r.status in ("Planifié", "En cours d'envoi") and not r.warns
        ]
        warnings = [r.reason for r in detail.sms if r.warns and r.reason]
        if detail.blocker:
            warnings = [f"Aucun SMS ne partira : {detail.blocker}.", NO_SMS]
        elif not planned:
            warnings.append(NO_SMS)
        return Alert("Convocation enregistrée", planned, warnings)
    if done == "annulee":
        lines, warnings = _notice(
            detail.sms,
            NotificationKind.cancellation.value,
            "La personne n'est pas prévenue par SMS.",
        )
        return Alert("Convocation annulée", lines, warnings)
    if done == "deplacee":
        lines, warnings = _notice(
            detail.sms, NotificationKind.reschedule.value, "La personne n'est pas prévenue par SMS."
        )
        when = f"Nouvelle date : {_at(detail.local_start)}" + (
            f" ({detail.zone_label})." if detail.zone_label else "."
        )
        return Alert("Convocation reportée", [when, *lines], warnings)
    if done == "issue":
        if detail.outcome_recorded_at is None:
            return Alert("Issue retirée", [])
        return Alert(f"Issue enregistrée : {detail.status}", [])
    if done == "renvoye":
        return Alert("SMS renvoyé", ["Le nouvel envoi apparaît dans le suivi des SMS."])
    if done == "lien-desactive":
        return Alert(
            "Lien de la convocation désactivé",
            ["Il mène désormais à une page « lien inactif » ; les prochains SMS n'en ont pas."],
        )
    if done == "lien-nouveau":
        return Alert(
            "Nouveau lien créé",
            ["L'ancien lien ne fonctionne plus ; les prochains SMS portent le nouveau."],
        )
    return None
