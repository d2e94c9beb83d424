"""Seats of a slot, taken and given back without races.

Why a conditional UPDATE rather than ``SELECT … FOR UPDATE``: ``UPDATE slot SET booked =
booked + 1 WHERE id = :id AND booked < capacity AND NOT closed`` is one statement and one round
trip, with no window between reading the count and writing it. On PostgreSQL (READ COMMITTED) a
second booking of the same slot waits on the first one's row lock, then re-evaluates its WHERE
on the committed row: it updates nothing once the slot is full, and is told so. On SQLite every
transaction begins IMMEDIATE (``app.db``), so bookings are serialised and the same statement is
just as right. The CHECK ``booked <= capacity`` backs it at the database level.

The lock is held until the booking commits (its reminders are planned in the same
transaction): bookings of one slot queue for milliseconds, bookings of other slots never wait.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.util import identity_key

from app.agendas.errors import SlotClosed, SlotFull, SlotNotFound
from app.models import Slot


async def take_seat(session: AsyncSession, slot_id: int) -> None:
    """Take one seat of the slot, or raise ``SlotFull`` / ``SlotClosed`` / ``SlotNotFound``."""
    taken = await session.execute(
        update(Slot)
        .where(Slot.id == slot_id, Slot.booked < Slot.capacity, Slot.closed.is_(False))
        .values(booked=Slot.booked + 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount == 1:  # type: ignore[attr-defined]
        await _refresh(session, slot_id)
        return
    closed = await session.scalar(select(Slot.closed).where(Slot.id == slot_id))
    if closed is None:
        raise SlotNotFound()
    if closed:
        raise SlotClosed()
    raise SlotFull()


async def release_seat(session: AsyncSession, slot_id: int) -> None:
    """Give one seat back (a cancellation, a convocation moved out of the slot)."""
    await session.execute(
        update(Slot)
        .where(Slot.id == slot_id, Slot.booked > 0)
        .values(booked=Slot.booked - 1)
        .execution_options(synchronize_session=False)
    )
    await _refresh(session, slot_id)


async def move_seat(session: AsyncSession, *, from_id: int | None, to_id: int | None) -> None:
    """A convocation moved out of slot ``from_id`` and/or into slot ``to_id``. The two rows are
    locked in id order, so two moves crossing each other (A to B, B to A) cannot deadlock."""
    steps = [(from_id, release_seat), (to_id, take_seat)]
    for slot_id, step in sorted(
        ((i, f) for i, f in steps if i is not None), key=lambda pair: pair[0]
    ):
        await step(session, slot_id)


async def _refresh(session: AsyncSession, slot_id: int) -> None:
    """A slot already loaded in the session shows the new count (the UPDATE bypassed it)."""
    loaded = session.sync_session.identity_map.get(identity_key(Slot, slot_id))
    if loaded is not None:
        await session.refresh(loaded, ["booked"])
