"""A change of a SPIP: saved by the spips service, then, when its public holidays' territory
changes, the unsent reminders of its future convocations planned again.

A place without a territory of its own takes its SPIP's (``effective_territory``), so a new
SPIP territory moves the reminders of a SPIP that avoids closed days, as a place's new
territory does (``place_change``). ``app.spips`` is below the reminders and cannot call them:
this use case, above both, is what ``PATCH /spips/{id}`` and the administration page call."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Spip
from app.reminders import service
from app.spips import service as spip_service
from app.spips.schemas import SpipUpdate


@dataclass(frozen=True)
class SpipChange:
    spip: Spip
    replanned: int  # reminder rows cancelled or added by the re-plan (0: nothing moved)


async def change_spip(session: AsyncSession, *, spip: Spip, data: SpipUpdate) -> SpipChange:
    before = spip.holiday_territory
    await spip_service.update_spip(session, spip=spip, data=data)
    if spip.holiday_territory == before:
        return SpipChange(spip, 0)
    # Re-planning a SPIP that does not avoid closed days changes nothing: a reminder still due
    # at the same instant keeps its row, one already sent is never repeated.
    return SpipChange(spip, await service.replan_spip(session, spip.id))
