"""Convocation links: issued with each convocation, found from a visitor's token, revoked.

The key that turns a row's nonce into its token is the process's ``secret_key``
(``get_settings``): the booking that issues the row, the dispatcher that writes the link into
the SMS and the page that reads it back must all use the same one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.config import get_settings
from app.core.clock import utcnow
from app.links import tokens
from app.links.errors import NoLink
from app.models import Agent, Appointment, AppointmentType, ConvocationLink, Person, Place, Spip

REVOKED_ACTION = "convocation_link_revoked"
REISSUED_ACTION = "convocation_link_reissued"
# A reschedule of a reschedule…: a chain longer than this is not followed (a safety bound).
MAX_CHAIN = 50


def _secret() -> str:
    return get_settings().secret_key


def token_of(link: ConvocationLink) -> str:
    return tokens.token_for(_secret(), link.nonce)


def url_of(link: ConvocationLink) -> str | None:
    """The link as the SMS carry it; ``None`` when no public address is configured."""
    base = get_settings().link_base_url
    return tokens.link_url(base, token_of(link)) if base else None


def _fresh(link: ConvocationLink) -> None:
    link.nonce = tokens.new_nonce()
    link.token_hash = tokens.token_hash(tokens.token_for(_secret(), link.nonce))


async def issue(session: AsyncSession, *, appointment_id: int) -> ConvocationLink:
    """The link of a convocation just booked (the caller flushed it, so it has an id)."""
    link = ConvocationLink(appointment_id=appointment_id)
    _fresh(link)
    session.add(link)
    await session.flush()
    return link


async def link_of(session: AsyncSession, appointment_id: int) -> ConvocationLink | None:
    return await session.scalar(
        select(ConvocationLink).where(ConvocationLink.appointment_id == appointment_id)
    )


@dataclass(frozen=True)
class LinkTarget:
    """What a live link shows: its convocation, and the one that replaced it (if moved)."""

    token: str
    link: ConvocationLink
    appointment: Appointment
    # The end of the reschedule chain (``appointment`` itself when it was not moved).
    latest: Appointment
    place: Place  # the latest convocation's
    spip: Spip
    type_label: str

    @property
    def moved(self) -> bool:
        return self.latest.id != self.appointment.id


async def _successor(session: AsyncSession, appointment: Appointment) -> Appointment | None:
    return await session.scalar(
        select(Appointment)
        .where(Appointment.rescheduled_from_id == appointment.id)
        .order_by(Appointment.id.desc())
        .limit(1)
    )


async def latest_of(session: AsyncSession, appointment: Appointment) -> Appointment:
    """Follow reschedules to the convocation in force now."""
    current = appointment
    for _ in range(MAX_CHAIN):
        following = await _successor(session, current)
        if following is None:
            break
        current = following
    return current


def expires_at(latest: Appointment) -> datetime:
    return latest.starts_at + timedelta(days=get_settings().link_valid_days_after)


async def resolve(
    session: AsyncSession, token: str, *, now: datetime | None = None
) -> LinkTarget | None:
    """The live link ``token`` names; ``None`` for an unknown, revoked or expired one alike
    (the page answers all three the same way: no oracle)."""
    if not tokens.well_formed(token):
        return None
    link = await session.scalar(
        select(ConvocationLink).where(ConvocationLink.token_hash == tokens.token_hash(token))
    )
    if link is None or link.revoked_at is not None:
        return None
    appointment = await session.get_one(Appointment, link.appointment_id)
    latest = await latest_of(session, appointment)
    if (now or utcnow()) > expires_at(latest):
        return None
    place = await session.get_one(Place, latest.place_id)
    spip = await session.get_one(Spip, latest.spip_id)
    kind = await session.get_one(AppointmentType, latest.appointment_type_id)
    return LinkTarget(token, link, appointment, latest, place, spip, kind.label)


async def person_of(session: AsyncSession, target: LinkTarget) -> Person:
    return await session.get_one(Person, target.appointment.person_id)


async def _chain_back(session: AsyncSession, appointment: Appointment) -> list[int]:
    """This convocation's id and those it replaced: their pages all show this one."""
    ids = [appointment.id]
    previous = appointment.rescheduled_from_id
    while previous is not None and len(ids) < MAX_CHAIN:
        ids.append(previous)
        previous = await session.scalar(
            select(Appointment.rescheduled_from_id).where(Appointment.id == previous)
        )
    return ids


async def revoke(
    session: AsyncSession, *, appointment: Appointment, agent: Agent
) -> ConvocationLink:
    """Disable the convocation's link, and those of the convocations it replaced (their pages
    show this one): each then answers as an unknown link, and later SMS carry none."""
    own = await link_of(session, appointment.id)
    if own is None:
        raise NoLink()
    now = utcnow()
    ids = await _chain_back(session, appointment)
    links = await session.scalars(
        select(ConvocationLink).where(
            ConvocationLink.appointment_id.in_(ids), ConvocationLink.revoked_at.is_(None)
        )
    )
    for link in links:
        link.revoked_at, link.revoked_by_id = now, agent.id
        audit.record(
            session,
            REVOKED_ACTION,
            "appointment",
            link.appointment_id,
            agent=agent,
            spip_id=appointment.spip_id,
        )
    await session.flush()
    return own


async def reissue(
    session: AsyncSession, *, appointment: Appointment, agent: Agent
) -> ConvocationLink:
    """A new link for this convocation (a new nonce): the old one answers as unknown, the
    SMS still to go carry the new one."""
    link = await link_of(session, appointment.id)
    if link is None:
        link = await issue(session, appointment_id=appointment.id)
    else:
        _fresh(link)
        link.revoked_at, link.revoked_by_id = None, None
    audit.record(
        session,
        REISSUED_ACTION,
        "appointment",
        appointment.id,
        agent=agent,
        spip_id=appointment.spip_id,
    )
    await session.flush()
    return link
