"""What the page « Exploitation » shows, in French: the blocks of ``app.operations.board`` with
the timeline's words for kinds and reasons, and instants in Paris time (the national team's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.localtime import zone
from app.models import NotificationStatus
from app.operations import board, pauses, service
from app.operations.board import Failure
from app.sms.base import AttemptOutcome
from app.spips import service as spip_service
from app.web.appointment import ATTEMPT_LABELS, KIND_LABELS, REASONS
from app.web.templating import french_date, french_time

PARIS = zone(board.TEAM_ZONE)
STATUS_LABELS = {
    NotificationStatus.failed.value: ("Échec", "error"),
    NotificationStatus.expired.value: ("Expiré", "warning"),
}
OUTCOMES = [o.value for o in AttemptOutcome]
OUTCOME_LABELS = {o: ATTEMPT_LABELS.get(o, o).split(" (")[0] for o in OUTCOMES}


def when(value: datetime | None) -> str:
    """« vendredi 4 décembre 2026, 19h05 (Paris) », UTC in the title for the operators."""
    if value is None:
        return "—"
    local = value.astimezone(PARIS)
    return f"{french_date(local)}, {french_time(local)}"


def reason_label(code: str | None) -> str:
    if not code or code == "unknown":
        return "sans motif enregistré"
    return REASONS.get(code, code)


def percent(ratio: float | None) -> str:
    if ratio is None:
        return "—"
    return f"{round(ratio * 100)}\u202f%"


@dataclass(frozen=True)
class FailureRow:
    failure: Failure
    kind: str
    status: str
    badge: str
    reason: str
    at: str


def failure_rows(failures: list[Failure]) -> list[FailureRow]:
    rows = []
    for f in failures:
        label, badge = STATUS_LABELS.get(f.status, (f.status, "info"))
        rows.append(
            FailureRow(
                f, KIND_LABELS.get(f.kind, f.kind), label, badge, reason_label(f.reason), when(f.at)
            )
        )
    return rows


async def page_context(session: AsyncSession, now: datetime, sms: Any) -> dict[str, Any]:
    """Every block of the page, read in the request's one session."""
    failures, by_reason = await board.failures(session, now)
    spips = await spip_service.list_spips(session)
    active = await pauses.active_pauses(session)
    names = {s.id: s.name for s in spips}
    return {
        "nav": "administration",
        "queue": await service.queue_read(session, now),
        "providers": await board.providers_health(session, now, service.configured_providers(sms)),
        "ticks": await board.last_ticks(session),
        "failures": failure_rows(failures),
        "by_reason": [(reason_label(code), code, n) for code, n in by_reason.items()],
        "pauses": active,
        "national_pause": any(p.spip_id is None for p in active),
        "spips": spips,
        "spip_names": names,
        "outcomes": OUTCOMES,
        "outcome_labels": OUTCOME_LABELS,
        "when": when,
        "percent": percent,
        "now": now,
    }
