"""The agenda, slot type or slot a route's path names, checked against the agent's SPIP."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.agendas import service
from app.agendas.errors import AgendaNotFound, SlotNotFound, SlotTypeNotFound
from app.auth.dependencies import CurrentAgent, ensure_scope
from app.core.schemas import IdPath
from app.db import SessionDep
from app.models import Agenda, Slot, SlotType


async def scoped_agenda(
    request: Request, agenda_id: IdPath, agent: CurrentAgent, session: SessionDep
) -> Agenda:
    agenda = await service.get_agenda(session, agenda_id)
    ensure_scope(
        request, agent, agenda.spip_id, AgendaNotFound, entity="agenda", entity_id=agenda.id
    )
    return agenda


async def scoped_slot_type(
    request: Request, slot_type_id: IdPath, agent: CurrentAgent, session: SessionDep
) -> tuple[SlotType, Agenda]:
    slot_type = await service.get_slot_type(session, slot_type_id)
    agenda = await service.get_agenda(session, slot_type.agenda_id)
    ensure_scope(
        request, agent, agenda.spip_id, SlotTypeNotFound, entity="slot_type", entity_id=slot_type.id
    )
    return slot_type, agenda


async def scoped_slot(
    request: Request, slot_id: IdPath, agent: CurrentAgent, session: SessionDep
) -> Slot:
    slot = await service.get_slot(session, slot_id)
    ensure_scope(request, agent, slot.spip_id, SlotNotFound, entity="slot", entity_id=slot.id)
    return slot


ScopedAgenda = Annotated[Agenda, Depends(scoped_agenda)]
ScopedSlotType = Annotated[tuple[SlotType, Agenda], Depends(scoped_slot_type)]
ScopedSlot = Annotated[Slot, Depends(scoped_slot)]
