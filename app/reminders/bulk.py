"""Writing many notification rows at once, each with its own values.

The dispatcher and the receipts update dozens of notifications per transaction, each with its
own values. One ``executemany`` per shape (the same columns set) costs one round trip, where an
``UPDATE`` per row would cost one each.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Notification

NOTIFICATION = cast(Table, Notification.__table__)


async def update_notifications(
    session: AsyncSession,
    rows: Iterable[tuple[int, Mapping[str, Any]]],
    *conditions: ColumnElement[bool],
) -> None:
    """Set each (notification id, columns) row, where ``conditions`` hold for it.

    ``conditions`` are written on ``NOTIFICATION``'s columns and must not be expanding (no
    ``IN (…)`` list: executemany cannot carry one); a per-row value in them is a
    ``bindparam`` whose name is a key of every row.
    """
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for notification_id, values in rows:
        row = {"_nid": notification_id, **values}
        shapes.setdefault(tuple(sorted(row)), []).append(row)
    connection = await session.connection()
    for group in shapes.values():
        await connection.execute(
            update(NOTIFICATION).where(NOTIFICATION.c.id == bindparam("_nid"), *conditions),
            group,
        )
