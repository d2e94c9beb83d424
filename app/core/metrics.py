"""Prometheus metrics: every metric Convoc exposes, defined here once; call sites take one line.

Labels are bounded sets only: an HTTP method, a route *template* (``/api/v1/persons/{person_id}``,
never the path a client sent), a status code, a provider's configured name, an outcome, a kind.
Never an id, a phone number, a name or a token.

Several processes (``CONVOC_WORKERS`` API processes, ``python -m app worker`` dispatchers) share
one directory, ``PROMETHEUS_MULTIPROC_DIR``, where each writes its values to memory-mapped files
(prometheus-client's multiprocess mode); ``GET /metrics`` (``app.health.metrics``) adds them up.
The variable must be set before this module is imported (it picks file-backed values, named by
host and pid, when it is): the CLI prepares it (``app.core.metrics_dir``) before it imports the
application. Without it, values live in this process's memory (tests).

The database-read gauges (messages by status, the oldest due message's lateness, pending
receipts) are not here: ``app.health.metrics`` reads them at scrape time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from prometheus_client import Counter, Gauge, Histogram, values
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.metrics_dir import MULTIPROC_ENV, process_identifier

if os.environ.get(MULTIPROC_ENV):
    # Files named by host and pid, not pid alone (app.core.metrics_dir): set before any metric.
    values.ValueClass = values.MultiProcessValue(process_identifier=process_identifier)  # type: ignore[no-untyped-call]

# Seconds: from a cached page (a few ms) to a slow export or a provider's timeout.
_LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# A tick drains up to 50 batches of 200 messages: seconds to minutes.
_TICK_BUCKETS: Final = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

# --- HTTP ------------------------------------------------------------------------------------
HTTP_REQUESTS: Final = Counter(
    "convoc_http_requests",
    "Requêtes HTTP traitées, par méthode, modèle de route et code de statut.",
    ["method", "route", "status"],
)
HTTP_DURATION: Final = Histogram(
    "convoc_http_request_duration_seconds",
    "Durée des requêtes HTTP (jusqu'à la fin de la réponse), par méthode et modèle de route.",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
)

# --- SMS gateway -----------------------------------------------------------------------------
SMS_ATTEMPTS: Final = Counter(
    "convoc_sms_attempts",
    "Tentatives d'envoi par fournisseur et résultat "
    "(accepted, temporary, throttled, permanent, skipped).",
    ["provider", "outcome"],
)
SMS_SEND_DURATION: Final = Histogram(
    "convoc_sms_send_duration_seconds",
    "Durée d'un appel à un fournisseur SMS (réponse reçue ou erreur), par fournisseur.",
    ["provider"],
    buckets=_LATENCY_BUCKETS,
)
SMS_RATE_LIMIT_WAIT: Final = Histogram(
    "convoc_sms_rate_limit_wait_seconds",
    "Attente imposée par le débit maximal d'un fournisseur avant un appel.",
    ["provider"],
    buckets=(0.0, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0),
)
# 0 fermé, 1 demi-ouvert, 2 ouvert. Each process has its own breakers: the worst one shows.
SMS_CIRCUIT_STATE: Final = Gauge(
    "convoc_sms_circuit_state",
    "État du disjoncteur d'un fournisseur (0 fermé, 1 demi-ouvert, 2 ouvert), "
    "le pire des processus vivants.",
    ["provider"],
    multiprocess_mode="livemax",
)
SMS_CIRCUIT_OPENED: Final = Counter(
    "convoc_sms_circuit_opened",
    "Ouvertures du disjoncteur d'un fournisseur (après des échecs temporaires successifs).",
    ["provider"],
)
CIRCUIT_STATE_VALUES: Final = {"closed": 0.0, "half_open": 1.0, "open": 2.0}

# --- Dispatcher ------------------------------------------------------------------------------
DISPATCH_TICK_DURATION: Final = Histogram(
    "convoc_dispatcher_tick_duration_seconds",
    "Durée d'un passage du répartiteur (expiration, reçus en attente, lots réclamés et envoyés).",
    buckets=_TICK_BUCKETS,
)
DISPATCH_TICKS: Final = Counter(
    "convoc_dispatcher_ticks",
    "Passages du répartiteur, par résultat (ok, failed).",
    ["result"],
)
DISPATCH_LAST_TICK: Final = Gauge(
    "convoc_dispatcher_last_tick_timestamp_seconds",
    "Instant (secondes Unix) de la fin du dernier passage réussi du répartiteur.",
    multiprocess_mode="max",
)
DISPATCH_CLAIM_DURATION: Final = Histogram(
    "convoc_dispatcher_claim_duration_seconds",
    "Durée d'une réclamation de lot (UPDATE … SKIP LOCKED et préparation des messages).",
    buckets=_LATENCY_BUCKETS,
)
DISPATCH_CLAIMED: Final = Counter(
    "convoc_dispatcher_claimed",
    "Messages réclamés par le répartiteur.",
)
DISPATCH_MESSAGES: Final = Counter(
    "convoc_dispatcher_messages",
    "Ce que le répartiteur a fait des messages, par issue (sent, skipped, cancelled, deferred, "
    "retried, failed, expired).",
    ["disposition"],
)

# --- Receipts --------------------------------------------------------------------------------
RECEIPTS: Final = Counter(
    "convoc_receipts",
    "Accusés de réception reçus des fournisseurs, par fournisseur et sort "
    "(applied, ignored, pending).",
    ["provider", "result"],
)
RECEIPTS_PENDING_APPLIED: Final = Counter(
    "convoc_receipts_pending_applied",
    "Accusés mis en attente puis appliqués quand l'identifiant du message est apparu.",
)

# --- Logins ----------------------------------------------------------------------------------
LOGIN_FAILURES: Final = Counter(
    "convoc_login_failures",
    "Connexions refusées, par motif (invalid_credentials, locked, rate_limited).",
    ["reason"],
)
LOGIN_LOCKOUTS: Final = Counter(
    "convoc_login_lockouts",
    "Comptes verrouillés après trop d'échecs de connexion successifs.",
)


# --- Call sites' helpers ---------------------------------------------------------------------
@contextmanager
def timed(histogram: Histogram) -> Iterator[None]:
    """Observe the block's duration (also when it raises)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        histogram.observe(time.perf_counter() - started)


def count_receipts(provider: str, applied: int, ignored: int, pending: int) -> None:
    RECEIPTS.labels(provider, "applied").inc(applied)
    RECEIPTS.labels(provider, "ignored").inc(ignored)
    RECEIPTS.labels(provider, "pending").inc(pending)


def circuit_state(provider: str, state: str) -> None:
    SMS_CIRCUIT_STATE.labels(provider).set(CIRCUIT_STATE_VALUES.get(state, 0.0))


_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_label(scope: Scope, root_path: str = "") -> str:
    """The template of the route that answered (``/api/v1/persons/{person_id}``), never the
    path itself: ids and tokens must not become labels. A mounted application (the static
    files) is its prefix and ``/{path}``; no route matched: ``unmatched``.

    ``scope["route"]`` is the route its router declared, whose template lacks the prefixes of
    the routers that include it (``/api/v1``): those are the path's leading segments, as many
    as the path has more than the template (prefixes here are constants, never parameters).
    """
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not isinstance(template, str) or not template:
        # A mount leaves no route in the scope, only its prefix added to the root path.
        mounted = str(scope.get("root_path", ""))
        if mounted.startswith(root_path) and len(mounted) > len(root_path):
            return mounted[len(root_path) :] + "/{path}"
        return "unmatched"
    if isinstance(route, Mount) or ":path}" in template:  # what follows is the mount's own
        return template
    segments = str(scope.get("path", "")).strip("/").split("/")
    own = template.strip("/").split("/")
    prefix = segments[: max(0, len(segments) - len(own))]
    return "/" + "/".join([*prefix, *own]).strip("/")


class HttpMetrics:
    """ASGI middleware: count every HTTP request and time it to the end of its response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        root_path = str(scope.get("root_path", ""))
        status = 500  # an exception that escapes becomes the server's 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            method = scope["method"] if scope["method"] in _METHODS else "other"
            route = route_label(scope, root_path)
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_DURATION.labels(method, route).observe(time.perf_counter() - started)


def mark_this_process_dead() -> None:
    """A process that stops hands back its live gauges (the circuit states it last saw)."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(process_identifier())  # type: ignore[no-untyped-call]


def init_provider(provider: str) -> None:
    """Create a provider's series at zero, so that rules such as ``increase(…[1h])`` see the
    first event and the series exist before any message went out."""
    for outcome in ("accepted", "temporary", "throttled", "permanent", "skipped"):
        SMS_ATTEMPTS.labels(provider, outcome)
    for result in ("applied", "ignored", "pending"):
        RECEIPTS.labels(provider, result)
    SMS_CIRCUIT_OPENED.labels(provider)
    SMS_SEND_DURATION.labels(provider)
    SMS_RATE_LIMIT_WAIT.labels(provider)
    circuit_state(provider, "closed")


def _init_fixed_labels() -> None:
    for disposition in ("sent", "skipped", "cancelled", "deferred", "retried", "failed", "expired"):
        DISPATCH_MESSAGES.labels(disposition)
    for result in ("ok", "failed"):
        DISPATCH_TICKS.labels(result)
    for reason in ("invalid_credentials", "locked", "rate_limited"):
        LOGIN_FAILURES.labels(reason)


_init_fixed_labels()
