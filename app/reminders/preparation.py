"""Preparing claimed messages for sending: re-check everything at send time, render the text
from current data. One transaction for a group of messages (those waiting for a sending slot
together), a handful of statements whatever the group's size.

For each message the outcome is a ``Preparation``: what to send (``Prepared``), or how the
row was settled without sending (``Settled``: skipped, cancelled, deferred to the next window,
expired), or the error that row raised (``PrepareFailed``: one bad row never fails the others,
its lease brings it back).

The rows are read as plain columns, not ORM objects: this runs for every SMS Convoc sends,
and loading six mapped objects per message cost more than the rest of the preparation.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeAlias

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import utcnow
from app.core.localtime import zone
from app.links import tokens as link_tokens
from app.models import (
    PLANNED,
    SENDING,
    Appointment,
    AppointmentType,
    ConvocationLink,
    Notification,
    NotificationKind,
    NotificationStatus,
    Person,
    Place,
    Spip,
)
from app.reminders import planning
from app.reminders.bulk import NOTIFICATION, update_notifications
from app.reminders.outcomes import Disposition, Target
from app.reminders.policies import SpipPolicy, get_policy
from app.reminders.references import reference_of
from app.reminders.templates import effective_template, placeholder_values, render_info
from app.reminders.unsent import recipient_blocker
from app.sms.base import OutgoingSms


class PrepareConfig(Protocol):
    @property
    def worker_id(self) -> str: ...
    @property
    def default_sender(self) -> str: ...
    @property
    def lease(self) -> timedelta: ...
    # The convocation link's key and public address (``app.links``); an empty secret or no
    # address: the SMS carry no link.
    @property
    def link_secret(self) -> str: ...
    @property
    def link_base_url(self) -> str | None: ...


@dataclass(frozen=True)
class Prepared:
    """A message ready to go, and what to record with its outcome."""

    message: OutgoingSms
    not_after: datetime
    attempts: int
    target: Target
    # The text as sent (body, encoding, segments): written with the outcome, one UPDATE.
    rendered: dict[str, object]


@dataclass(frozen=True)
class Settled:
    """Settled without sending (its row already written): how."""

    disposition: Disposition


@dataclass(frozen=True)
class PrepareFailed:
    """Preparing this message raised: nothing was written, its lease will bring it back."""

    error: Exception


Preparation: TypeAlias = Prepared | Settled | PrepareFailed


class TtlCache:
    """Values read from the database for a few seconds (a SPIP's policy, a template's wording):
    a busy tick reads each once instead of once per message, and an agent's edit is seen
    within ``ttl`` seconds."""

    def __init__(self, ttl: float = 5.0) -> None:
        self.ttl = ttl
        self._values: dict[object, tuple[float, object]] = {}

    def get(self, key: object) -> object | None:
        hit = self._values.get(key)
        if hit is None or time.monotonic() - hit[0] > self.ttl:
            return None
        return hit[1]

    def put(self, key: object, value: object) -> None:
        self._values[key] = (time.monotonic(), value)


_Row = Row[*tuple[Any, ...]]  # one row of _COLUMNS, read by label


@dataclass(frozen=True)
class _Place:
    name: str
    address: str | None
    phone: str | None
    info_url: str | None
    timezone: str


_COLUMNS = (
    Notification.id,
    Notification.reference_nonce,
    Notification.kind,
    Notification.attempts,
    Notification.send_not_after,
    Appointment.status.label("appointment_status"),
    Appointment.starts_at,
    Appointment.spip_id,
    Person.id.label("person_id"),
    Person.phone,
    Person.phone_status,
    Person.archived,
    Place.name.label("place_name"),
    Place.address.label("place_address"),
    Place.phone.label("place_phone"),
    Place.info_url.label("place_info_url"),
    Place.timezone,
    Spip.name.label("spip_name"),
    AppointmentType.code.label("type_code"),
    AppointmentType.sms_enabled,
    ConvocationLink.nonce.label("link_nonce"),
    ConvocationLink.revoked_at.label("link_revoked_at"),
    ConvocationLink.token_hash.label("link_token_hash"),
)


async def prepare_many(
    session: AsyncSession,
    notification_ids: Sequence[int],
    config: PrepareConfig,
    cache: TtlCache,
    *,
    just_claimed: bool = False,
) -> list[Preparation]:
    """For each id, in order: what to send, how it was settled, or the error it raised.

    ``just_claimed``: the rows were claimed by this worker in this very transaction, so their
    leases are fresh and held (renewing them would write every row a second time).
    """
    if just_claimed:
        renewed = set(notification_ids)
    else:
        renewed = await _renew_leases(session, notification_ids, config)
    loaded: dict[int, _Row] = {}
    if renewed:
        rows = await session.execute(
            select(*_COLUMNS)
            .join(Appointment, Appointment.id == Notification.appointment_id)
            .join(Person, Person.id == Appointment.person_id)
            .join(Place, Place.id == Appointment.place_id)
            .join(Spip, Spip.id == Appointment.spip_id)
            .join(AppointmentType, AppointmentType.id == Appointment.appointment_type_id)
            # Outer: a convocation booked before the links has none.
            .outerjoin(ConvocationLink, ConvocationLink.appointment_id == Appointment.id)
            .where(Notification.id.in_(renewed))
        )
        loaded = {row.id: row for row in rows}
    results: list[Preparation] = []
    settled: list[tuple[int, dict[str, Any]]] = []
    for notification_id in notification_ids:
        row = loaded.get(notification_id)
        if row is None:  # another worker took it over after our lease ran out
            results.append(Settled(Disposition.skipped))
            continue
        try:
            policy = await _policy(session, cache, row.spip_id)
            verdict = _check(row, policy, utcnow())
            if verdict is not None:
                disposition, values = verdict
                settled.append((notification_id, values))
                results.append(Settled(disposition))
                continue
            body = await _template(session, cache, row)
            results.append(_render(row, policy, body, config))
        except Exception as exc:  # isolate: the lease will bring the row back
            results.append(PrepareFailed(exc))
    if settled:
        await _settle(session, settled, config.worker_id)
    return results


async def _renew_leases(
    session: AsyncSession, notification_ids: Sequence[int], config: PrepareConfig
) -> set[int]:
    """Renew the leases, atomically and only where this worker still holds them: a message
    that waited must not let another worker take its row over between this check and the
    send. The ids whose lease this worker holds."""
    return set(
        await session.scalars(
            update(Notification)
            .where(
                Notification.id.in_(notification_ids),
                Notification.status == SENDING,
                Notification.lease_owner == config.worker_id,
            )
            .values(lease_expires_at=utcnow() + config.lease)
            .returning(Notification.id)
            .execution_options(synchronize_session=False)
        )
    )


def _check(
    row: _Row, policy: SpipPolicy, now: datetime
) -> tuple[Disposition, dict[str, Any]] | None:
    """Why this message must not go now, as (disposition, columns to write); ``None`` if it
    may."""

    def settle(
        status: NotificationStatus, reason: str, disposition: Disposition
    ) -> tuple[Disposition, dict[str, Any]]:
        return disposition, {"status": status.value, "reason": reason}

    if not planning.still_relevant(row.kind, row.appointment_status):
        return settle(
            NotificationStatus.cancelled,
            f"appointment_{row.appointment_status}",
            Disposition.cancelled,
        )
    blocker = recipient_blocker(
        sms_enabled=row.sms_enabled,
        archived=row.archived,
        phone=row.phone,
        phone_status=row.phone_status,
    )
    if blocker is not None:
        return settle(NotificationStatus.skipped, blocker, Disposition.skipped)
    # The planner's own rule: inside the send window, or the tolerated one when the send
    # window leaves no moment before the deadline; deferred to the first such moment.
    moment = planning.dispatch_moment(
        now=now,
        not_after=row.send_not_after,
        window=policy.window,
        tolerated=policy.tolerated,
        tz=zone(row.timezone),
    )
    if moment is None:
        return settle(NotificationStatus.expired, "expired", Disposition.expired)
    if moment > now:
        return Disposition.deferred, {"status": PLANNED, "send_at": moment}
    return None


def _link(row: _Row, config: PrepareConfig) -> str | None:
    """The convocation's link as the SMS carries it, derived from its nonce (never stored)."""
    if row.link_nonce is None or row.link_revoked_at is not None:
        return None
    if not config.link_secret or not config.link_base_url:
        return None
    token = link_tokens.token_for(config.link_secret, row.link_nonce)
    if link_tokens.token_hash(token) != row.link_token_hash:
        # Issued under another secret_key (rotated since): that link would open nothing.
        return None
    return link_tokens.link_url(config.link_base_url, token)


def _render(row: _Row, policy: SpipPolicy, body: str, config: PrepareConfig) -> Prepared:
    place = _Place(
        row.place_name, row.place_address, row.place_phone, row.place_info_url, row.timezone
    )
    link = _link(row, config)
    values = placeholder_values(
        spip_name=row.spip_name, place=place, starts_at=row.starts_at, link=link
    )
    rendered = render_info(body, values, gsm7_friendly=policy.body.gsm7_friendly)
    # The text kept on the row (agents read it) holds the link without its token: a working
    # link is in no column (``app.links.tokens``).
    recorded = rendered.text.replace(link, link_tokens.masked(link)) if link else rendered.text
    return Prepared(
        OutgoingSms(
            to=row.phone,
            body=rendered.text,
            sender=policy.body.sender or config.default_sender,
            reference=reference_of(row.id, row.reference_nonce),
            not_after=row.send_not_after,
        ),
        row.send_not_after,
        row.attempts,
        Target(row.id, config.worker_id, row.person_id, row.phone),
        {
            "body": recorded,
            "encoding": rendered.info.encoding,
            "segments": rendered.info.segments,
        },
    )


async def _policy(session: AsyncSession, cache: TtlCache, spip_id: int) -> SpipPolicy:
    policy = cache.get(("policy", spip_id))
    if not isinstance(policy, SpipPolicy):
        policy = await get_policy(session, spip_id)
        cache.put(("policy", spip_id), policy)
    return policy


async def _template(session: AsyncSession, cache: TtlCache, row: _Row) -> str:
    key = ("template", row.spip_id, row.kind, row.type_code)
    body = cache.get(key)
    if not isinstance(body, str):
        body, _ = await effective_template(
            session, spip_id=row.spip_id, kind=NotificationKind(row.kind), type_code=row.type_code
        )
        cache.put(key, body)
    return body


async def _settle(
    session: AsyncSession, rows: list[tuple[int, dict[str, Any]]], worker_id: str
) -> None:
    """Write the rows settled without sending, where this worker still holds them."""
    now = utcnow()
    await update_notifications(
        session,
        (
            (
                notification_id,
                {"lease_owner": None, "updated_at": now, **values, "_owner": worker_id},
            )
            for notification_id, values in rows
        ),
        NOTIFICATION.c.status == SENDING,
        NOTIFICATION.c.lease_owner == bindparam("_owner"),
    )
