"""« À renseigner »: past convocations without an outcome, oldest first — and their count, for
the home page's banner. Only those whose outcome can still be recorded (the lifecycle rules
allow six months)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments import rules
from app.appointments import service as appointment_service
from app.appointments.schemas import AppointmentFilters
from app.auth import access
from app.core.clock import utcnow
from app.core.pagination import PageParams
from app.models import Agent, AppointmentStatus, Spip
from app.web.today import Row, Scope, list_rows, scope_of

PAGE_SIZE = 50


@dataclass(frozen=True)
class Worklist:
    rows: list[Row]
    total: int
    page: int
    pages: int
    scope: Scope


def unrecorded(agent_id: int | None, place_id: int | None) -> AppointmentFilters:
    now = utcnow()
    return AppointmentFilters(
        agent_id=agent_id,
        place_id=place_id,
        status=AppointmentStatus.booked,
        starts_from=rules.add_months(now, -rules.OUTCOME_WINDOW_MONTHS),
        starts_to=now,
    )


async def load(
    session: AsyncSession,
    *,
    agent: Agent,
    spip: Spip,
    agent_filter: int | None,
    place_filter: int | None,
    page: int,
) -> Worklist:
    scope = await scope_of(
        session, agent=agent, spip=spip, agent_filter=agent_filter, place_filter=place_filter
    )
    filters = unrecorded(scope.agent_id, scope.place_id)
    page = max(1, page)
    rows, total = await list_rows(
        session,
        agent=agent,
        spip=spip,
        filters=filters,
        page=PageParams(limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE),
        scope=scope,
    )
    pages = max(1, -(-total // PAGE_SIZE))
    return Worklist(rows, total, page, pages, scope)


def warns(
    waiting: int, past: int, *, per_agent: int, agents: int, service_percent: int | None
) -> bool:
    """Whether ``waiting`` unrecorded convocations deserve a warning rather than a note.

    Mon Suivi Justice's two rules: more than ``per_agent`` per agent of the list (``agents``),
    or, on a whole service's page (``service_percent`` given), more than that share of its
    ``past`` convocations — a busy service with 10 agents and 40 waiting out of 100 is late,
    though 40 is below 10 × 5.
    """
    if waiting > per_agent * max(1, agents):
        return True
    return service_percent is not None and past > 0 and waiting * 100 > service_percent * past


async def past_count(session: AsyncSession, *, agent: Agent, spip: Spip, scope: Scope) -> int:
    """The list's past convocations whose outcome can still be recorded, cancelled ones aside:
    what the share of unrecorded ones is taken of."""
    window = replace(unrecorded(scope.agent_id, scope.place_id), status=None)
    return await appointment_service.count_appointments(
        session,
        filters=window.within_spip(access.list_scope(agent, spip.id)),
        excluding=AppointmentStatus.cancelled,
    )


async def count(session: AsyncSession, *, agent: Agent, spip: Spip, scope: Scope) -> int:
    """How many convocations of this list (the agent's, or the filtered service's) wait."""
    filters = unrecorded(scope.agent_id, scope.place_id)
    return await appointment_service.count_appointments(
        session, filters=filters.within_spip(access.list_scope(agent, spip.id))
    )
