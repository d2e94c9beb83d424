"""``GET /metrics``: Prometheus's text format, for whoever holds ``CONVOC_METRICS_TOKEN``.

What the processes counted comes from ``app.core.metrics`` (added up over every process of the
shared directory in multiprocess mode). What the database holds — messages by kind and status,
the oldest due message's lateness, receipts waiting for their message — is read here at scrape
time, by one grouped query over ``notification`` and one count of ``pending_receipt``, cached
``CONVOC_METRICS_CACHE_SECONDS`` per process so that a storm of scrapes costs one query, and cut
short by a statement timeout on PostgreSQL (docs/operations.md gives the cost).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Final

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import REGISTRY, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.dependencies import PUBLIC
from app.config import Settings
from app.core.clock import utcnow
from app.core.errors import AppError, NotFound
from app.core.metrics_dir import MULTIPROC_ENV
from app.db import session_scope
from app.models import (
    PLANNED,
    Notification,
    NotificationKind,
    NotificationStatus,
    PendingReceipt,
)

log = logging.getLogger("convoc.metrics")

router = APIRouter(include_in_schema=False)

# On PostgreSQL the snapshot's statements give up after this long: a scrape must never hold a
# connection while the table is locked or the server is struggling.
STATEMENT_TIMEOUT_MS: Final = 2000


class MetricsUnauthorized(AppError):
    code = "unauthorized"
    status_code = 401
    message = "Jeton de métriques absent ou invalide."
    headers = {"WWW-Authenticate": "Bearer"}  # noqa: RUF012 (the class's constant)


@dataclass(frozen=True)
class QueueSnapshot:
    """What the database held at ``taken_at``."""

    by_status: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, status)
    due: dict[str, int] = field(default_factory=dict)  # kind → planned and due
    oldest_due_at: datetime | None = None
    pending_receipts: int = 0
    taken_at: datetime | None = None
    query_seconds: float = 0.0
    up: bool = True


async def read_snapshot(session: AsyncSession, now: datetime) -> QueueSnapshot:
    """One grouped pass over ``notification``, one count of ``pending_receipt``."""
    if (await session.connection()).dialect.name == "postgresql":
        await session.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))
    started = time.perf_counter()
    is_due = (Notification.status == PLANNED) & (Notification.send_at <= now)
    rows = await session.execute(
        select(
            Notification.kind,
            Notification.status,
            func.count(),
            func.sum(case((is_due, 1), else_=0)),
            func.min(case((is_due, Notification.send_at))),
        ).group_by(Notification.kind, Notification.status)
    )
    by_status: dict[tuple[str, str], int] = {}
    due: dict[str, int] = {}
    oldest: datetime | None = None
    for kind, status, count, due_count, due_at in rows:
        by_status[(kind, status)] = int(count)
        if due_count:
            due[kind] = due.get(kind, 0) + int(due_count)
        if due_at is not None and (oldest is None or due_at < oldest):
            oldest = due_at
    pending = await session.scalar(select(func.count()).select_from(PendingReceipt))
    return QueueSnapshot(
        by_status,
        due,
        oldest,
        int(pending or 0),
        taken_at=now,
        query_seconds=time.perf_counter() - started,
    )


class SnapshotCache:
    """The last snapshot, read again once it is ``ttl`` seconds old, by one scrape at a time:
    the scrapes that arrive meanwhile wait for it and share it."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._snapshot: QueueSnapshot | None = None
        self._read_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self, sessionmaker: async_sessionmaker[AsyncSession]) -> QueueSnapshot:
        async with self._lock:
            if self._snapshot is None or time.monotonic() - self._read_at >= self.ttl:
                self._snapshot = await self._read(sessionmaker)
                self._read_at = time.monotonic()
            return self._snapshot

    @staticmethod
    async def _read(sessionmaker: async_sessionmaker[AsyncSession]) -> QueueSnapshot:
        try:
            async with session_scope(sessionmaker) as session:
                return await read_snapshot(session, utcnow())
        except Exception as exc:  # the scrape still answers, saying the database did not
            log.warning("metrics.snapshot_failed error=%s", type(exc).__name__)
            return QueueSnapshot(up=False)


class QueueCollector(Collector):
    """The snapshot as gauges (a collector of this scrape only, not a multiprocess file)."""

    def __init__(self, snapshot: QueueSnapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot
        up = GaugeMetricFamily(
            "convoc_metrics_database_up",
            "1 si la base a répondu à la lecture des jauges de file d'attente, 0 sinon.",
            value=1.0 if snap.up else 0.0,
        )
        yield up
        if not snap.up:
            return
        yield GaugeMetricFamily(
            "convoc_metrics_database_query_seconds",
            "Durée de la dernière lecture des jauges de file d'attente.",
            value=snap.query_seconds,
        )
        messages = GaugeMetricFamily(
            "convoc_messages",
            "Messages (SMS) en base, par type et statut.",
            labels=["kind", "status"],
        )
        # Every kind and status, at zero when none: a series never vanishes from a graph.
        for kind in NotificationKind:
            for status in NotificationStatus:
                messages.add_metric([kind, status], snap.by_status.get((kind, status), 0))
        yield messages
        due = GaugeMetricFamily(
            "convoc_messages_due",
            "Messages prévus dont l'heure d'envoi est passée (à envoyer maintenant), par type.",
            labels=["kind"],
        )
        for kind in NotificationKind:
            due.add_metric([kind], snap.due.get(kind, 0))
        yield due
        lateness = 0.0
        if snap.oldest_due_at is not None and snap.taken_at is not None:
            lateness = max(0.0, (snap.taken_at - snap.oldest_due_at).total_seconds())
        yield GaugeMetricFamily(
            "convoc_messages_oldest_due_lateness_seconds",
            "Retard (secondes) du plus ancien message dû et pas encore envoyé ; 0 si aucun.",
            value=lateness,
        )
        yield GaugeMetricFamily(
            "convoc_receipts_pending",
            "Accusés de réception en attente de leur message (identifiant pas encore enregistré).",
            value=snap.pending_receipts,
        )


def _registries(snapshot: QueueSnapshot) -> Iterable[CollectorRegistry]:
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY  # one process: its own values (tests, a single server)
    queue = CollectorRegistry()
    queue.register(QueueCollector(snapshot))
    return (registry, queue)


def _check_token(settings: Settings, authorization: str | None) -> None:
    if settings.metrics_token is None:
        raise NotFound()  # not configured: as if the route did not exist
    scheme, _, given = (authorization or "").partition(" ")
    expected = settings.metrics_token.get_secret_value()
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), expected.encode()
    ):
        raise MetricsUnauthorized()


@router.get("/metrics", dependencies=[PUBLIC])
async def metrics(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Response:
    """Prometheus's text format (``Authorization: Bearer <CONVOC_METRICS_TOKEN>``)."""
    settings: Settings = request.app.state.settings
    _check_token(settings, authorization)
    cache: SnapshotCache | None = getattr(request.app.state, "metrics_cache", None)
    if cache is None:
        cache = request.app.state.metrics_cache = SnapshotCache(settings.metrics_cache_seconds)
    snapshot = await cache.get(request.app.state.sessionmaker)
    body = b"".join(generate_latest(registry) for registry in _registries(snapshot))
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
