"""The scheduler that ticks the dispatcher: in a worker process, or embedded in the API.

APScheduler 3's job stores cannot be shared between processes, so the scheduler holds no state:
it only ticks. The database is the schedule, which is what makes several workers safe.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.core import metrics
from app.core.clock import utcnow
from app.reminders.dispatcher import DispatchConfig, Sender, TickStats, tick
from app.reminders.ticks import TickLog
from app.sms.config import SmsSettings, get_sms_settings
from app.sms.gateway import SmsGateway

log = logging.getLogger("convoc.worker")


def dispatch_config(settings: Settings, sms: SmsSettings) -> DispatchConfig:
    """The dispatcher's configuration from the application's and the SMS settings."""
    return DispatchConfig(
        batch_size=settings.worker_batch_size,
        concurrency=settings.worker_concurrency,
        lease=timedelta(seconds=settings.worker_lease_seconds),
        retry_base_seconds=sms.retry_base_seconds,
        retry_cap_seconds=sms.retry_cap_seconds,
        default_sender=sms.default_sender,
        link_secret=settings.secret_key,
        link_base_url=settings.link_base_url,
    )


def build_sender(settings: Settings, sms: SmsSettings) -> SmsGateway:
    """The SMS gateway ``sms`` describes (``CONVOC_SMS_*``; the console provider by default).

    Everything the gateway needs is in ``sms``; ``settings`` is taken for symmetry with
    ``dispatch_config``. Whoever builds it closes it (``aclose``) once its scheduler stopped:
    in the API process, the lifespan, which shares it with the receipts route.
    """
    return SmsGateway.from_settings(sms)


class DispatchScheduler:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        sender: Sender,
        config: DispatchConfig,
        interval_seconds: float,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.sender = sender
        self.config = config
        self.interval_seconds = interval_seconds
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._running: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._ticks = TickLog(config.worker_id)

    def start(self) -> None:
        self.scheduler.add_job(
            self._tick,
            "interval",
            seconds=self.interval_seconds,
            id="dispatch",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )
        # Attendance aggregates: once a day, at a quiet hour for every French time zone.
        self.scheduler.add_job(
            self._refresh_reports,
            "cron",
            hour=3,
            minute=17,
            id="reports",
            max_instances=1,
            coalesce=True,
        )
        # Slots of the agendas' recurring openings, up to the horizon (a day further each day).
        self.scheduler.add_job(
            self._extend_slots,
            "cron",
            hour=2,
            minute=47,
            id="slots",
            max_instances=1,
            coalesce=True,
        )
        # Retention (RGPD): archive, delete after the fold, erase old texts, prune the trail.
        self.scheduler.add_job(
            self._apply_retention,
            "cron",
            hour=4,
            minute=7,
            id="retention",
            max_instances=1,
            coalesce=True,
        )
        self.scheduler.start()
        log.info("worker.started id=%s interval=%ss", self.config.worker_id, self.interval_seconds)

    async def _tick(self) -> None:
        self._running = asyncio.current_task()
        started_at, started = utcnow(), time.monotonic()
        stats: TickStats | None = None
        error: Exception | None = None
        try:
            with metrics.timed(metrics.DISPATCH_TICK_DURATION):
                stats = await tick(
                    self.sessionmaker, self.sender, self.config, stopping=self._stopping
                )
            metrics.DISPATCH_TICKS.labels("ok").inc()
            metrics.DISPATCH_LAST_TICK.set_to_current_time()
        except Exception as exc:  # a failed tick must not kill the scheduler; the next one retries
            metrics.DISPATCH_TICKS.labels("failed").inc()
            error = exc
            log.exception("worker.tick_failed id=%s", self.config.worker_id)
        finally:
            self._running = None
        await self._record_tick(started_at, started, stats, error)

    async def _record_tick(
        self,
        started_at: datetime,
        started: float,
        stats: TickStats | None,
        error: Exception | None,
    ) -> None:
        """For the operations page (``app.reminders.ticks``); never raises."""
        duration_ms = int((time.monotonic() - started) * 1000)
        await self._ticks.write(
            self.sessionmaker,
            started_at=started_at,
            duration_ms=duration_ms,
            stats=stats,
            error=error,
        )

    async def _refresh_reports(self) -> None:
        from app.db import session_scope
        from app.reports.attendance import rebuild_recent

        try:
            async with session_scope(self.sessionmaker) as session:
                months = await rebuild_recent(session)
            log.info("reports.aggregates_refreshed months=%s", len(months))
        except Exception:  # retried tomorrow; reports fall back to live data meanwhile
            log.exception("reports.refresh_failed")

    async def _extend_slots(self) -> None:
        from app.agendas.jobs import extend_slot_horizon

        try:
            await extend_slot_horizon(self.sessionmaker)
        except Exception:  # retried tomorrow; the horizon is months ahead
            log.exception("agendas.horizon_failed")

    async def _apply_retention(self) -> None:
        from app.config import get_settings
        from app.retention.jobs import run_retention

        try:
            await run_retention(self.sessionmaker, get_settings())
        except Exception:  # retried tomorrow; every step is idempotent
            log.exception("retention.failed")

    async def stop(self, grace_seconds: float = 30.0) -> None:
        """Stop ticking and let the tick in progress finish its claimed messages (its leases
        cover a hard kill, or a tick longer than ``grace_seconds``).

        The scheduler is shut down only after: its executor cancels the jobs still running,
        which would abandon claimed messages as ``sending`` until their leases ran out. The
        sender is not closed: it belongs to whoever built it (in the API, it also serves the
        receipts route)."""
        if not self.scheduler.running:  # never started (still waiting for migrations)
            return
        self._stopping.set()  # the tick claims no further batch
        self.scheduler.pause()  # and no new tick starts
        running = self._running
        if running is not None:
            try:
                await asyncio.wait_for(asyncio.shield(running), grace_seconds)
            except (TimeoutError, asyncio.CancelledError):
                log.warning("worker.stop_timeout id=%s", self.config.worker_id)
        self.scheduler.shutdown(wait=False)
        log.info("worker.stopped id=%s", self.config.worker_id)


async def run_worker(settings: Settings, sms: SmsSettings | None = None) -> None:
    """``python -m app worker``: tick until SIGTERM or SIGINT (``sms``: ``CONVOC_SMS_*``)."""
    from app.core.memory import freeze_startup_objects
    from app.core.schema import SchemaStatus, wait_until_current
    from app.db import create_engine, create_sessionmaker

    sms = sms or get_sms_settings()
    engine = create_engine(settings)
    sender = build_sender(settings, sms)
    worker = DispatchScheduler(
        create_sessionmaker(engine),
        sender,
        dispatch_config(settings, sms),
        settings.worker_interval_seconds,
    )
    freeze_startup_objects()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        # Started before its migration step finished (compose, a rolling upgrade): wait for
        # it rather than tick on a schema this code was not written for.
        schema = SchemaStatus(engine)
        if not await schema.current():
            log.warning("worker.waiting_for_migrations id=%s", worker.config.worker_id)
            waiting = asyncio.create_task(wait_until_current(schema))
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            stopping.cancel()
        if not stop.is_set():
            worker.start()
        await stop.wait()
    finally:
        await worker.stop()
        await sender.aclose()
        await engine.dispose()
        metrics.mark_this_process_dead()
