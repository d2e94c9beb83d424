"""Small query helpers shared by every domain's repository."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound
from app.models.base import Base

M = TypeVar("M", bound=Base)


async def get_or_raise(
    session: AsyncSession, model: type[M], id_: int, error: type[NotFound] = NotFound
) -> M:
    obj = await session.get(model, id_)
    if obj is None:
        raise error()
    return obj


async def paginate(
    session: AsyncSession, stmt: Select[M], *, limit: int, offset: int
) -> tuple[list[M], int]:
    """One page of a query and the total it would return, counted in the database."""
    total = await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = (await session.scalars(stmt.limit(limit).offset(offset))).all()
    return list(rows), int(total or 0)


def apply_changes(obj: Any, changes: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Set attributes and return what actually changed (field -> (old, new)), for auditing."""
    changed: dict[str, tuple[Any, Any]] = {}
    for field, value in changes.items():
        old = getattr(obj, field)
        if old != value:
            setattr(obj, field, value)
            changed[field] = (old, value)
    return changed
