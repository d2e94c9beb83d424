"""Pure lifecycle rules of a convocation. Each takes ``now`` and raises ``InvalidTransition``.

- cancel: only a booked convocation that has not started;
- reschedule: the same (the old one is cancelled with reason ``rescheduled``);
- honored / missed: only once it has started, and at most six months later;
- excused: before or after the start;
- an outcome can be corrected, or withdrawn (back to ``booked``); a cancelled convocation is final.

And who follows a convocation booked without an agent (``default_agent_id``).
"""

from __future__ import annotations

import calendar
from datetime import datetime

from app.appointments.errors import InvalidTransition
from app.models import AppointmentStatus, Role

OUTCOME_WINDOW_MONTHS = 6
OUTCOMES = frozenset(
    {AppointmentStatus.honored, AppointmentStatus.missed, AppointmentStatus.excused}
)


def add_months(instant: datetime, months: int) -> datetime:
    """Same day ``months`` later, clamped to the month's end (31 Aug + 6 months = 28/29 Feb)."""
    month_index = instant.month - 1 + months
    year, month = instant.year + month_index // 12, month_index % 12 + 1
    day = min(instant.day, calendar.monthrange(year, month)[1])
    return instant.replace(year=year, month=month, day=day)


def check_can_cancel(status: AppointmentStatus, starts_at: datetime, now: datetime) -> None:
    _require_booked_and_upcoming(status, starts_at, now, action="annulée")


def check_can_reschedule(status: AppointmentStatus, starts_at: datetime, now: datetime) -> None:
    _require_booked_and_upcoming(status, starts_at, now, action="reportée")


def _require_booked_and_upcoming(
    status: AppointmentStatus, starts_at: datetime, now: datetime, *, action: str
) -> None:
    if status is not AppointmentStatus.booked:
        raise InvalidTransition(
            f"Seule une convocation programmée peut être {action} (statut actuel : {status.value})."
        )
    if now >= starts_at:
        raise InvalidTransition(
            f"La convocation a déjà commencé : elle ne peut plus être {action}. "
            "Enregistrez plutôt son issue."
        )


def check_can_record(
    status: AppointmentStatus, outcome: AppointmentStatus, starts_at: datetime, now: datetime
) -> None:
    if status is AppointmentStatus.cancelled:
        raise InvalidTransition("Une convocation annulée ne peut pas recevoir d'issue.")
    if outcome is AppointmentStatus.cancelled:
        raise InvalidTransition("Pour annuler, utilisez l'action d'annulation.")
    if outcome is AppointmentStatus.booked:
        if status not in OUTCOMES:
            raise InvalidTransition("Aucune issue n'est enregistrée pour cette convocation.")
        return
    if outcome in (AppointmentStatus.honored, AppointmentStatus.missed):
        if now < starts_at:
            raise InvalidTransition(
                "La convocation n'a pas encore commencé : seule l'issue « excusée » est possible."
            )
        if now > add_months(starts_at, OUTCOME_WINDOW_MONTHS):
            raise InvalidTransition(
                "La convocation date de plus de six mois : son issue ne peut plus être enregistrée."
            )


def default_agent_id(
    *, booker_id: int | None, booker_role: str | None, referent_id: int | None
) -> int | None:
    """The agent of a convocation booked without one: the CPIP who books it; for anyone else
    (secretariat, manager, administrator), the person's referent, if any."""
    if booker_id is not None and booker_role == Role.cpip.value:
        return booker_id
    return referent_id
