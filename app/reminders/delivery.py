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
from typing import Any, Final, cast

from sqlalchemy import Table, and_, bindparam, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import metrics
from app.core.clock import utcnow
from app.core.upsert import insert_for
from app.models import (
    Notification,
    NotificationPart,
    NotificationStatus,
    PartStatus,
    PendingReceipt,
)
from app.reminders.bulk import NOTIFICATION, update_notifications
from app.reminders.references import notification_id_of
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
    """The notification our reference names (``app.reminders.references``); anything else is
    not ours to trust."""
    return notification_id_of(reference)


async def apply_receipts(
    session: AsyncSession, *, provider: str, receipts: Iterable[Receipt]
) -> ReceiptOutcome:
    """Apply verified receipts from ``provider``, in order; unknown ids are kept as pending.

    A batch costs a handful of statements whatever its size (look up the parts, lock their
    notifications, read the parts' current statuses, write what moved, fold): providers that
    post receipts in batches, and the sweep, apply hundreds per transaction.
    """
    items = [(provider, receipt) for receipt in receipts]
    found = await _apply_batch(session, items)
    outcome = ReceiptOutcome()
    now = utcnow()
    for (_, receipt), result in zip(items, found, strict=True):
        if result is None:
            session.add(_pending_row(provider, receipt, now))
            outcome.pending += 1
        elif result:
            outcome.applied += 1
        else:
            outcome.ignored += 1
    if outcome.pending:
        log.info("sms.receipt_pending provider=%s count=%s", provider, outcome.pending)
    await session.flush()
    return outcome


def _pending_row(provider: str, receipt: Receipt, now: datetime) -> PendingReceipt:
    return PendingReceipt(
        provider=provider,
        provider_message_id=_cut(receipt.provider_message_id, 100),
        notification_id=(None if receipt.provider_message_id else _reference_id(receipt.reference)),
        status=PartStatus(receipt.status.value).value,
        error_code=_cut(receipt.error_code, 60),
        occurred_at=receipt.occurred_at,
        received_at=now,
    )


@dataclass
class _Part:
    """A part's current state, read under its notification's lock."""

    id: int
    notification_id: int
    status: PartStatus
    error_code: str | None
    status_at: datetime
    changed: bool = False


async def _apply_batch(
    session: AsyncSession, items: Sequence[tuple[str, Receipt]]
) -> list[bool | None]:
    """Apply (provider, receipt) pairs in order. For each: ``True`` if it moved a part forward,
    ``False`` if it was old news, ``None`` if no recorded part matches it (yet)."""
    matches = await _matching_parts(session, items)
    notification_ids = sorted({n for ids in matches for _, n in ids})
    if not notification_ids:
        return [None] * len(items)
    await _lock(session, notification_ids)
    parts = {
        row.id: _Part(
            row.id, row.notification_id, PartStatus(row.status), row.error_code, row.status_at
        )
        for row in await session.execute(
            select(
                NotificationPart.id,
                NotificationPart.notification_id,
                NotificationPart.status,
                NotificationPart.error_code,
                NotificationPart.status_at,
            ).where(NotificationPart.notification_id.in_(notification_ids))
        )
    }
    now = utcnow()
    results: list[bool | None] = []
    for (_, receipt), ids in zip(items, matches, strict=True):
        if not ids:
            results.append(None)
            continue
        status = PartStatus(receipt.status.value)
        moved = False
        for part_id, _ in ids:
            part = parts.get(part_id)
            if part is None or _RANK[status] <= _RANK[part.status]:
                continue  # gone meanwhile, or not news: statuses only move forward
            part.status, part.error_code = status, _cut(receipt.error_code, 60)
            part.status_at, part.changed, moved = receipt.occurred_at or now, True, True
        results.append(moved)
    changed = [p for p in parts.values() if p.changed]
    if changed:
        await _write_parts(session, changed, now)
        touched = {p.notification_id for p in changed}
        await _fold(session, [p for p in parts.values() if p.notification_id in touched], now)
    return results


async def _matching_parts(
    session: AsyncSession, items: Sequence[tuple[str, Receipt]]
) -> list[list[tuple[int, int]]]:
    """For each receipt, the (part id, notification id) it is about: by the provider's message
    id, or, without one, every part of the notification its reference names."""
    by_id: dict[str, set[str]] = {}
    by_reference: dict[str, set[int]] = {}
    for provider, receipt in items:
        if receipt.provider_message_id is not None:
            ids = by_id.setdefault(provider, set())
            ids.add(receipt.provider_message_id)
            if receipt.alternate_message_id is not None:
                ids.add(receipt.alternate_message_id)
        elif (notification_id := _reference_id(receipt.reference)) is not None:
            by_reference.setdefault(provider, set()).add(notification_id)
    found_by_id: dict[tuple[str, str], list[tuple[int, int]]] = {}
    found_by_reference: dict[tuple[str, int], list[tuple[int, int]]] = {}
    columns = (
        NotificationPart.id,
        NotificationPart.notification_id,
        NotificationPart.provider,
        NotificationPart.provider_message_id,
    )
    for provider, message_ids in by_id.items():
        for row in await session.execute(
            select(*columns).where(
                NotificationPart.provider == provider,
                NotificationPart.provider_message_id.in_(message_ids),
            )
        ):
            key = (row.provider, row.provider_message_id)
            found_by_id.setdefault(key, []).append((row.id, row.notification_id))
    for provider, notification_ids in by_reference.items():
        for row in await session.execute(
            select(*columns)
            .where(
                NotificationPart.provider == provider,
                NotificationPart.notification_id.in_(notification_ids),
            )
            .order_by(NotificationPart.id)
        ):
            key_ref = (row.provider, row.notification_id)
            found_by_reference.setdefault(key_ref, []).append((row.id, row.notification_id))
    matches: list[list[tuple[int, int]]] = []
    for provider, receipt in items:
        if receipt.provider_message_id is not None:
            exact = found_by_id.get((provider, receipt.provider_message_id), [])
            alternate = found_by_id.get((provider, receipt.alternate_message_id or ""), [])
            matches.append(exact or alternate)
        else:
            notification_id = _reference_id(receipt.reference)
            matches.append(found_by_reference.get((provider, notification_id or 0), []))
    return matches


async def _lock(session: AsyncSession, notification_ids: list[int]) -> None:
    await session.execute(
        select(Notification.id)
        .where(Notification.id.in_(notification_ids))
        .order_by(Notification.id)
        .with_for_update()
    )


async def _write_parts(session: AsyncSession, parts: Sequence[_Part], now: datetime) -> None:
    table = NotificationPart.__table__
    connection = await session.connection()
    await connection.execute(
        update(table).where(table.c.id == bindparam("_pid")),  # type: ignore[arg-type]
        [
            {
                "_pid": p.id,
                "status": p.status.value,
                "error_code": p.error_code,
                "status_at": p.status_at,
                "updated_at": now,
            }
            for p in parts
        ],
    )


async def _fold(session: AsyncSession, parts: Sequence[_Part], now: datetime) -> None:
    """Fold each notification's status from all its parts (the worst part wins)."""
    by_notification: dict[int, list[_Part]] = {}
    for part in parts:
        by_notification.setdefault(part.notification_id, []).append(part)
    await update_notifications(
        session,
        (
            (notification_id, {"updated_at": now, **_folded(siblings)})
            for notification_id, siblings in by_notification.items()
        ),
        # Not IN (…): an expanding list cannot be used in an executemany.
        or_(*(NOTIFICATION.c.status == status for status in _FOLDABLE)),
    )


def _folded(parts: Sequence[_Part]) -> dict[str, object]:
    worst = max(parts, key=lambda p: _SEVERITY[p.status])
    values: dict[str, object] = {"status": _NOTIFICATION_STATUS[worst.status].value}
    if worst.status is PartStatus.delivered:
        values["delivered_at"] = max(p.status_at for p in parts)
    elif worst.status is not PartStatus.sent:
        values["reason"] = "network_expired" if worst.status is PartStatus.expired else None
        values["last_error"] = worst.error_code
    return values


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
    # Parameters apart from the statement (executemany), not .values(rows): one statement
    # shape, compiled once and cached, whatever the number of rows.
    result = await session.execute(
        _insert_ignoring_duplicates(session).returning(
            NotificationPart.__table__.c.provider, NotificationPart.__table__.c.provider_message_id
        ),
        rows,
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
    """Apply pending receipts whose message is now recorded, and forget them."""
    if not rows:
        return 0
    found = await _apply_batch(session, [(row.provider, _receipt_of(row)) for row in rows])
    done = [row.id for row, result in zip(rows, found, strict=True) if result is not None]
    if done:
        await session.execute(
            delete(PendingReceipt)
            .where(PendingReceipt.id.in_(done))
            .execution_options(synchronize_session=False)
        )
    metrics.RECEIPTS_PENDING_APPLIED.inc(len(done))
    return len(done)


def _receipt_of(row: PendingReceipt) -> Receipt:
    return Receipt(
        status=DeliveryStatus(row.status),
        provider_message_id=row.provider_message_id,
        reference=str(row.notification_id) if row.notification_id else None,
        error_code=row.error_code,
        occurred_at=row.occurred_at,
    )


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
    # The table, not the mapped class: the ORM's bulk-insert path costs more than the SQL.
    table = cast(Table, NotificationPart.__table__)
    return insert_for(session, table).on_conflict_do_nothing(
        index_elements=["provider", "provider_message_id"]
    )


def _cut(value: str | None, length: int) -> str | None:
    return value[:length] if value else None
