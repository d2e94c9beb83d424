"""What will not go out, and why: said to the agent when a convocation is booked, moved or
cancelled, so they can phone the person or hand a paper convocation.

``recipient_blocker`` is the one answer to "can this person receive this convocation's SMS?":
the dispatcher asks it again at send time (``preparation._check``), so a warning given at
booking and the reason a message is later skipped never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from app.models import PLANNED, NotificationKind, NotificationStatus, PhoneStatus
from app.reminders import planning
from app.reminders.schemas import SmsWarning

# Reasons a planner gives for a message that will not go although the person could receive it.
TIMING_REASONS = (planning.WINDOW_CLOSED, planning.TOO_LATE)

# "Le SMS …", "le modèle …": each kind as a French complement.
KIND_PHRASE = {
    NotificationKind.summons.value: "de convocation",
    NotificationKind.reminder.value: "de rappel",
    NotificationKind.reschedule.value: "de changement de rendez-vous",
    NotificationKind.cancellation.value: "d'annulation",
    NotificationKind.missed.value: "de rendez-vous manqué",
}
# Why no SMS can reach the person, as the end of a French sentence.
BLOCKER_PHRASE = {
    "type_without_sms": "ce type de convocation n'envoie pas de SMS",
    "person_archived": "le dossier de la personne est archivé",
    "refused": "la personne a refusé les SMS",
    "no_phone": "la personne n'a pas de numéro de portable valide",
}
NO_SMS = "Aucun SMS ne préviendra la personne : appelez-la ou remettez-lui une convocation papier."


def recipient_blocker(
    *, sms_enabled: bool, archived: bool, phone: str | None, phone_status: str
) -> str | None:
    """Why no SMS of this convocation can reach the person (``None``: they can)."""
    if not sms_enabled:
        return "type_without_sms"
    if archived:
        return "person_archived"
    if phone_status == PhoneStatus.refused.value:
        return "refused"
    if phone is None or phone_status != PhoneStatus.valid.value:
        return "no_phone"
    return None


class PlannedRow(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def reason(self) -> str | None: ...


def _timing(reason: str, tolerated: planning.Window) -> str:
    if reason == planning.WINDOW_CLOSED:
        return (
            "les heures d'envoi tolérées du SPIP "
            f"({tolerated.start:%H:%M}–{tolerated.end:%H:%M}) ne laissent aucun moment avant "
            "la convocation"
        )
    return "il est trop tard pour l'envoyer avant la convocation"


def warnings_for(
    rows: Iterable[PlannedRow],
    *,
    blocker: str | None,
    tolerated: planning.Window,
    announces: bool = True,
) -> list[SmsWarning]:
    """One warning per message of ``rows`` (those just planned) that will not go, the person's
    reason if no SMS can reach them, and ``no_sms`` if nothing at all will (when ``announces``:
    the messages announce a convocation, unlike a cancellation). Reminders skipped because
    another message says the same (``covered_by_summons``, ``too_close``…) are not warned of."""
    rows = list(rows)
    warnings: list[SmsWarning] = []
    if blocker is not None:
        warnings.append(
            SmsWarning(
                code=blocker,
                kind=None,
                message=f"Aucun SMS ne partira : {BLOCKER_PHRASE[blocker]}.",
            )
        )
    else:
        for row in rows:
            if row.status == NotificationStatus.skipped.value and row.reason in TIMING_REASONS:
                warnings.append(
                    SmsWarning(
                        code=row.reason,
                        kind=NotificationKind(row.kind),
                        message=f"Le SMS {KIND_PHRASE[row.kind]} ne partira pas : "
                        f"{_timing(row.reason, tolerated)}.",
                    )
                )
    planned = any(row.status == PLANNED for row in rows)
    if announces and (blocker is not None or not planned):
        warnings.append(SmsWarning(code="no_sms", kind=None, message=NO_SMS))
    return warnings
