"""The audit trail's own retention: rows older than ``audit_retention_months`` go, through the
one sanctioned DELETE; the trail stays append-only for everything else, on both databases."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.models import AuditEvent
from app.retention import jobs, service
from tests.conftest import FIXED_NOW
from tests.factories import days, make_spip

NOW = FIXED_NOW


async def _event(session: AsyncSession, when: datetime, action: str, spip_id: int) -> None:
    session.add(
        AuditEvent(occurred_at=when, action=action, entity="person", entity_id=1, spip_id=spip_id)
    )
    await session.flush()


async def _actions(session: AsyncSession, spip_id: int) -> list[str]:
    stmt = select(AuditEvent.action).where(AuditEvent.spip_id == spip_id).order_by(AuditEvent.id)
    return list(await session.scalars(stmt))


async def test_rows_older_than_the_setting_are_deleted_and_the_rest_kept(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    spip = await make_spip(session)
    limit = service.months_before(NOW, settings.audit_retention_months)
    await _event(session, limit - days(1), "too_old", spip.id)
    await _event(session, limit + days(1), "recent", spip.id)
    await session.commit()
    spip_id = spip.id

    assert (await jobs.dry_run(sessionmaker, settings)).audit_deleted >= 1
    assert await _actions(session, spip_id) == ["too_old", "recent"]  # a simulation is harmless
    run = await jobs.run_retention(sessionmaker, settings)
    assert run.audit_deleted >= 1
    assert await _actions(session, spip_id) == ["recent"]
    # The pruning itself is in the trail (how many, before when: no personal value).
    pruned = await session.scalar(
        select(AuditEvent).where(AuditEvent.action == service.AUDIT_PRUNED_ACTION)
    )
    assert pruned is not None and pruned.agent_id is None
    assert pruned.changes == {"deleted": run.audit_deleted, "before": limit.isoformat()}
    again = await jobs.run_retention(sessionmaker, settings)
    assert again.audit_deleted == 0


async def test_the_setting_decides_how_long(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    spip = await make_spip(session)
    await _event(session, NOW - days(400), "thirteen_months", spip.id)
    await session.commit()
    spip_id = spip.id
    await jobs.run_retention(sessionmaker, settings)  # 24 months: kept
    assert await _actions(session, spip_id) == ["thirteen_months"]
    shorter = settings.model_copy(update={"audit_retention_months": 12})
    await jobs.run_retention(sessionmaker, shorter)
    assert await _actions(session, spip_id) == []


async def test_the_trail_stays_append_only_outside_the_job(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    spip = await make_spip(session)
    await _event(session, NOW - days(2000), "old", spip.id)
    await session.commit()
    spip_id = spip.id
    await jobs.run_retention(sessionmaker, settings)
    await _event(session, NOW - days(3000), "older_still", spip.id)
    await session.commit()
    # After the job: its trigger is back (SQLite) and its setting is off (PostgreSQL).
    for statement in ("UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with session.begin_nested():
                await session.execute(text(statement))
    if (await session.connection()).dialect.name == "postgresql":
        # Only DELETE is let through, and only with the setting on: UPDATE never.
        with pytest.raises(DBAPIError, match="append-only"):
            async with session.begin_nested():
                await session.execute(text("SET LOCAL convoc.audit_retention = 'on'"))
                await session.execute(text("UPDATE audit_event SET action = 'x'"))
    count = select(func.count()).where(AuditEvent.spip_id == spip_id)
    assert await session.scalar(count) == 1
