"""Delivery of sent messages: provider message ids ("parts") and the receipts that update them.

Rules (issue #4):

* every provider message id of a notification is a ``notification_part`` row, unique per
  provider, so a receipt finds its message whatever the provider's id scheme;
* a part's status only moves forward: ``sent`` → ``undelivered`` / ``expired`` / ``failed`` →
  ``delivered``. A late ``sent`` never overwrites anything, a duplicate changes nothing, and
  proof of delivery outranks a failure report that arrived out of order. Between two
  different failure reports the first one stays;
* the notification's status is folded from its parts, the worst part winning: one failed part
  makes the message failed, a message is ``delivered`` only when every part is, and stays
  ``sent`` while any part has no news — which is forever with a provider that gives no
  receipts (LINK Mobility, console): never shown as delivered;
* a provider's ``expired`` (the network gave up) shows on the notification as ``undelivered``
  with reason ``network_expired``: a notification's own ``expired`` means "never sent, too
  late", and an undelivered message can be resent by the agent;
* a verified receipt whose id is not recorded yet (it raced the dispatcher's write) is kept
  in ``pending_receipt`` and applied as soon as the id appears: right after the dispatcher
  records the send, and by a sweep in every tick. Pending receipts no id ever claims are
  dropped after ``PENDING_RETENTION``.

Concurrency: applying a receipt locks the notification row first (``FOR UPDATE`` on
PostgreSQL; SQLite serialises writers anyway), so two receipts for two parts of one message
cannot both fold the message from a stale view of its sibling part.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import utcnow
from app.models import (
    Notification,
    NotificationPart,
    NotificationStatus,
    PartStatus,
    PendingReceipt,
)
from app.sms.base import DeliveryStatus, Receipt

log = logging.getLogger("convoc.delivery")

PENDING_RETENTION: Final = timedelta(days=7)
SWEEP_BATCH: Final = 500

# Forward order of a part's statuses (equal ranks: the first report stays).
_RANK: Final = {
    PartStatus.sent: 0,
    PartStatus.undelivered: 1,
    PartStatus.expired: 1,
    PartStatus.failed: 1,
    PartStatus.delivered: 2,
}
# How bad a part's status is for the whole message (the worst part wins).
_SEVERITY: Final = {
    PartStatus.delivered: 0,
    PartStatus.sent: 1,
    PartStatus.expired: 2,
    PartStatus.undelivered: 3,
    PartStatus.failed: 4,
}
_NOTIFICATION_STATUS: Final = {
    PartStatus.delivered: NotificationStatus.delivered,
    PartStatus.sent: NotificationStatus.sent,
    PartStatus.expired: NotificationStatus.undelivered,
    PartStatus.undelivered: NotificationStatus.undelivered,
    PartStatus.failed: NotificationStatus.failed,
}
# Notification statuses a receipt may change (anything else was settled otherwise).
_FOLDABLE: Final = tuple(
    s.value
    for s in (
        NotificationStatus.sent,
        NotificationStatus.delivered,
        NotificationStatus.undelivered,
        NotificationStatus.failed,
    )
)


@dataclass
class ReceiptOutcome:
    """What became of the receipts of one request (the webhook answers these counts)."""

    applied: int = 0  # changed a part's status
    ignored: int = 0  # duplicate, or older news than what we hold
    pending: int = 0  # message id not recorded yet: kept for later

    def add(self, other: ReceiptOutcome) -> None:
        self.applied += other.applied
        self.ignored += other.ignored
        self.pending += other.pending


def _reference_id(reference: str | None) -> int | None:
    """Our reference is the notification id; anything else is not ours to trust."""
    if reference is None or not reference.isascii() or not reference.isdigit():
        return None
    value = int(reference)
    return value if 0 < value < 2**31 else None


async def apply_receipts(
    session: AsyncSession, *, provider: str, receipts: Iterable[Receipt]
) -> ReceiptOutcome:
    """Apply verified receipts from ``provider``; unknown ids are kept as pending."""
    outcome = ReceiptOutcome()
    for receipt in receipts:
        outcome.add(await _apply_one(session, provider, receipt))
    await session.flush()
    return outcome


async def _apply_one(session: AsyncSession, provider: str, receipt: Receipt) -> ReceiptOutcome:
    status = PartStatus(receipt.status.value)
    parts = await _parts_for(session, provider, receipt)
    if not parts:
        session.add(
            PendingReceipt(
                provider=provider,
                provider_message_id=_cut(receipt.provider_message_id, 100),
                notification_id=(
                    None if receipt.provider_message_id else _reference_id(receipt.reference)
                ),
                status=status.value,
                error_code=_cut(receipt.error_code, 60),
                occurred_at=receipt.occurred_at,
                received_at=utcnow(),
            )
        )
        log.info("sms.receipt_pending provider=%s status=%s", provider, status)
        return ReceiptOutcome(pending=1)
    if await _apply_to_parts(session, parts, status, receipt.error_code, receipt.occurred_at):
        return ReceiptOutcome(applied=1)
    return ReceiptOutcome(ignored=1)


async def _apply_to_parts(
    session: AsyncSession,
    parts: Sequence[NotificationPart],
    status: PartStatus,
    error_code: str | None,
    occurred_at: datetime | None,
) -> int:
    """Move ``parts`` forward to ``status`` and fold their notifications; returns parts changed."""
    notification_ids = sorted({p.notification_id for p in parts})
    await _lock(session, notification_ids)
    changed = 0
    for part in parts:
        changed += await _advance(session, part.id, status, error_code, occurred_at)
    if changed:
        for notification_id in notification_ids:
            await refresh_notification(session, notification_id)
    return changed


async def _parts_for(
    session: AsyncSession, provider: str, receipt: Receipt
) -> Sequence[NotificationPart]:
    stmt = select(NotificationPart).where(NotificationPart.provider == provider)
    if receipt.provider_message_id is not None:
        stmt = stmt.where(NotificationPart.provider_message_id == receipt.provider_message_id)
    else:
        notification_id = _reference_id(receipt.reference)
        if notification_id is None:
            return []
        stmt = stmt.where(NotificationPart.notification_id == notification_id)
    return (await session.scalars(stmt.order_by(NotificationPart.id))).all()


async def _lock(session: AsyncSession, notification_ids: list[int]) -> None:
    await session.execute(
        select(Notification.id)
        .where(Notification.id.in_(notification_ids))
        .order_by(Notification.id)
        .with_for_update()
    )


async def _advance(
    session: AsyncSession,
    part_id: int,
    status: PartStatus,
    error_code: str | None,
    occurred_at: datetime | None,
) -> int:
    """Move one part forward, atomically (the WHERE re-checks the status under the row lock)."""
    lower = [s.value for s, rank in _RANK.items() if rank < _RANK[status]]
    if not lower:
        return 0
    now = utcnow()
    result = await session.execute(
        update(NotificationPart)
        .where(NotificationPart.id == part_id, NotificationPart.status.in_(lower))
        .values(
            status=status.value,
            error_code=_cut(error_code, 60),
            status_at=occurred_at or now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def refresh_notification(session: AsyncSession, notification_id: int) -> None:
    """Fold the notification's status from its parts (the worst part wins)."""
    parts = (
        await session.execute(
            select(
                NotificationPart.status, NotificationPart.error_code, NotificationPart.status_at
            ).where(NotificationPart.notification_id == notification_id)
        )
    ).all()
    if not parts:
        return
    worst = max(parts, key=lambda p: _SEVERITY[PartStatus(p.status)])
    worst_status = PartStatus(worst.status)
    values: dict[str, object] = {"status": _NOTIFICATION_STATUS[worst_status].value}
    if worst_status is PartStatus.delivered:
        values["delivered_at"] = max(p.status_at for p in parts)
    elif worst_status is not PartStatus.sent:
        values["reason"] = "network_expired" if worst_status is PartStatus.expired else None
        values["last_error"] = worst.error_code
    await session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.status.in_(_FOLDABLE))
        .values(updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )


async def record_parts(
    session: AsyncSession,
    *,
    notification_id: int,
    provider: str,
    message_ids: Sequence[str],
) -> int:
    """Store the ids the provider gave for a message just sent, then apply their pending
    receipts. Returns how many pending receipts were applied."""
    return await record_parts_many(session, [(notification_id, provider, message_ids)])


async def record_parts_many(
    session: AsyncSession, sent: Sequence[tuple[int, str, Sequence[str]]]
) -> int:
    """``record_parts`` for several messages (notification id, provider, message ids) at once:
    one insert, one look-up of pending receipts."""
    now = utcnow()
    rows = []
    for notification_id, provider, message_ids in sent:
        ids = list(dict.fromkeys(_cut(i, 100) or "" for i in message_ids if i))
        rows += [
            {
                "notification_id": notification_id,
                "provider": provider,
                "provider_message_id": message_id,
                "status": PartStatus.sent.value,
                "status_at": now,
                "updated_at": now,
            }
            for message_id in ids
        ]
    if not rows:
        return 0
    result = await session.execute(
        _insert_ignoring_duplicates(session)
        .values(rows)
        .returning(NotificationPart.provider, NotificationPart.provider_message_id)
    )
    inserted = {(provider, message_id) for provider, message_id in result}
    for row in rows:
        if (row["provider"], row["provider_message_id"]) not in inserted:
            # Never fail the write over it: losing the send record would send the SMS again.
            log.error(
                "sms.duplicate_message_id provider=%s notification=%s",
                row["provider"],
                row["notification_id"],
            )
    keys = {(r["provider"], r["provider_message_id"]) for r in rows}
    notifications = {(r["provider"], r["notification_id"]) for r in rows}
    candidates = await session.scalars(
        select(PendingReceipt)
        .where(
            PendingReceipt.provider.in_({provider for provider, _ in keys}),
            or_(
                PendingReceipt.provider_message_id.in_({i for _, i in keys}),
                and_(
                    PendingReceipt.provider_message_id.is_(None),
                    PendingReceipt.notification_id.in_({n for _, n in notifications}),
                ),
            ),
        )
        .order_by(PendingReceipt.id)
    )
    pending = [
        row
        for row in candidates
        if (row.provider, row.provider_message_id) in keys
        or (
            row.provider_message_id is None and (row.provider, row.notification_id) in notifications
        )
    ]
    return await _apply_pending(session, pending)


async def _apply_pending(session: AsyncSession, rows: list[PendingReceipt]) -> int:
    applied = 0
    for row in rows:
        receipt = Receipt(
            status=DeliveryStatus(row.status),
            provider_message_id=row.provider_message_id,
            reference=str(row.notification_id) if row.notification_id else None,
        )
        parts = await _parts_for(session, row.provider, receipt)
        if not parts:
            continue
        status = PartStatus(row.status)
        await _apply_to_parts(session, parts, status, row.error_code, row.occurred_at)
        await session.delete(row)
        applied += 1
    await session.flush()
    return applied


async def sweep_pending(session: AsyncSession, now: datetime) -> int:
    """Apply pending receipts whose id has appeared since; drop those past retention."""
    await session.execute(
        delete(PendingReceipt).where(PendingReceipt.received_at < now - PENDING_RETENTION)
    )
    by_id = select(PendingReceipt).join(
        NotificationPart,
        and_(
            NotificationPart.provider == PendingReceipt.provider,
            NotificationPart.provider_message_id == PendingReceipt.provider_message_id,
        ),
    )
    by_reference = select(PendingReceipt).join(
        NotificationPart,
        and_(
            NotificationPart.provider == PendingReceipt.provider,
            PendingReceipt.provider_message_id.is_(None),
            NotificationPart.notification_id == PendingReceipt.notification_id,
        ),
    )
    rows: dict[int, PendingReceipt] = {}
    for stmt in (by_id, by_reference):
        for row in await session.scalars(stmt.order_by(PendingReceipt.id).limit(SWEEP_BATCH)):
            rows[row.id] = row
    return await _apply_pending(session, [rows[k] for k in sorted(rows)])


def _insert_ignoring_duplicates(session: AsyncSession) -> Any:
    """``INSERT … ON CONFLICT (provider, provider_message_id) DO NOTHING`` for this database."""
    if session.get_bind().dialect.name == "postgresql":
        statement: Any = postgresql_insert(NotificationPart)
    else:
        statement = sqlite_insert(NotificationPart)
    return statement.on_conflict_do_nothing(index_elements=["provider", "provider_message_id"])


def _cut(value: str | None, length: int) -> str | None:
    return value[:length] if value else None
