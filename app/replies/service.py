"""Received SMS: matched to their sender's persons, a STOP recorded as the persons' refusal, a
reply attached to the convocation whose SMS it answers, for the referent to read.

Matching. The sender is read as E.164; the persons with that number, not archived, across
SPIPs (a number belongs to its owner: two files of one person in two SPIPs both stop). The
message is attached to the person whose SMS went out last (``SENT_STATUSES``, latest
``sent_at``) and to that SMS's convocation; with no SMS sent, to the latest-created of them;
with no person, to nobody (stored for the idempotency and for retention, counted in the logs,
shown to no one: no agent can tell whose it is).

A STOP records ``record_refusal_by_person(via=sms)`` for every person with the number (audited
with no agent), and one row without text; a reply keeps its text, personal data shown only to
the agents of the person's SPIP and never logged. A provider's retry (same provider and id) is
stored and applied once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import utcnow
from app.models import (
    SENT_STATUSES,
    Agent,
    Appointment,
    InboundKind,
    InboundMessage,
    Notification,
    Person,
    RefusalChannel,
)
from app.persons.phones import InvalidPhone, PhoneNotMobile, normalize_mobile
from app.persons.refusal import record_refusal_by_person
from app.replies.errors import ReplyNotFound
from app.replies.stop import is_stop
from app.sms.base import InboundSms

log = logging.getLogger("convoc.sms.inbound")


@dataclass
class ReceiveOutcome:
    accepted: int = 0  # stored now
    duplicates: int = 0  # already stored: a provider's retry
    stops: int = 0
    replies: int = 0
    unmatched: int = 0


def sender_e164(sender: str) -> str:
    """The sender as E.164 when it reads as a mobile, else as given (kept, matched to no one)."""
    raw = sender.strip()
    if raw.isdigit():
        raw = f"+{raw}"  # digits with their country code (Brevo)
    try:
        return normalize_mobile(raw, "FR")
    except (InvalidPhone, PhoneNotMobile):
        return raw[:20]


async def receive(session: AsyncSession, *, messages: Sequence[InboundSms]) -> ReceiveOutcome:
    """Store and apply ``messages``; the caller commits."""
    outcome = ReceiveOutcome()
    for message in messages:
        await _receive_one(session, message, outcome)
    return outcome


async def _receive_one(session: AsyncSession, message: InboundSms, outcome: ReceiveOutcome) -> None:
    known = await session.scalar(
        select(InboundMessage.id).where(
            InboundMessage.provider == message.provider,
            InboundMessage.provider_message_id == message.provider_message_id,
        )
    )
    if known is not None:
        outcome.duplicates += 1
        return
    phone = sender_e164(message.sender)
    persons = await _persons_with(session, phone)
    person, appointment_id = await _answered(session, persons)
    kind = InboundKind.stop if message.opt_out or is_stop(message.text) else InboundKind.reply
    row = InboundMessage(
        provider=message.provider,
        provider_message_id=message.provider_message_id,
        received_at=message.received_at,
        sender_phone=phone,
        person_id=person.id if person else None,
        appointment_id=appointment_id,
        spip_id=person.spip_id if person else None,
        kind=kind.value,
        body=message.text if kind is InboundKind.reply else None,
    )
    try:
        async with session.begin_nested():  # a concurrent retry inserted it first
            session.add(row)
            await session.flush()
    except IntegrityError:
        outcome.duplicates += 1
        return
    outcome.accepted += 1
    if kind is InboundKind.stop:
        outcome.stops += 1
        for owner in persons:
            record_refusal_by_person(session, owner, via=RefusalChannel.sms)
    else:
        outcome.replies += 1
    if person is None:
        outcome.unmatched += 1
    await session.flush()
    log.info(
        "sms.inbound provider=%s kind=%s matched=%s inbound_id=%s person_id=%s",
        message.provider,
        kind.value,
        "true" if person else "false",
        row.id,
        row.person_id if row.person_id is not None else "-",
    )


async def _persons_with(session: AsyncSession, phone: str) -> list[Person]:
    if not phone.startswith("+"):
        return []
    stmt = (
        select(Person).where(Person.phone == phone, Person.archived.is_(False)).order_by(Person.id)
    )
    return list(await session.scalars(stmt))


async def _answered(
    session: AsyncSession, persons: list[Person]
) -> tuple[Person | None, int | None]:
    """The person (and convocation) whose SMS went out last, among ``persons``."""
    if not persons:
        return None, None
    by_id = {p.id: p for p in persons}
    latest = (
        await session.execute(
            select(Appointment.person_id, Notification.appointment_id)
            .join(Appointment, Appointment.id == Notification.appointment_id)
            .where(
                Appointment.person_id.in_(by_id),
                Notification.status.in_(SENT_STATUSES),
                Notification.sent_at.is_not(None),
            )
            .order_by(Notification.sent_at.desc(), Notification.id.desc())
            .limit(1)
        )
    ).first()
    if latest is None:
        return persons[-1], None
    return by_id[latest.person_id], latest.appointment_id


# --- What agents read -------------------------------------------------------------------------


async def for_person(
    session: AsyncSession, person_id: int, *, limit: int = 50
) -> list[InboundMessage]:
    """A person's received SMS (replies and STOPs), latest first."""
    stmt = (
        select(InboundMessage)
        .where(InboundMessage.person_id == person_id)
        .order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc())
        .limit(limit)
    )
    return list(await session.scalars(stmt))


async def for_appointment(session: AsyncSession, appointment_id: int) -> list[InboundMessage]:
    """The SMS received in answer to a convocation's messages, oldest first (its timeline)."""
    stmt = (
        select(InboundMessage)
        .where(InboundMessage.appointment_id == appointment_id)
        .order_by(InboundMessage.received_at, InboundMessage.id)
    )
    return list(await session.scalars(stmt))


@dataclass(frozen=True)
class UnreadReply:
    reply: InboundMessage
    person: Person


async def unread(
    session: AsyncSession,
    *,
    spip_id: int,
    referent_id: int | None,
    limit: int = 20,
) -> tuple[list[UnreadReply], int]:
    """Unread replies of a SPIP's persons (of one referent's, when ``referent_id`` is given),
    latest first, and how many there are."""
    conditions = [
        InboundMessage.spip_id == spip_id,
        InboundMessage.read_at.is_(None),
        InboundMessage.kind == InboundKind.reply.value,
    ]
    if referent_id is not None:
        conditions.append(Person.referent_agent_id == referent_id)
    base = select(InboundMessage, Person).join(Person, Person.id == InboundMessage.person_id)
    rows = await session.execute(
        base.where(*conditions)
        .order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc())
        .limit(limit)
    )
    total = await session.scalar(
        select(func.count())
        .select_from(InboundMessage)
        .join(Person, Person.id == InboundMessage.person_id)
        .where(*conditions)
    )
    return [UnreadReply(r, p) for r, p in rows.all()], int(total or 0)


async def mark_read(
    session: AsyncSession,
    *,
    person: Person,
    reply_id: int,
    agent: Agent,
    now: datetime | None = None,
) -> InboundMessage:
    """The referent (or a colleague) has read reply ``reply_id`` of ``person``."""
    reply = await session.get(InboundMessage, reply_id)
    if reply is None or reply.person_id != person.id:
        raise ReplyNotFound()
    if reply.read_at is None:
        reply.read_at = now or utcnow()
        reply.read_by_id = agent.id
        await session.flush()
    return reply
