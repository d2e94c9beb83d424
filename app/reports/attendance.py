"""Attendance reports: closed months from the aggregates, the rest from live data."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.core.clock import utcnow
from app.core.sqlfunc import local_date, month_key
from app.db import create_engine, create_sessionmaker, session_scope
from app.models import (
    Agent,
    Appointment,
    AttendanceMonthly,
    AttendanceMonthRefresh,
    AttendancePurged,
    Spip,
)
from app.reports import queries, sms_aggregates
from app.reports.periods import (
    closed_before,
    covered_months,
    gaps,
    month_bounds,
    months_between,
    whole_months,
)
from app.reports.queries import OUTCOMES, REMINDER_OUTCOMES, Cell, GroupBy
from app.reports.schemas import AttendanceReport, AttendanceRow, Counts


async def _cells(
    session: AsyncSession, *, spip_id: int | None, start: date, end: date, group_by: GroupBy
) -> list[Cell]:
    now = utcnow()
    from_aggregates: list[str] = []
    if group_by in ("month", "appointment_type"):
        from_aggregates = await covered_months(
            session, start, end, now, marker=AttendanceMonthRefresh.refreshed_at
        )
    cells: list[Cell] = []
    if from_aggregates:
        stmt = queries.aggregate_cells_stmt(
            spip_id=spip_id, months=from_aggregates, group_by=group_by
        )
        cells += [Cell(*row) for row in await session.execute(stmt)]
    # Live data for whatever the aggregates do not cover (partial or open months), plus the
    # counts the retention job kept of the convocations it deleted, for whole months (the
    # aggregates already hold those): a month cut in two cannot tell its purged halves apart.
    purged_months: list[str] = []
    for live_start, live_end in gaps(start, end, from_aggregates):
        stmt = queries.live_cells_stmt(
            spip_id=spip_id, start=live_start, end=live_end, group_by=group_by, now=now
        )
        cells += [Cell(*row) for row in await session.execute(stmt)]
        purged_months += whole_months(live_start, live_end)
    if purged_months and group_by != "week":
        stmt = queries.purged_cells_stmt(spip_id=spip_id, months=purged_months, group_by=group_by)
        cells += [Cell(*row) for row in await session.execute(stmt)]
    return cells


def _counts(values: dict[str, int]) -> Counts:
    return Counts.from_counts({o: values.get(o, 0) for o in OUTCOMES})


async def attendance(
    session: AsyncSession, *, spip_id: int | None, start: date, end: date, group_by: GroupBy
) -> AttendanceReport:
    cells = await _cells(session, spip_id=spip_id, start=start, end=end, group_by=group_by)
    per_row: dict[tuple[int, str], Table] = defaultdict(_table)
    per_key: dict[str, Table] = defaultdict(_table)
    overall = _table()
    for cell in cells:
        for table in (
            per_row[(cell.spip_id, str(cell.key))],
            per_key[str(cell.key)],
            overall,
        ):
            table[cell.reminder_outcome][cell.outcome] += cell.count
    codes = {sid: code for sid, code in await session.execute(select(Spip.id, Spip.code))}
    rows = [_row(sid, codes.get(sid), key, t) for (sid, key), t in sorted(per_row.items())]
    totals = (
        []
        if spip_id is not None
        else [_row(None, None, key, t) for key, t in sorted(per_key.items())]
    )
    if group_by == "agent":
        names = await _agent_names(session, rows)
        rows = [label_agent_row(r, names) for r in rows]
        totals = [label_agent_row(r, names) for r in totals]
    return AttendanceReport(
        spip_id=spip_id,
        start=start,
        end=end,
        group_by=group_by,
        rows=rows,
        totals=totals,
        total=_row(None, None, "total", overall),
    )


NO_AGENT_KEY = "none"
NO_AGENT_LABEL = "Sans agent"


async def _agent_names(session: AsyncSession, rows: list[AttendanceRow]) -> dict[int, str]:
    ids = {int(r.key) for r in rows if r.key.isdigit() and r.key != queries.NO_AGENT_ID}
    if not ids:
        return {}
    return dict(
        (await session.execute(select(Agent.id, Agent.name).where(Agent.id.in_(ids)))).all()
    )


def label_agent_row(row: AttendanceRow, names: dict[int, str]) -> AttendanceRow:
    """A row grouped by agent, with its agent's id and name; « Sans agent » for none.

    The query groups convocations without an agent under ``NO_AGENT_ID`` (SQL groups NULL
    awkwardly across databases); no client should ever see that stand-in.
    """
    if row.key == queries.NO_AGENT_ID:
        return row.model_copy(update={"key": NO_AGENT_KEY, "label": NO_AGENT_LABEL})
    agent_id = int(row.key)
    return row.model_copy(update={"agent_id": agent_id, "label": names.get(agent_id)})


Table = dict[str, dict[str, int]]  # reminder outcome -> outcome -> count


def _table() -> Table:
    return defaultdict(lambda: defaultdict(int))


def _row(spip_id: int | None, code: str | None, key: str, by_reminder: Table) -> AttendanceRow:
    merged: dict[str, int] = defaultdict(int)
    for outcomes in by_reminder.values():
        for outcome, n in outcomes.items():
            merged[outcome] += n
    return AttendanceRow(
        spip_id=spip_id,
        spip_code=code,
        key=key,
        counts=_counts(merged),
        by_reminder={r: _counts(dict(by_reminder.get(r, {}))) for r in REMINDER_OUTCOMES},
    )


async def rebuild(session: AsyncSession, *, months: list[str] | None = None) -> list[str]:
    """Recompute the aggregates of closed months (all months with convocations by default):
    attendance here, SMS in ``app.reports.sms_aggregates``, in the same transaction.

    Each month is its live convocations **plus** the counts the retention job kept of those it
    deleted (``attendance_purged``): rebuilding after a purge gives the same numbers as before.
    """
    now = utcnow()
    if months is None:
        day = local_date(Appointment.starts_at, Spip.timezone)
        found = set(
            await session.scalars(
                select(month_key(day)).join(Spip, Spip.id == Appointment.spip_id).distinct()
            )
        )
        found |= set(await session.scalars(select(AttendancePurged.month).distinct()))
        months = sorted(m for m in found if m)
    months = [m for m in months if m < closed_before(now)]
    for month in months:
        await session.execute(delete(AttendanceMonthly).where(AttendanceMonthly.month == month))
        rows = await _month_rows(session, month, now)
        if rows:
            await session.execute(insert(AttendanceMonthly), rows)
        await session.execute(
            delete(AttendanceMonthRefresh).where(AttendanceMonthRefresh.month == month)
        )
        session.add(AttendanceMonthRefresh(month=month, refreshed_at=now, sms_refreshed_at=now))
    await sms_aggregates.rebuild(session, months=months)
    await session.flush()
    return months


async def _month_rows(session: AsyncSession, month: str, now: datetime) -> list[dict[str, Any]]:
    """One month's aggregate rows: live cells and purged cells added up (one row per cell)."""
    first, last = month_bounds(month)
    live = (
        queries.live_cells_stmt(spip_id=None, start=first, end=last, group_by="month", now=now)
        .add_columns(Appointment.appointment_type_id)
        .group_by(Appointment.appointment_type_id)
    )
    p = AttendancePurged
    purged = (
        select(
            p.spip_id, p.month, p.outcome, p.reminder_outcome, func.sum(p.count),
            p.appointment_type_id,
        )
        .where(p.month == month)
        .group_by(p.spip_id, p.month, p.outcome, p.reminder_outcome, p.appointment_type_id)
    )  # fmt: skip
    totals: dict[tuple[Any, ...], int] = defaultdict(int)
    # One statement, so one snapshot: a purge committing between a read of the live rows and a
    # read of the purged ones would count its persons twice (PostgreSQL reads committed data).
    for spip_id, _, outcome, reminder, count, type_id in await session.execute(
        union_all(live, purged)
    ):
        totals[(spip_id, outcome, reminder, type_id)] += int(count)
    return [
        {
            "spip_id": spip_id,
            "month": month,
            "outcome": outcome,
            "reminder_outcome": reminder,
            "count": count,
            "appointment_type_id": type_id,
            "refreshed_at": now,
        }
        for (spip_id, outcome, reminder, type_id), count in totals.items()
    ]


async def rebuild_recent(session: AsyncSession, *, months_back: int = 7) -> list[str]:
    """The daily job: outcomes may be recorded up to six months late, so refresh that far back.

    Several workers may run it at once: on PostgreSQL only the one holding the lock does.
    """
    if (await session.connection()).dialect.name == "postgresql":
        got = await session.scalar(text("SELECT pg_try_advisory_xact_lock(7201730001)"))
        if not got:
            return []
    today = utcnow().date()
    index = today.year * 12 + today.month - 1 - months_back
    start = date(index // 12, index % 12 + 1, 1)
    return await rebuild(session, months=months_between(start, today))


async def rebuild_command(settings: Settings, *, months: list[str] | None) -> str:
    engine = create_engine(settings)
    try:
        async with session_scope(create_sessionmaker(engine)) as session:
            done = await rebuild(session, months=months)
    finally:
        await engine.dispose()
    if not done:
        return "Aucun mois clos à recalculer."
    return f"Agrégats recalculés pour {len(done)} mois : {done[0]} … {done[-1]}."
