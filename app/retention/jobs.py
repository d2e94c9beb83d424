"""The daily retention job (the worker's scheduler, and ``python -m app retention run``).

Each step runs in bounded batches, one transaction each, so a large first run never holds one
huge transaction. On PostgreSQL each batch first takes a transaction-level advisory lock: a
second worker running the job at the same moment finds it taken and stops, so no person is ever
folded twice (two folds of one person would count its convocations twice). SQLite has one
writer: its transactions are serial anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.core.clock import utcnow
from app.db import create_engine, create_sessionmaker, session_scope
from app.retention import service

log = logging.getLogger("convoc.retention")
BATCH = 500
LOCK_KEY = 7201730002  # beside the reports' 7201730001


@dataclass
class RetentionRun:
    archived: int = 0
    deleted: int = 0
    appointments_deleted: int = 0
    messages_erased: int = 0
    receipts_dropped: int = 0
    replies_dropped: int = 0
    audit_deleted: int = 0
    months_rebuilt: int = 0
    skipped: bool = False  # another worker holds the lock

    def summary(self, *, dry_run: bool = False) -> str:
        lines = [
            f"Personnes archivées (aucune convocation depuis la durée fixée) : {self.archived}",
            f"Personnes supprimées (archivées depuis la durée fixée) : {self.deleted}",
            f"Convocations supprimées avec elles : {self.appointments_deleted}",
            f"SMS dont le texte et l'identifiant fournisseur sont effacés : {self.messages_erased}",
            f"Lignes du journal d'audit supprimées (au-delà de sa durée) : {self.audit_deleted}",
        ]
        if not dry_run:
            lines.append(
                f"SMS reçus supprimés (réponses anciennes ou sans personne) : "
                f"{self.replies_dropped}"
            )
        if not dry_run:
            lines.append(f"Mois de statistiques recalculés : {self.months_rebuilt}")
        head = (
            "Simulation (aucune donnée modifiée), ce que ferait la conservation maintenant :"
            if dry_run
            else "Conservation appliquée :"
        )
        if self.skipped:
            head = "Conservation arrêtée : un autre processus applique déjà les règles. Fait :"
        return "\n".join([head, *("  " + line for line in lines)])


async def _locked(session: AsyncSession) -> bool:
    if (await session.connection()).dialect.name != "postgresql":
        return True
    return bool(await session.scalar(text(f"SELECT pg_try_advisory_xact_lock({LOCK_KEY})")))


async def _batches(
    sessionmaker: async_sessionmaker[AsyncSession],
    step: Callable[[AsyncSession], Awaitable[int]],
    run: RetentionRun,
) -> int:
    """Run ``step`` in its own locked transaction until it has nothing left; the total done."""
    total = 0
    while True:
        async with session_scope(sessionmaker) as session:
            if not await _locked(session):
                run.skipped = True
                return total
            done = await step(session)
        total += done
        if done < BATCH:
            return total


async def run_retention(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> RetentionRun:
    """Archive, delete (after the fold), erase old texts, prune the audit trail. Idempotent."""
    now = utcnow()
    run = RetentionRun()
    touched: set[str] = set()

    async def archive(session: AsyncSession) -> int:
        return await service.archive_batch(
            session, now=now, months=settings.retention_archive_after_months, limit=BATCH
        )

    async def delete(session: AsyncSession) -> int:
        persons, appointments, months = await service.delete_batch(
            session, now=now, months=settings.retention_delete_after_months, limit=BATCH
        )
        run.appointments_deleted += appointments
        touched.update(months)
        return persons

    async def erase(session: AsyncSession) -> int:
        return await service.erase_messages_batch(
            session, now=now, months=settings.retention_message_content_months, limit=BATCH
        )

    run.archived = await _batches(sessionmaker, archive, run)
    if not run.skipped:
        run.deleted = await _batches(sessionmaker, delete, run)
    if touched:
        # Once for all the batches: a month's rebuild reads every SPIP's convocations.
        async with session_scope(sessionmaker) as session:
            run.months_rebuilt = len(await service.rebuild_touched(session, touched))
    if not run.skipped:
        run.messages_erased = await _batches(sessionmaker, erase, run)
    if not run.skipped:
        async with session_scope(sessionmaker) as session:
            if await _locked(session):
                months = settings.retention_message_content_months
                run.receipts_dropped = await service.drop_old_pending_receipts(
                    session, now=now, months=months
                )
                run.replies_dropped = await service.drop_old_replies(
                    session, now=now, months=months
                )
                run.audit_deleted = await service.prune_audit(
                    session, now=now, months=settings.audit_retention_months
                )
            else:
                run.skipped = True
    log.info(
        "retention.applied archived=%s deleted=%s appointments=%s months=%s messages=%s "
        "replies=%s audit=%s skipped=%s",
        run.archived, run.deleted, run.appointments_deleted, run.months_rebuilt,
        run.messages_erased, run.replies_dropped, run.audit_deleted, run.skipped,
    )  # fmt: skip
    return run


async def dry_run(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> RetentionRun:
    """What ``run_retention`` would do now, counted without changing anything.

    Deletions are counted among persons archived today: those the archive step would archive
    now are not deletable before ``retention_delete_after_months``.
    """
    now = utcnow()
    async with sessionmaker() as session:
        return RetentionRun(
            archived=await service.count_archivable(
                session, now=now, months=settings.retention_archive_after_months
            ),
            deleted=await service.count_deletable(
                session, now=now, months=settings.retention_delete_after_months
            ),
            appointments_deleted=await service.count_deletable_appointments(
                session, now=now, months=settings.retention_delete_after_months
            ),
            messages_erased=await service.count_messages_to_erase(
                session, now=now, months=settings.retention_message_content_months
            ),
            audit_deleted=await service.count_audit_to_prune(
                session, now=now, months=settings.audit_retention_months
            ),
        )


async def retention_command(settings: Settings, *, simulate: bool) -> str:
    """``python -m app retention run [--dry-run]``: the counts, in French."""
    engine = create_engine(settings)
    try:
        sessionmaker = create_sessionmaker(engine)
        if simulate:
            return (await dry_run(sessionmaker, settings)).summary(dry_run=True)
        return (await run_retention(sessionmaker, settings)).summary()
    finally:
        await engine.dispose()
